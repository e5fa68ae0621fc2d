"""LAS/LAZ reading and writing, and clear errors for bad clouds (empty, no ground, noise, wrong units)."""

from __future__ import annotations

import laspy
import numpy as np
import pytest
from pyproj import CRS

from minecarbon.errors import CRSError, InputError, MissingInputError
from minecarbon.lidar import PointCloud, classify_ground, process_tls_plot, read_cloud, write_cloud


def _write_las(path, xyz, crs=None, version="1.4", point_format=6, **fields):
    header = laspy.LasHeader(point_format=point_format, version=version)
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.floor(xyz.min(axis=0)) if len(xyz) else np.zeros(3)
    if crs is not None:
        header.add_crs(CRS.from_user_input(crs))
    las = laspy.LasData(header)
    las.x, las.y, las.z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    for k, v in fields.items():
        las[k] = v
    las.write(str(path))
    return path


def test_roundtrip_laz_with_extra_dimension_and_crs(tmp_path):
    rng = np.random.default_rng(0)
    xyz = rng.uniform([500000, 4000000, 100], [500050, 4000050, 130], (5000, 3))
    cloud = PointCloud(xyz, CRS.from_epsg(32649), {"classification": rng.integers(0, 6, 5000).astype(np.uint8)})
    ids = rng.integers(0, 40, 5000).astype(np.uint32)
    p = write_cloud(tmp_path / "a.laz", cloud, extra={"tree_id": ids})
    back = read_cloud(p, chunk_points=777)  # several chunks
    assert np.allclose(back.xyz, xyz, atol=0.0006)  # 1 mm scale: rounding only
    assert np.array_equal(back.fields["tree_id"], ids)
    assert np.array_equal(back.fields["classification"], cloud.fields["classification"])
    assert back.crs.to_epsg() == 32649
    assert not list(tmp_path.glob(".*part*"))  # atomic write left nothing behind


def test_las12_point_format0_reads(tmp_path):
    xyz = np.random.default_rng(1).uniform(0, 10, (300, 3))
    p = _write_las(tmp_path / "old.las", xyz, version="1.2", point_format=0)
    c = read_cloud(p)
    assert c.header["version"] == "1.2" and len(c) == 300 and c.crs is None


def test_missing_empty_corrupt_files(tmp_path):
    with pytest.raises(MissingInputError, match="does not exist"):
        read_cloud(tmp_path / "nope.laz")
    empty = _write_las(tmp_path / "empty.las", np.zeros((0, 3)))
    with pytest.raises(InputError, match="no points"):
        read_cloud(empty)
    junk = tmp_path / "junk.laz"
    junk.write_bytes(b"this is not a point cloud" * 50)
    with pytest.raises(InputError, match="cannot be read as LAS/LAZ"):
        read_cloud(junk)
    # a LAZ cut in the middle of the point data
    good = write_cloud(tmp_path / "g.laz", PointCloud(np.random.default_rng(2).uniform(0, 50, (200_000, 3))))
    cut = tmp_path / "cut.laz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="corrupt|cannot be read"):
        read_cloud(cut)


def test_geographic_clouds_are_refused(tmp_path):
    xyz = np.column_stack([np.random.default_rng(3).uniform(112.0, 112.001, 500),
                           np.random.default_rng(4).uniform(36.0, 36.001, 500),
                           np.random.default_rng(5).uniform(900, 930, 500)])
    with pytest.raises(CRSError, match="geographic"):
        read_cloud(_write_las(tmp_path / "wgs.las", xyz, crs="EPSG:4326"))
    with pytest.raises(CRSError, match="degrees"):
        read_cloud(_write_las(tmp_path / "nocrs.las", xyz))


def test_millimetre_scan_is_a_units_error(sim_moderate):
    xyz = sim_moderate.cloud.xyz[::20] * 1000.0
    with pytest.raises(InputError, match="millimetres"):
        process_tls_plot(PointCloud(xyz))


def test_cloud_of_noise_has_no_ground_surface():
    rng = np.random.default_rng(6)
    noise = rng.uniform([-15, -15, -2], [15, 15, 25], (60_000, 3))
    with pytest.raises(InputError, match="do not form a ground surface"):
        classify_ground(noise)


def test_cloud_without_ground_is_an_error(sim_moderate):
    """Only the crowns (everything 3 m above the ground): the 'ground' found is not a surface."""
    hag = sim_moderate.result.hag
    with pytest.raises(InputError, match="ground"):
        process_tls_plot(sim_moderate.cloud.subset(hag > 3.0))


def test_too_few_points(tmp_path):
    with pytest.raises(InputError, match="only"):
        process_tls_plot(PointCloud(np.random.default_rng(7).uniform(0, 10, (50, 3))))
