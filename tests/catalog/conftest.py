"""A PostgreSQL/PostGIS server for the database tests.

``.ci/run`` starts a throw-away server with ``.ci/postgis.sh`` and exports
``MINECARBON_TEST_PG_URL`` (superuser URL, no password) and ``PGPASSFILE``.
Without that variable the tests that need the server skip and say so; with it,
a server that does not answer is a failure, not a skip.  Each test session works
in a database of its own, dropped at the end.
"""

from __future__ import annotations

import os
import uuid

import pytest

ENV = "MINECARBON_TEST_PG_URL"


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(f"no PostgreSQL/PostGIS server for the database tests: {ENV} is not set "
                    f"(.ci/run starts one with '.ci/postgis.sh start DIR'; source the lines it prints)")
    return url


@pytest.fixture(scope="session")
def pg_url(pg_admin_url) -> str:
    """URL of a fresh database (dropped after the session) on the test server."""
    from sqlalchemy import text

    from minecarbon.catalog.postgis import make_engine

    name = f"mc_test_{uuid.uuid4().hex[:10]}"
    eng = make_engine(pg_admin_url)
    try:
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
            con.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"{ENV} is set but the server does not answer: {type(exc).__name__}: {exc}")
    url = pg_admin_url.rsplit("/", 1)[0] + "/" + name
    yield url
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        con.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()
