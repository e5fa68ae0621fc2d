"""Clear-observation masks from the products' quality bands (pure; numpy, dask and xarray alike).

Landsat Collection 2 ``QA_PIXEL`` (bit positions: :data:`minecarbon.features.sensors.LANDSAT_QA_BITS`):
a pixel is clear when none of fill (bit 0), dilated cloud (1), cirrus (2),
cloud (3), cloud shadow (4) and - with ``snow`` - snow (5) is set.  The
product's own *clear* bit (6) is not enough: Collection 2 sets it on cloud
shadow pixels too (e.g. the common shadow value 23888 has bits 4 and 6 set).

Sentinel-2 L2A ``SCL``: classes 0 (no data), 1 (saturated/defective), 3
(cloud shadow), 8 and 9 (cloud medium/high probability), 10 (thin cirrus)
and, with ``snow``, 11 (snow) are not clear
(:data:`minecarbon.features.sensors.SCL_MASKED`).
"""

from __future__ import annotations

import numpy as np

from ..features.sensors import LANDSAT_QA_BITS, SCL_MASKED, SCL_SNOW


def qa_pixel_mask_bits(snow: bool = True) -> int:
    """The QA_PIXEL bits that make a pixel unusable, as one integer."""
    keys = ["fill", "dilated_cloud", "cirrus", "cloud", "cloud_shadow"] + (["snow"] if snow else [])
    return sum(1 << LANDSAT_QA_BITS[k] for k in keys)


def qa_pixel_clear(qa, snow: bool = True):
    """True where a Landsat Collection 2 QA_PIXEL value is a clear observation."""
    return (qa.astype("int64") & qa_pixel_mask_bits(snow)) == 0


def scl_clear(scl, snow: bool = True):
    """True where a Sentinel-2 L2A SCL class is a clear observation."""
    bad = list(SCL_MASKED) + ([SCL_SNOW] if snow else [])
    out = scl != bad[0]
    for c in bad[1:]:
        out = out & (scl != c)
    return out


def clear(qa, kind: str, snow: bool = True):
    """Clear mask of a QA band of ``kind`` ``qa_pixel`` or ``scl``."""
    if kind == "qa_pixel":
        return qa_pixel_clear(qa, snow)
    if kind == "scl":
        return scl_clear(qa, snow)
    raise ValueError(f"unknown QA kind {kind!r}")


def qa_pixel_value(fill: bool = False, dilated: bool = False, cirrus: bool = False, cloud: bool = False,
                   shadow: bool = False, snow: bool = False, water: bool = False, oli: bool = True) -> int:
    """A Collection 2 QA_PIXEL value for the given flags (used by the simulator and the tests).

    Bits 8-15 are the confidence pairs (cloud, cloud shadow, snow/ice, cirrus
    - the last on OLI only): 1 = low, 3 = high.  The clear bit (6) is set when
    neither cloud nor dilated cloud is.  Examples (from the product guide's
    table of common values): clear land OLI 21824, clear land TM/ETM+ 5440,
    high-confidence cloud OLI 22280, cloud shadow OLI 23888, fill 1.
    """
    if fill:
        return 1
    v = 0
    v |= (1 << 1) if dilated else 0
    v |= (1 << 2) if (cirrus and oli) else 0
    v |= (1 << 3) if cloud else 0
    v |= (1 << 4) if shadow else 0
    v |= (1 << 5) if snow else 0
    v |= (1 << 6) if not (cloud or dilated) else 0
    v |= (1 << 7) if water else 0
    v |= (3 if cloud else 1) << 8
    v |= (3 if shadow else 1) << 10
    v |= (3 if snow else 1) << 12
    if oli:
        v |= (3 if cirrus else 1) << 14
    return int(np.uint16(v))
