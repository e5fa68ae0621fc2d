"""Assessment-unit rules on hand-made cases (docs/design.md, 'Assessment units')."""

import numpy as np

from minecarbon.units import assign_units, unit_name


def _case(**kw):
    base = dict(in_area=True, f0=False, f1=False, dist=0, plan=0, rec=0)
    base.update(kw)
    a = lambda k, dt=bool: np.array([[base[k]]], dtype=dt)  # noqa: E731
    l1, l2 = assign_units(a("in_area"), a("f0"), a("f1"), a("dist", int), a("plan", int), a("rec", int))
    return int(l1[0, 0]), int(l2[0, 0])


def test_rules_and_precedence():
    assert _case(f0=True, f1=True) == (1, 10)                      # persistent
    assert _case(f0=True, f1=True, plan=2) == (2, 22)              # to-be-damaged, subsidence planned
    assert _case(f0=True, f1=False, dist=1) == (3, 31)             # damaged by excavation
    assert _case(f0=True, f1=True, dist=2, plan=2) == (3, 32)      # subsidence keeps forest: still damaged
    assert _case(f0=True, f1=True, dist=3, rec=3) == (4, 43)       # reclaimed wins over damaged
    assert _case(f0=False, f1=True, dist=1, rec=1) == (4, 41)      # reclaimed on land that was not forest
    assert _case(f0=True, f1=False) == (5, 50)                     # forest lost without mining
    assert _case(f0=False, f1=True) == (5, 50)                     # forest gained without mining
    assert _case(f0=False, f1=False, dist=1) == (0, 0)             # mining on never-forest land
    assert _case(f0=False, f1=False) == (0, 0)
    assert _case(in_area=False, f0=True, f1=True) == (0, 0)        # outside the monitoring area


def test_unit_names():
    assert unit_name(32) == "damaged forest / subsidence"
    assert unit_name(43, "zh") == "已复垦森林·压占"
    assert unit_name(10) == "persistent forest"
