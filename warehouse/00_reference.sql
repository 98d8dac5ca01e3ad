-- Reference tables, read from reference/*.csv (or $ENVMON_REFERENCE_DIR).
-- Grain: one row per province / city / air station. Codes are text.
CREATE OR REPLACE VIEW provinces AS SELECT * FROM {{reference:provinces}};
CREATE OR REPLACE VIEW cities AS SELECT * FROM {{reference:cities}};
CREATE OR REPLACE VIEW air_stations AS
SELECT station_code, station_name, city_code,
       CAST(longitude AS DOUBLE) AS longitude, CAST(latitude AS DOUBLE) AS latitude,
       lower(trim(demo)) IN ('true', 't', 'yes', 'y', '1') AS demo
FROM {{reference:air_stations}};
