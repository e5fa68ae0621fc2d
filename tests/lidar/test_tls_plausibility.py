"""TLS plausibility against the tally (issue 17): feet, cut scans, too few trees; numbers by hand."""

import pandas as pd

from minecarbon.lidar.plausibility import tls_plausibility

TALLY = pd.DataFrame({"dbh_cm": [20.0, 22.0, 24.0, 18.0, 26.0] * 2, "height_m": [12.0, 13.0, 14.0, 11.0, 15.0] * 2})


def test_same_trees_pass():
    assert tls_plausibility(TALLY.iloc[:8] * 1.05, TALLY, "scan P1") == []


def test_feet():
    msg = tls_plausibility(TALLY * 3.28084, TALLY, "scan P1")
    assert len(msg) == 1 and "feet" in msg[0] and "3.28 times" in msg[0]  # 22 * 3.28084 / 22 = 3.28


def test_cut_scan():
    scanned = TALLY.assign(height_m=TALLY["height_m"] * 0.6)  # median 13 -> 7.8: 0.60 times
    msg = tls_plausibility(scanned, TALLY, "scan P1")
    assert len(msg) == 1 and "0.60 times" in msg[0] and "lower part of the scan" in msg[0]


def test_too_few_trees():
    msg = tls_plausibility(TALLY.iloc[:2], TALLY, "scan P1")  # 2 of 10 < 30 %
    assert len(msg) == 1 and "only 2 tree(s)" in msg[0]


def test_without_tally_absolute_limits():
    assert tls_plausibility(TALLY, None, "scan P1") == []
    msg = tls_plausibility(TALLY * 4, None, "scan P1")  # median DBH 88 cm > 80
    assert len(msg) == 1 and "88.0 cm" in msg[0]


def test_agc_of_a_cut_scan():
    from minecarbon.lidar.plausibility import agc_plausibility

    assert agc_plausibility(17.3, 18.2, "scan P1") == []  # -5 %: hidden stems
    assert agc_plausibility(39.4, 22.1, "scan P1") == []  # more carbon is judged by the tree sizes
    msg = agc_plausibility(9.4, 18.2, "scan P1")  # 9.4 / 18.2 = 0.516
    assert len(msg) == 1 and "0.52 times" in msg[0]
