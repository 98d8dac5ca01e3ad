-- Alerts (envmon/alerts/store.py writes them; docs/alerts.md). On the
-- lakehouse the store is three tables every host shares; on the files
-- layout, Parquet files under $ENVMON_HOME/alerts/. The views read the store
-- at query time (core/warehouse.py renders it from core/stores.py), so
-- alerts raised after a build show up without one. On a fresh files home
-- the files do not exist yet: a view then reads an empty stand-in file with
-- a single dummy column, and the typed empty row set in front keeps the
-- columns and types.
-- Times are UTC instants (TIMESTAMPTZ).

-- Grain: one row per alert key (rule, subject, period); current state.
CREATE OR REPLACE VIEW marts.alerts AS
SELECT COLUMNS(lambda c: c <> 'empty') FROM (
    SELECT NULL::VARCHAR AS alert_id, NULL::VARCHAR AS rule, NULL::VARCHAR AS subject,
           NULL::VARCHAR AS subject_name, NULL::VARCHAR AS period, NULL::VARCHAR AS severity,
           NULL::VARCHAR AS title, NULL::VARCHAR AS title_zh, NULL::VARCHAR AS standard,
           NULL::VARCHAR AS unit, NULL::VARCHAR AS status, NULL::DOUBLE AS value,
           NULL::VARCHAR AS detail, NULL::TIMESTAMPTZ AS first_raised_at,
           NULL::TIMESTAMPTZ AS last_seen_at, NULL::TIMESTAMPTZ AS resolved_at,
           NULL::VARCHAR AS resolve_reason, NULL::INTEGER AS transitions,
           NULL::VARCHAR AS last_run_id
    WHERE false
    UNION ALL BY NAME
    SELECT * FROM {{store:alerts}}
);

-- Grain: one row per event: raised, resolved, reopened, notified (state
-- changes) and delivered, failed (delivery attempts, with channel and attempt).
CREATE OR REPLACE VIEW marts.alert_events AS
SELECT COLUMNS(lambda c: c <> 'empty') FROM (
    SELECT NULL::VARCHAR AS event_id, NULL::TIMESTAMPTZ AS at, NULL::VARCHAR AS run_id,
           NULL::VARCHAR AS alert_id, NULL::VARCHAR AS rule, NULL::VARCHAR AS subject,
           NULL::VARCHAR AS period, NULL::VARCHAR AS event, NULL::VARCHAR AS notice_id,
           NULL::VARCHAR AS channel, NULL::INTEGER AS attempt, NULL::VARCHAR AS message
    WHERE false
    UNION ALL BY NAME
    SELECT * FROM {{store:alert_events}}
);

-- Grain: one row per notice x channel, with its delivery state (pending, sent).
CREATE OR REPLACE VIEW marts.alert_outbox AS
SELECT COLUMNS(lambda c: c <> 'empty') FROM (
    SELECT NULL::VARCHAR AS outbox_id, NULL::VARCHAR AS notice_id, NULL::VARCHAR AS alert_id,
           NULL::VARCHAR AS kind, NULL::VARCHAR AS channel, NULL::VARCHAR AS status,
           NULL::TIMESTAMPTZ AS created_at, NULL::INTEGER AS attempts,
           NULL::TIMESTAMPTZ AS next_attempt_at, NULL::TIMESTAMPTZ AS last_attempt_at,
           NULL::VARCHAR AS last_error, NULL::TIMESTAMPTZ AS sent_at, NULL::VARCHAR AS payload
    WHERE false
    UNION ALL BY NAME
    SELECT * FROM {{store:alert_outbox}}
);
