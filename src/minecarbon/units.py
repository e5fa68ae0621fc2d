"""Assessment units (监测评估单元), level 1 and level 2.

Level 1 (by stage of damage and reclamation) and level 2 (by damage type,
after GB/T 43935-2024).  Codes:

=====  ==========================================
L1     meaning
=====  ==========================================
0      outside the monitoring area, or never forest
1      persistent forest 持续森林
2      to-be-damaged forest 拟损毁森林
3      damaged forest 已损毁森林
4      reclaimed forest 已复垦森林
5      other disturbance 其他扰动
=====  ==========================================

Level 2 = 10 x L1 + damage code (1 excavation 挖损, 2 subsidence 塌陷,
3 occupation 压占, 0 none).

Rules, in order of precedence, inside the monitoring area (pixel centres),
with F0 / F1 = forest in the base / end year:

1. reclaimed (reclamation polygon with year <= end year) -> 4, damage type of
   the reclaimed land;
2. disturbed by mining by the end year and F0 -> 3, with the damage type
   (where patches of different types overlap: excavation > occupation >
   subsidence, i.e. the more destructive type wins);
3. in a planned mining block, not yet disturbed, and F0 -> 2, damage type of
   the plan;
4. F0 and F1 -> 1;
5. F0 xor F1 (forest lost or gained without a mining cause) -> 5;
6. otherwise 0 (e.g. mining on land that was never forest).
"""

from __future__ import annotations

import numpy as np

L1_NAMES = {1: ("persistent forest", "持续森林"), 2: ("to-be-damaged forest", "拟损毁森林"),
            3: ("damaged forest", "已损毁森林"), 4: ("reclaimed forest", "已复垦森林"),
            5: ("other disturbance", "其他扰动")}
DAMAGE_CODES = {"excavation": 1, "subsidence": 2, "occupation": 3}
DAMAGE_NAMES = {0: ("none", "无"), 1: ("excavation", "挖损"), 2: ("subsidence", "塌陷"),
                3: ("occupation", "压占")}
# precedence rank when patches overlap: higher wins
DAMAGE_PRECEDENCE = {"subsidence": 1, "occupation": 2, "excavation": 3}


def unit_name(code_l2: int, lang: str = "en") -> str:
    """Human name of a level-2 code, e.g. 32 -> 'damaged forest / subsidence'."""
    l1, dmg = divmod(int(code_l2), 10)
    i = 0 if lang == "en" else 1
    name = L1_NAMES.get(l1, ("outside", "区外"))[i]
    if dmg:
        name += (" / " if lang == "en" else "·") + DAMAGE_NAMES[dmg][i]
    return name


def assign_units(in_area: np.ndarray, forest_base: np.ndarray, forest_end: np.ndarray,
                 disturbed_code: np.ndarray, planned_code: np.ndarray,
                 reclaimed_code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply the unit rules pixel by pixel.

    Parameters
    ----------
    in_area : bool array, pixel centre inside the monitoring area.
    forest_base, forest_end : bool arrays, forest in the base / end year.
    disturbed_code, planned_code, reclaimed_code : int arrays, damage code
        (1-3) of mining disturbance by the end year, of planned blocks, and of
        reclaimed land (0 = none).  A reclaimed pixel with unknown damage type
        may carry 0 there and the disturbance code is used.

    Returns
    -------
    (level1, level2) uint8 arrays.
    """
    f0 = forest_base.astype(bool)
    f1 = forest_end.astype(bool)
    area = in_area.astype(bool)
    dist = disturbed_code > 0
    rec = reclaimed_code > 0
    plan = planned_code > 0
    l1 = np.zeros(f0.shape, dtype=np.uint8)
    dmg = np.zeros(f0.shape, dtype=np.uint8)

    other = f0 ^ f1
    l1[other] = 5
    persistent = f0 & f1
    l1[persistent] = 1
    tbd = plan & ~dist & f0
    l1[tbd] = 2
    dmg[tbd] = planned_code[tbd]
    damaged = dist & f0
    l1[damaged] = 3
    dmg[damaged] = disturbed_code[damaged]
    l1[rec] = 4
    rec_dmg = np.where(reclaimed_code > 0, reclaimed_code, disturbed_code)
    dmg[rec] = rec_dmg[rec]
    # mining on never-forest land and persistent/other pixels touched by mining
    nonforest_mined = dist & ~f0 & ~rec
    l1[nonforest_mined] = 0
    dmg[nonforest_mined] = 0
    l1[~area] = 0
    dmg[l1 == 0] = 0
    dmg[(l1 == 1) | (l1 == 5)] = 0
    l2 = (l1.astype(np.uint16) * 10 + dmg).astype(np.uint8)
    return l1, l2
