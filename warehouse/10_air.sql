-- Air quality. Concentrations in µg/m³, CO in mg/m³ (GB 3095).
-- `ts` is the END of the averaging hour (TIMESTAMPTZ); `ts_beijing` is the
-- same instant as Beijing wall-clock time; `date` is the natural day
-- (00:00-24:00 Beijing) the hour belongs to.

-- Grain: station x hour (x source: the lake keeps each source's rows).
CREATE OR REPLACE VIEW raw.air_hourly AS
SELECT station_code, city_code, province_code, registered,
       ts, timezone('Asia/Shanghai', ts) AS ts_beijing, date,
       pm25, pm10, so2, no2, o3, co, pm25_24h, pm10_24h, so2_24h,
       aqi, primary_pollutant, aqi_standard, aqi_complete, feed_aqi, aqi_mismatch,
       source, run_id
FROM {{lake:air_hourly}};

-- Grain: station x natural day. Values are NULL when HJ 663 validity fails.
CREATE OR REPLACE VIEW curated.air_daily_station AS
SELECT * FROM {{lake:air_daily_station}};

-- Grain: city x natural day; city value = mean over its stations' valid values.
CREATE OR REPLACE VIEW curated.air_daily_city AS
SELECT * FROM {{lake:air_daily_city}};

-- Stations seen in feeds but missing from the registry: loaded, not dropped,
-- and listed here so the registry can be completed.
CREATE OR REPLACE VIEW marts.air_unregistered_stations AS
SELECT station_code, list(DISTINCT source ORDER BY source) AS sources,
       min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS station_hours
FROM raw.air_hourly WHERE NOT registered
GROUP BY station_code;

-- Station-hours where the feed's own AQI differs from envmon's HJ 633 AQI.
CREATE OR REPLACE VIEW marts.air_aqi_mismatches AS
SELECT station_code, ts, date, source, feed_aqi, aqi, aqi_standard,
       pm25, pm10, so2, no2, o3, co
FROM raw.air_hourly WHERE aqi_mismatch;
