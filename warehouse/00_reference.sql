-- Reference tables, read from reference/*.csv (or $ENVMON_REFERENCE_DIR).
-- Grain: one row per province / city / air station. Codes are text.
CREATE OR REPLACE VIEW provinces AS SELECT * FROM {{reference:provinces}};
CREATE OR REPLACE VIEW cities AS SELECT * FROM {{reference:cities}};
CREATE OR REPLACE VIEW air_stations AS
SELECT station_code, station_name, city_code,
       CAST(longitude AS DOUBLE) AS longitude, CAST(latitude AS DOUBLE) AS latitude,
       lower(trim(demo)) IN ('true', 't', 'yes', 'y', '1') AS demo
FROM {{reference:air_stations}};

-- Cross-boundary surface-water sections (reference/water/sections.csv).
-- Grain: one row per section. Flows in m³/s; coordinates approximate where flagged.
CREATE OR REPLACE VIEW water_sections AS
SELECT section_code, section_name, feed_name, name_en, water_body, water_name, basin,
       city_code, province_code,
       lower(trim(cross_boundary)) IN ('true', 't', 'yes', 'y', '1') AS cross_boundary,
       upstream_code, downstream_code, target_class,
       TRY_CAST(mean_flow_m3s AS DOUBLE) AS mean_flow_m3s,
       TRY_CAST(longitude AS DOUBLE) AS longitude, TRY_CAST(latitude AS DOUBLE) AS latitude,
       lower(trim(coords_approximate)) IN ('true', 't', 'yes', 'y', '1') AS coords_approximate,
       lower(trim(demo)) IN ('true', 't', 'yes', 'y', '1') AS demo, note
FROM {{reference:water/sections}};
