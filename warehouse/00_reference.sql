-- Reference tables, read from reference/<domain>/*.csv (or $ENVMON_REFERENCE_DIR).
-- Grain: one row per province / city / air station. Codes are text.
CREATE OR REPLACE VIEW raw.provinces AS SELECT * FROM {{reference:common/provinces}};
CREATE OR REPLACE VIEW raw.cities AS SELECT * FROM {{reference:common/cities}};

-- Air station registry: reference/air/stations.csv (the real stations) and
-- reference/air/demo_stations.csv (the demo feed's synthetic stations,
-- demo = true), the latter only when the former has no demo rows of its own,
-- as envmon/core/reference.py loads them. Optional columns a registry may
-- lack (reference_point, source_city, note) are NULL.
-- Grain: one row per station.
CREATE OR REPLACE VIEW curated.air_stations AS
WITH optional AS (
    SELECT NULL::VARCHAR AS reference_point, NULL::VARCHAR AS source_city,
           NULL::VARCHAR AS note
    WHERE false
), main AS (
    SELECT * FROM optional UNION ALL BY NAME SELECT * FROM {{reference:air/stations}}
), demo_rows AS (
    SELECT * FROM optional UNION ALL BY NAME SELECT * FROM {{reference:air/demo_stations}}
), registry AS (
    SELECT * FROM main
    UNION ALL BY NAME
    SELECT * FROM demo_rows
    WHERE NOT EXISTS (SELECT 1 FROM main
                      WHERE lower(trim(main.demo)) IN ('true', 't', 'yes', 'y', '1'))
)
SELECT station_code, station_name, city_code,
       TRY_CAST(longitude AS DOUBLE) AS longitude, TRY_CAST(latitude AS DOUBLE) AS latitude,
       coalesce(lower(trim(demo)) IN ('true', 't', 'yes', 'y', '1'), false) AS demo,
       CASE WHEN lower(trim(reference_point)) IN ('true', 't', 'yes', 'y', '1') THEN true
            WHEN lower(trim(reference_point)) IN ('false', 'f', 'no', 'n', '0') THEN false
       END AS reference_point,
       source_city, note
FROM registry;

-- Surface-water section registry: reference/water/sections.csv (the real
-- sections) and reference/water/demo_sections.csv (the demo's YW0xx
-- sections), combined as envmon/water/reference.py loads them.
-- water_body is the registry's river/lake; where the registry leaves it
-- empty it is guessed from the name of the water (else the section's), and
-- water_type_source says which ('registry' | 'guessed-from-name').
-- Grain: one row per section. Flows in m³/s; coordinates approximate where flagged.
CREATE OR REPLACE VIEW curated.water_sections AS
WITH optional AS (
    SELECT NULL::VARCHAR AS confirmed_facts, NULL::VARCHAR AS sources,
           NULL::VARCHAR AS to_fill, NULL::VARCHAR AS note
    WHERE false
), main AS (
    SELECT * FROM optional UNION ALL BY NAME SELECT * FROM {{reference:water/sections}}
), demo_rows AS (
    SELECT * FROM optional UNION ALL BY NAME SELECT * FROM {{reference:water/demo_sections}}
), registry AS (
    SELECT * FROM main
    UNION ALL BY NAME
    -- A real section owns its release name: a demo row using it gets another.
    SELECT * REPLACE (CASE WHEN EXISTS (
               SELECT 1 FROM main m
               WHERE m.province_code = d.province_code
                 AND coalesce(nullif(trim(m.feed_name), ''), m.section_name)
                     = coalesce(nullif(trim(d.feed_name), ''), d.section_name))
           THEN coalesce(nullif(trim(d.feed_name), ''), d.section_name) || '（演示）'
           ELSE d.feed_name END AS feed_name)
    FROM demo_rows d
    WHERE NOT EXISTS (SELECT 1 FROM main
                      WHERE lower(trim(main.demo)) IN ('true', 't', 'yes', 'y', '1'))
), typed AS (
    SELECT *, trim(water_body) IN ('river', 'lake') AS type_given,
           coalesce(nullif(trim(water_name), ''), trim(section_name)) AS named
    FROM registry
)
SELECT section_code, section_name,
       coalesce(nullif(trim(feed_name), ''), section_name) AS feed_name, name_en,
       CASE WHEN coalesce(type_given, false) THEN trim(water_body)
            WHEN regexp_matches(coalesce(named, ''), '(湖|水库|荡|淀|漾)$') THEN 'lake'
            ELSE 'river' END AS water_body,
       CASE WHEN coalesce(type_given, false) THEN 'registry'
            ELSE 'guessed-from-name' END AS water_type_source,
       water_name, basin, city_code, province_code,
       coalesce(lower(trim(cross_boundary)) IN ('true', 't', 'yes', 'y', '1'), false)
           AS cross_boundary,
       upstream_code, downstream_code, target_class,
       TRY_CAST(mean_flow_m3s AS DOUBLE) AS mean_flow_m3s,
       TRY_CAST(longitude AS DOUBLE) AS longitude, TRY_CAST(latitude AS DOUBLE) AS latitude,
       coalesce(lower(trim(coords_approximate)) IN ('true', 't', 'yes', 'y', '1'), false)
           AS coords_approximate,
       coalesce(lower(trim(demo)) IN ('true', 't', 'yes', 'y', '1'), false) AS demo,
       confirmed_facts, sources, to_fill, note
FROM typed;
