"""The shared PostGIS monitoring database: two mines in one database, atomic publication, read-only role.

Needs the server of ``tests/catalog/conftest.py`` (skips without one).  Every
number is compared with the files the stages wrote (CSV / GeoPackage, read by
pandas and GDAL), which are independent of the database path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from minecarbon.catalog import open_catalog, open_shared_catalog, shared_key, verify_catalog
from minecarbon.catalog.postgis import PostGISBackend, list_projects, make_engine, project_key
from minecarbon.cli.main import main
from minecarbon.config import load_config
from minecarbon.errors import ConfigError, InputError, MissingInputError

SEEDS = (0, 1)
READER = "mc_test_reader"
READER_PW = "reader-pw-not-secret"


def _sql(url: str, sql: str, **params):
    from sqlalchemy import text

    eng = make_engine(url)
    try:
        with eng.begin() as con:
            res = con.execute(text(sql), params)
            return res.mappings().all() if res.returns_rows else None
    finally:
        eng.dispose()


@pytest.fixture(scope="module")
def two_projects(tmp_path_factory, pg_url):
    """Two simulated mines (seeds 0 and 1) run to the assess stage, then catalogued at the same time
    (two ``minecarbon run --stages catalog`` processes) into one database."""
    from minecarbon.pipeline import run_pipeline
    from minecarbon.pipeline import STAGES
    from minecarbon.scenario import simulate

    _sql(pg_url, f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER}') THEN "
                 f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PW}'; END IF; END $$")
    base = tmp_path_factory.mktemp("pg_two")
    tomls = []
    for seed in SEEDS:
        toml = Path(simulate(base / f"mine{seed}", size="tiny", seed=seed, start_year=2005, end_year=2010))
        with toml.open("a", encoding="utf-8") as f:
            f.write(f'\n[catalog]\nurl = "{pg_url}"\nread_role = "{READER}"\n')
        cfg = load_config(toml)
        run_pipeline(cfg, stages=[s.name for s in STAGES if s.name not in ("catalog", "report")])
        tomls.append(toml)
    exe = Path(sys.executable).with_name("minecarbon")
    procs = [subprocess.Popen([str(exe), "run", str(t), "--stages", "catalog"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for t in tomls]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out
    return [load_config(t) for t in tomls], outs


def test_both_projects_published_and_verified(two_projects, pg_url):
    cfgs, outs = two_projects
    projects = list_projects(pg_url).set_index("project")
    assert set(projects.index) == {project_key(f"Simulated mining area (seed {s})") for s in SEEDS}
    for cfg in cfgs:
        key = shared_key(cfg)
        assert key == f"simulated_mining_area_seed_{cfg.project.name[-2]}"
        res = CliRunner().invoke(main, ["catalog", "verify", str(cfg.root / "minecarbon.toml"), "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["ok"] is True
        shared = [c for c in verify_catalog(cfg).checks if c.dataset_id == "catalog:postgis"]
        assert [c.status for c in shared] == ["ok"]
        assert shared[0].actual_sha256 == projects.loc[key, "catalog_sha256"]
        # the shared copy holds the datasets of the GeoPackage, row for row
        with open_catalog(cfg) as local, open_shared_catalog(cfg) as shared:
            a, b = local.datasets(), shared.datasets()
            assert list(a["id"]) == list(b["id"]) and list(a["sha256"]) == list(b["sha256"])
            assert projects.loc[key, "n_datasets"] == len(a)
            trees_csv = pd.read_csv(cfg.workspace / "outputs" / "plots" / "trees_agc.csv", encoding="utf-8-sig",
                                    dtype={"plot_id": str, "tree_id": str})
            trees = shared.read_table("trees")
            assert list(trees.columns) == list(trees_csv.columns)
            pd.testing.assert_series_equal(trees["agc_kg"], trees_csv["agc_kg"], check_names=False)
            assert list(trees["plot_id"]) == list(trees_csv["plot_id"])
            units = shared.read_table("units")
            assert units.crs.to_epsg() == 32649 and len(units) == len(local.read_table("units"))


def test_one_query_gives_unit_totals_of_both(two_projects, pg_url):
    cfgs, _ = two_projects
    rows = pd.DataFrame(_sql(pg_url, "SELECT project, zone, year, agc_t FROM minecarbon.unit_totals "
                                     "WHERE level = 'level1' ORDER BY project, year, zone"))
    assert set(rows["project"]) == {shared_key(c) for c in cfgs}
    for cfg in cfgs:
        # independent source: the assess stage's own CSV of unit totals
        want = pd.read_csv(cfg.workspace / "outputs" / "assess" / "agc_totals.csv", encoding="utf-8-sig")
        got = rows[rows["project"] == shared_key(cfg)]
        merged = want.merge(got, left_on=["year", "unit_l1"], right_on=["year", "zone"], how="outer",
                            validate="1:1", indicator=True)
        assert (merged["_merge"] == "both").all()
        assert merged["agc_t_x"].to_numpy() == pytest.approx(merged["agc_t_y"].to_numpy(), rel=1e-9)
    # changes: last minus first mapped year, per unit
    ch = pd.DataFrame(_sql(pg_url, "SELECT * FROM minecarbon.unit_changes WHERE level = 'level1'"))
    for cfg in cfgs:
        want = pd.read_csv(cfg.workspace / "outputs" / "assess" / "agc_totals.csv", encoding="utf-8-sig")
        first = want[want["year"] == want["year"].min()].set_index("unit_l1")["agc_t"]
        last = want[want["year"] == want["year"].max()].set_index("unit_l1")["agc_t"]
        got = ch[ch["project"] == shared_key(cfg)].set_index("zone")
        assert got["change_agc_t"].sort_index().to_numpy() == pytest.approx((last - first).sort_index().to_numpy())
    # grades and the map views list both mines
    grades = pd.DataFrame(_sql(pg_url, "SELECT project, layer, sum(share_pct) AS s FROM minecarbon.unit_grades "
                                       "WHERE level = 'level1' GROUP BY project, layer, zone"))
    assert set(grades["project"]) == {shared_key(c) for c in cfgs}
    srid = _sql(pg_url, "SELECT DISTINCT ST_SRID(geom) AS srid, count(DISTINCT project) AS n "
                        "FROM minecarbon.unit_map GROUP BY 1")
    assert [dict(r) for r in srid] == [{"srid": 4326, "n": 2}]
    ids = _sql(pg_url, "SELECT count(*) AS n, count(DISTINCT id) AS u FROM minecarbon.unit_map")[0]
    assert ids["n"] == ids["u"] == sum(len(pyogrio.read_dataframe(c.workspace / "outputs" / "units" / "units.gpkg",
                                                                  read_geometry=False)) for c in cfgs)


def test_ogrinfo_lists_layers_with_srid(two_projects, pg_url):
    if shutil.which("ogrinfo") is None:
        pytest.skip("ogrinfo (Debian package gdal-bin) is not installed; .ci/postgis.sh installs it")
    from minecarbon.catalog.postgis import sqlalchemy_url

    u = sqlalchemy_url(pg_url)
    conn = f"PG:host={u.host} port={u.port} dbname={u.database} user={u.username}"
    out = subprocess.run(["ogrinfo", "-ro", "-q", conn], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for cfg in two_projects[0]:
        s = f"mc_{shared_key(cfg)}"
        assert f"{s}.units (Multi Polygon)" in out.stdout
        assert f"{s}.plots (Polygon)" in out.stdout
    assert "minecarbon.unit_map (Multi Polygon)" in out.stdout
    one = subprocess.run(["ogrinfo", "-ro", "-so", conn, f"mc_{shared_key(two_projects[0][0])}.units"],
                         capture_output=True, text=True, timeout=120)
    assert one.returncode == 0, one.stderr
    assert 'ID["EPSG",32649]' in one.stdout and "Geometry: Multi Polygon" in one.stdout


def test_read_only_role_reads_but_cannot_write(two_projects, pg_url):
    import psycopg

    from minecarbon.catalog.postgis import sqlalchemy_url

    u = sqlalchemy_url(pg_url)
    key = shared_key(two_projects[0][0])
    with psycopg.connect(host=u.host, port=u.port, dbname=u.database, user=READER, password=READER_PW) as con:
        n = con.execute(f"SELECT count(*) FROM mc_{key}.datasets").fetchone()[0]
        assert n > 30
        assert con.execute("SELECT count(*) FROM minecarbon.unit_totals").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(f"DELETE FROM mc_{key}.datasets")
        con.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(f"DROP TABLE mc_{key}.lineage")


def test_no_password_in_outputs(two_projects):
    passfile = os.environ.get("PGPASSFILE")
    if not passfile:
        pytest.skip("PGPASSFILE not set; the password is not known to the test")
    secret = Path(passfile).read_text().strip().rsplit(":", 1)[1].encode()
    assert len(secret) >= 16
    for cfg in two_projects[0]:
        for p in cfg.root.rglob("*"):
            if p.is_file():
                assert secret not in p.read_bytes(), p


def _state(pg_url: str, key: str) -> tuple:
    rows = _sql(pg_url, f"SELECT id, sha256 FROM mc_{key}.datasets ORDER BY id")
    info = _sql(pg_url, "SELECT catalog_sha256, n_datasets FROM minecarbon.projects WHERE project = :p", p=key)
    return [tuple(r.values()) for r in rows], dict(info[0])


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    import pandas as pd
    from minecarbon.catalog.postgis import PostGISBackend
    be = PostGISBackend(sys.argv[1], sys.argv[2], mode="w", info={"name": "half-written"})
    be.write_table("datasets", pd.DataFrame({"id": ["x"], "sha256": ["0" * 64]}))
    be.write_table("lineage", pd.DataFrame({"dataset_id": ["x"]}))
    print("WRITING", flush=True)
    time.sleep(600)
    be.finalize()
""")


def test_killed_write_leaves_previous_state(two_projects, pg_url):
    cfg = two_projects[0][0]
    key = shared_key(cfg)
    before = _state(pg_url, key)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, pg_url, key], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "WRITING", proc.stderr.read()
        # while the build is open, readers see the published catalog and are not blocked
        assert _state(pg_url, key) == before
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert _state(pg_url, key) == before
    assert not _sql(pg_url, "SELECT 1 FROM information_schema.schemata WHERE schema_name LIKE '%\\_\\_build'")
    assert verify_catalog(cfg).ok
    # a failing build in this process rolls back as well
    be = PostGISBackend(cfg.catalog.url, key, mode="w")
    be.write_table("datasets", pd.DataFrame({"id": ["y"]}))
    be.close()
    assert _state(pg_url, key) == before


def test_rerun_replaces_the_project_and_keeps_the_other(two_projects, pg_url):
    from minecarbon.pipeline import run_pipeline

    a, b = two_projects[0]
    published = lambda k: _sql(pg_url, "SELECT published FROM minecarbon.projects WHERE project = :p",  # noqa: E731
                               p=k)[0]["published"]
    a_before, b_before = published(shared_key(a)), published(shared_key(b))
    other_before = _state(pg_url, shared_key(b))
    run_pipeline(a, stages=["catalog"], force=True)
    assert published(shared_key(a)) > a_before
    assert published(shared_key(b)) == b_before and _state(pg_url, shared_key(b)) == other_before
    with open_catalog(a) as local:
        assert [r[0] for r in _state(pg_url, shared_key(a))[0]] == list(local.datasets()["id"])
    assert verify_catalog(a).ok and verify_catalog(b).ok
    assert len(list_projects(pg_url)) == 2


def test_errors_name_the_fix(tmp_path, pg_url):
    from minecarbon.config import CatalogConfig

    with pytest.raises(ValueError, match="must not contain a password"):
        CatalogConfig(url="postgresql://u:secret@localhost/db")
    toml = tmp_path / "p.toml"
    toml.write_text('[project]\nstart_year = 2000\nend_year = 2001\n[area]\nboundary = "b.shp"\n'
                    '[images]\npath = "i.tif"\n[climate]\ntemperature = "t.csv"\nprecipitation = "p.csv"\n'
                    '[inputs]\n[catalog]\nurl = "postgresql://u:secret@h/db"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(toml)
    assert "~/.pgpass" in str(err.value) and "secret" not in str(err.value)
    with pytest.raises(InputError, match=r"127\.0\.0\.1:1/nowhere") as err:
        PostGISBackend("postgresql://someone@127.0.0.1:1/nowhere", "x")
    assert "someone" not in str(err.value)
    with pytest.raises(MissingInputError, match="holds no catalog of project 'never_published'"):
        PostGISBackend(pg_url, "never_published")


def test_project_keys():
    assert project_key("Simulated mining area (seed 0)") == "simulated_mining_area_seed_0"
    k = project_key("神东矿区 北部")
    assert k.startswith("p_") and len(k) == 14 and k != project_key("神东矿区 南部")


def test_cli_projects_and_compare(two_projects, pg_url):
    cfgs, _ = two_projects
    keys = sorted(shared_key(c) for c in cfgs)
    res = CliRunner().invoke(main, ["catalog", "projects", "--db", pg_url, "--json"])
    assert res.exit_code == 0, res.output
    listed = json.loads(res.output)
    assert [p["project"] for p in listed] == keys
    assert {p["name"] for p in listed} == {c.project.name for c in cfgs}
    res = CliRunner().invoke(main, ["catalog", "projects", "--project", str(cfgs[0].root / "minecarbon.toml")])
    assert res.exit_code == 0 and "2 project(s) in 127.0.0.1" in res.output.replace("\n", " ")
    # totals of two years, both mines, against the assess stage's CSVs
    res = CliRunner().invoke(main, ["catalog", "compare", "--db", pg_url, "--what", "totals", "--years",
                                    "2005,2010", "--json"])
    assert res.exit_code == 0, res.output
    got = pd.DataFrame(json.loads(res.output))
    assert set(got["year"]) == {2005, 2010} and sorted(set(got["project"])) == keys
    for cfg in cfgs:
        want = pd.read_csv(cfg.workspace / "outputs" / "assess" / "agc_totals.csv", encoding="utf-8-sig")
        want = want[want["year"].isin([2005, 2010])].sort_values(["year", "unit_l1"])
        mine = got[got["project"] == shared_key(cfg)]
        assert list(mine["zone"]) == list(want["unit_l1"])
        assert mine["agc_t"].to_numpy() == pytest.approx(want["agc_t"].to_numpy(), rel=1e-9)
    # grades of one layer and one mine, against the class-area CSV
    res = CliRunner().invoke(main, ["catalog", "compare", "--db", pg_url, "--what", "grades", "--layer", "trend",
                                    "--projects", keys[0], "--level", "2", "--json"])
    assert res.exit_code == 0, res.output
    got = pd.DataFrame(json.loads(res.output))
    cfg = next(c for c in cfgs if shared_key(c) == keys[0])
    want = pd.read_csv(cfg.workspace / "outputs" / "assess" / "class_areas.csv", encoding="utf-8-sig")
    want = want[(want["layer"] == "trend") & (want["level"] == "level2")].sort_values(["zone", "class"])
    assert list(got["zone"]) == list(want["zone"]) and list(got["class"]) == list(want["class"])
    assert got["area_ha"].to_numpy() == pytest.approx(want["area_ha"].to_numpy())
    res = CliRunner().invoke(main, ["catalog", "compare", "--db", pg_url, "--what", "changes"])
    assert res.exit_code == 0 and "AGC changes of level-1 units" in res.output
    # no database named: a usage error with the fix, no traceback
    res = CliRunner(env={"MINECARBON_DB_URL": None}).invoke(main, ["catalog", "projects"])
    assert res.exit_code == 2 and "--db postgresql://" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["catalog", "projects", "--db", "postgresql://u:pw@h/db"])
    assert res.exit_code == 2 and "~/.pgpass" in res.output


def test_lost_connection_mid_write_is_a_clear_error(two_projects, pg_url):
    """The server ends the writer's session between two tables: a StageError naming the fix, old state kept."""
    from minecarbon.errors import StageError

    cfg = two_projects[0][1]
    key = shared_key(cfg)
    before = _state(pg_url, key)
    be = PostGISBackend(cfg.catalog.url, key, mode="w", info={"name": "interrupted"})
    be.write_table("datasets", pd.DataFrame({"id": ["z"], "sha256": ["1" * 64]}))
    pid = be._exec("SELECT pg_backend_pid()").scalar()
    _sql(pg_url, "SELECT pg_terminate_backend(:p)", p=pid)
    with pytest.raises(StageError, match=r"failed while writing table lineage .*previously published catalog stays"):
        be.write_table("lineage", pd.DataFrame({"dataset_id": ["z"]}))
    be.close()
    assert _state(pg_url, key) == before
    assert verify_catalog(cfg).ok
