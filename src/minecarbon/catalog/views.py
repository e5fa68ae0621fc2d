"""Cross-project views of the shared PostGIS database (schema ``minecarbon``), ready for QGIS.

Each view is a ``UNION ALL`` over the schemas of the published projects (rebuilt
in the transaction that publishes a project).  A project whose catalog lacks a
table, or a column, is left out of that view (and still listed in ``projects``).

``unit_totals``
    project, level ('level1'/'level2'), zone (unit code), unit_name, year, area_ha, agc_t (total AGC of
    the unit, t C), agc_mean_t_ha - from each project's ``zonal_statistics`` rows of the AGC maps.
``unit_changes``
    per project and unit: first and last mapped year, their AGC totals, the change (t C) and change_pct.
``unit_grades``
    per project, graded layer (change degree, trend, cumulative effect ...), unit and class: area and share
    (from ``assess_class_areas``).
``unit_map`` / ``monitoring_areas``
    the unit polygons (level 2) and monitoring areas of every project, in WGS 84 (EPSG:4326), so that one
    QGIS layer shows every mine; ``id`` ('<project>/<unit>') is unique (QGIS's key for a view).
"""

from __future__ import annotations

from .sql import REGISTRY_SCHEMA, ident

R = REGISTRY_SCHEMA

_PARTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    # view: (table in a project schema, columns it needs, SELECT for one project; {s} schema, {p} key)
    "unit_totals": ("zonal_statistics", ("layer", "level", "zone", "unit_name", "area_ha", "sum_t", "mean"), """
        SELECT {p}::text AS project, level::text AS level, zone::bigint AS zone, unit_name::text AS unit_name,
               substr(layer, 5)::integer AS year, area_ha::double precision AS area_ha,
               sum_t::double precision AS agc_t, mean::double precision AS agc_mean_t_ha
        FROM {s}.zonal_statistics WHERE layer ~ '^agc_[0-9]{{4}}$'"""),
    "unit_grades": ("assess_class_areas", ("layer", "level", "zone", "unit_name", "class", "class_name",
                                           "area_ha", "share_pct"), """
        SELECT {p}::text AS project, layer::text AS layer, level::text AS level, zone::bigint AS zone,
               unit_name::text AS unit_name, "class"::bigint AS class, class_name::text AS class_name,
               area_ha::double precision AS area_ha, share_pct::double precision AS share_pct
        FROM {s}.assess_class_areas"""),
    "unit_map": ("units", ("unit_l1", "unit_l2", "name_en", "name_zh", "area_ha", "geometry"), """
        SELECT {p} || '/' || unit_l2::text AS id, {p}::text AS project, unit_l1::bigint AS unit_l1,
               unit_l2::bigint AS unit_l2,
               name_en::text AS name_en, name_zh::text AS name_zh, area_ha::double precision AS area_ha,
               ST_Multi(ST_Transform(geometry, 4326))::geometry(MultiPolygon, 4326) AS geom
        FROM {s}.units"""),
    "monitoring_areas": ("units_area", ("fid", "geometry"), """
        SELECT {p} || '/' || fid::text AS id, {p}::text AS project,
               ST_Multi(ST_Transform(geometry, 4326))::geometry(MultiPolygon, 4326) AS geom
        FROM {s}.units_area"""),
}

_EMPTY = {
    "unit_totals": "SELECT NULL::text AS project, NULL::text AS level, NULL::bigint AS zone, NULL::text AS unit_name, "
                   "NULL::integer AS year, NULL::double precision AS area_ha, NULL::double precision AS agc_t, "
                   "NULL::double precision AS agc_mean_t_ha WHERE false",
    "unit_grades": "SELECT NULL::text AS project, NULL::text AS layer, NULL::text AS level, NULL::bigint AS zone, "
                   "NULL::text AS unit_name, NULL::bigint AS class, NULL::text AS class_name, "
                   "NULL::double precision AS area_ha, NULL::double precision AS share_pct WHERE false",
    "unit_map": "SELECT NULL::text AS id, NULL::text AS project, NULL::bigint AS unit_l1, NULL::bigint AS unit_l2, NULL::text AS name_en, "
                "NULL::text AS name_zh, NULL::double precision AS area_ha, "
                "NULL::geometry(MultiPolygon, 4326) AS geom WHERE false",
    "monitoring_areas": "SELECT NULL::text AS id, NULL::text AS project, NULL::geometry(MultiPolygon, 4326) AS geom WHERE false",
}

UNIT_CHANGES = f"""
CREATE VIEW {R}.unit_changes AS
WITH span AS (
    SELECT project, level, zone, min(year) AS first_year, max(year) AS last_year
    FROM {R}.unit_totals GROUP BY project, level, zone)
SELECT s.project, s.level, s.zone, l.unit_name, s.first_year, s.last_year,
       f.agc_t AS first_agc_t, l.agc_t AS last_agc_t, l.agc_t - f.agc_t AS change_agc_t,
       100.0 * (l.agc_t - f.agc_t) / NULLIF(f.agc_t, 0) AS change_pct
FROM span s
JOIN {R}.unit_totals f ON f.project = s.project AND f.level = s.level AND f.zone = s.zone AND f.year = s.first_year
JOIN {R}.unit_totals l ON l.project = s.project AND l.level = s.level AND l.zone = s.zone AND l.year = s.last_year
"""

VIEWS = ("unit_totals", "unit_changes", "unit_grades", "unit_map", "monitoring_areas")


def _literal(key: str) -> str:
    ident(key)  # [a-z0-9_] only, so the quoted literal is safe
    return f"'{key}'"


def create_views(con) -> None:
    """(Re)create the cross-project views on connection ``con`` (inside the caller's transaction).

    The read roles of all projects (``projects.read_role``) are granted SELECT on the views and the registry.
    """
    from sqlalchemy import text

    projects = [(str(p), str(s)) for p, s in con.execute(
        text(f"SELECT project, schema_name FROM {R}.projects ORDER BY project"))]
    cols = {}
    for t, c, s in con.execute(text("SELECT table_name, column_name, table_schema FROM information_schema.columns "
                                    "WHERE table_schema = ANY(:s)"), {"s": [s for _, s in projects]}):
        cols.setdefault((str(s), str(t)), set()).add(str(c))
    for v in reversed(VIEWS):
        con.execute(text(f"DROP VIEW IF EXISTS {R}.{v}"))
    for view in ("unit_totals", "unit_grades", "unit_map", "monitoring_areas"):
        table, need, select = _PARTS[view]
        parts = [select.format(p=_literal(p), s=ident(s)) for p, s in projects
                 if set(need) <= cols.get((s, table), set())]
        body = "\nUNION ALL\n".join(parts) if parts else _EMPTY[view]
        con.execute(text(f"CREATE VIEW {R}.{view} AS {body}"))
    con.execute(text(UNIT_CHANGES))
    roles = [str(r) for (r,) in con.execute(
        text(f"SELECT DISTINCT read_role FROM {R}.projects WHERE read_role IS NOT NULL ORDER BY 1"))]
    for role in roles:
        r = ident(role)
        con.execute(text(f"GRANT USAGE ON SCHEMA {R} TO {r}"))
        con.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {R} TO {r}"))
