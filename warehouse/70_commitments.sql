-- Commitments (envmon/reporting/; docs/report.md). `envmon report` and the
-- `commitments` DAG compute every indicator x area x period and store them,
-- each report period's rows replaced whole: on the lakehouse in its
-- `commitment_status` table (every host sees them), on the files layout in
-- $ENVMON_HOME/reporting/commitment_status/<report period>.parquet. The
-- view reads the store at query time (core/warehouse.py renders it from
-- core/stores.py), so a report written after a build shows up without one.
-- Until one is written the files layout has no file: the view then reads an
-- empty stand-in file with a single dummy column, and the typed empty row
-- set in front keeps the columns and types.

-- Grain: report period (YYYY-MM) x indicator x area (city, province, region)
-- x period (the year YYYY to date, and the month YYYY-MM where the
-- indicator has a monthly target). status: met, on track, at risk, missed,
-- not enough data. data_capture 0..1; projection: the whole period, where it
-- is not over.
CREATE OR REPLACE VIEW marts.commitment_status AS
SELECT COLUMNS(lambda c: c <> 'empty') FROM (
    SELECT NULL::VARCHAR AS report_period, NULL::DATE AS as_of,
           NULL::TIMESTAMPTZ AS computed_at, NULL::VARCHAR AS indicator,
           NULL::VARCHAR AS title, NULL::VARCHAR AS title_zh, NULL::VARCHAR AS domain,
           NULL::VARCHAR AS level, NULL::VARCHAR AS region, NULL::VARCHAR AS region_name,
           NULL::VARCHAR AS region_name_zh, NULL::VARCHAR AS period,
           NULL::VARCHAR AS period_kind, NULL::DATE AS period_start, NULL::DATE AS period_end,
           NULL::BOOLEAN AS period_over, NULL::DOUBLE AS value, NULL::VARCHAR AS unit,
           NULL::DOUBLE AS target, NULL::VARCHAR AS direction, NULL::VARCHAR AS status,
           NULL::DOUBLE AS data_capture, NULL::BOOLEAN AS valid, NULL::DOUBLE AS projection,
           NULL::VARCHAR AS projection_method, NULL::VARCHAR AS detail,
           NULL::BOOLEAN AS target_example, NULL::VARCHAR AS target_source,
           NULL::VARCHAR AS standard
    WHERE false
    UNION ALL BY NAME
    SELECT * FROM {{store:commitment_status}}
);

-- Grain: indicator x area x period: the latest judgement (the most recent
-- as_of, then the most recent computation) of each.
CREATE OR REPLACE VIEW marts.commitment_status_latest AS
SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY indicator, level, region, period
                                 ORDER BY as_of DESC, computed_at DESC) AS rn
    FROM marts.commitment_status)
WHERE rn = 1;
