-- Hazardous-waste transfer manifests (危险废物转移管理办法, 2021).
-- Quantities in metric tonnes (t); times are instants (TIMESTAMPTZ), with a
-- *_beijing twin where analysts filter by local time; `month` is YYYY-MM of
-- the manifest's entered_at in Beijing time (the lake partition).
-- Stored: hw_manifest_copies / hw_waste_lines / hw_events / hw_approvals (as
-- delivered, per source) and hw_manifest_state / hw_anomalies / hw_flows
-- (recomputed from all of them on every run). docs/warehouse_hazwaste.md explains every
-- column.
-- Two grains, two names: the lake dataset of every copy of every manifest
-- version is named hw_manifest_copies here (its directory is still
-- lake/hw_manifests/, the name it was first stored under: WAREHOUSE_NAMES in
-- envmon/domains.py) and only raw.hw_manifest_copies reads it; the view
-- hw_manifests is one row per manifest, its current version, from
-- hw_manifest_state.

-- Grain: one row per manifest version as delivered by each source.
CREATE OR REPLACE VIEW raw.hw_manifest_copies AS
SELECT * FROM {{lake:hw_manifest_copies}};

-- Grain: one row per manifest version (superseded ones included), with its
-- lifecycle state; `current` is false for a version a correction replaced.
CREATE OR REPLACE VIEW curated.hw_manifest_versions AS
SELECT * EXCLUDE (kind, entered_at, shipper_id, shipper_name, shipper_adcode, carrier_id,
                  carrier_name, carrier_permit_no, vehicle_plate, receiver_id, receiver_name,
                  receiver_adcode, receiver_licence_no, approval_no, line_count, quantity_t,
                  received_t, exported_at, anomalies, high_anomalies)
FROM {{lake:hw_manifest_state}};

-- Grain: one row per manifest (current version; a number carrying two
-- different manifests that no correction links gives two rows, both in
-- hw_anomalies as duplicate_manifest_no). Header and tonnes come from the
-- copy of the latest export; state from the events of every copy. The
-- refresh stores that header and the anomaly counts with the state, so this
-- reads one dataset.
CREATE OR REPLACE VIEW curated.hw_manifests AS
SELECT s.manifest_no, s.version, s.kind, s.state,
       s.entered_at, s.created_at, s.departed_at, s.received_at, s.confirmed_at,
       s.rejected_at, s.corrected_at,
       s.shipper_id, s.shipper_name, s.shipper_adcode,
       s.origin_city_code, s.origin_city, s.origin_province_code, s.origin_province,
       s.receiver_id, s.receiver_name, s.receiver_adcode, s.receiver_licence_no,
       s.dest_city_code, s.dest_city, s.dest_province_code, s.dest_province,
       s.cross_province, s.approval_no,
       s.carrier_id, s.carrier_name, s.carrier_permit_no, s.vehicle_plate,
       s.line_count, s.quantity_t AS shipped_t, s.received_t,
       s.anomalies, s.high_anomalies,
       s.lifecycle_violations, s.sources, s.exported_at, s.as_of, s.month
FROM {{lake:hw_manifest_state}} s
WHERE s.current;

-- Grain: one row per waste line of a manifest in hw_manifests.
-- category: HWnn, the last two digits of the code (国家危险废物名录).
CREATE OR REPLACE VIEW curated.hw_waste_lines AS
SELECT l.manifest_no, l.version, l.line, l.waste_code,
       CASE WHEN regexp_full_match(l.waste_code, '[0-9]{3}-[0-9]{3}-[0-9]{2}')
            THEN 'HW' || right(l.waste_code, 2) END AS category,
       l.waste_name, l.characteristics, l.form, l.packaging,
       l.quantity, l.unit, l.quantity_t, l.received_quantity, l.received_t,
       l.source, l.month
FROM {{lake:hw_waste_lines}} l
JOIN {{lake:hw_manifest_state}} s
  ON s.manifest_no = l.manifest_no AND s.version = l.version AND s.source = l.source
WHERE s.current;

-- (`at` is a DuckDB keyword, so the view calls it event_at.)
-- Grain: one row per lifecycle event of a manifest in hw_manifests, as the
-- replay saw it (the same type at the same instant from several copies once),
-- plus status updates delivered on their own (version '', delivered_as
-- 'status'), including those naming no known manifest.
CREATE OR REPLACE VIEW curated.hw_events AS
WITH nested AS (
    SELECT e.manifest_no, e.version, e.event_type, e.at, min(e.actor) AS actor,
           'nested' AS delivered_as, string_agg(DISTINCT e.source, ';') AS sources,
           min(e.month) AS month
    FROM {{lake:hw_events}} e
    JOIN {{lake:hw_manifest_state}} s ON s.manifest_no = e.manifest_no AND s.version = e.version
    WHERE e.version <> '' AND s.current
    GROUP BY e.manifest_no, e.version, e.event_type, e.at
), status AS (
    SELECT e.manifest_no, e.version, e.event_type, e.at, min(e.actor) AS actor,
           'status' AS delivered_as, string_agg(DISTINCT e.source, ';') AS sources,
           min(e.month) AS month
    FROM {{lake:hw_events}} e WHERE e.version = ''
    GROUP BY e.manifest_no, e.version, e.event_type, e.at
)
SELECT u.manifest_no, u.version, u.event_type, u.at AS event_at,
       timezone('Asia/Shanghai', u.at) AS event_at_beijing,
       u.actor, u.delivered_as, u.sources, u.month
FROM (SELECT * FROM nested UNION ALL SELECT * FROM status) u;

-- Grain: one row per anomaly (manifest version x anomaly kind; one per
-- status update for event_unknown_manifest). `rule` is the article it rests
-- on, `fields` the columns it read, `as_of` the "now" it was judged at.
CREATE OR REPLACE VIEW curated.hw_anomalies AS
SELECT manifest_no, version, anomaly, severity, rule, fields, detail, as_of, month
FROM {{lake:hw_anomalies}};

-- Grain: departure month (Beijing) x origin province x destination province
-- x waste category, over manifests that left the shipper (departed, received,
-- confirmed or rejected). shipped_t: declared tonnes; received_t: tonnes the
-- receivers recorded (NULL lines count as nothing received yet).
-- Written by the refresh (envmon/hazwaste/derive.py, the same query over
-- hw_manifests joined to hw_waste_lines), since a year of that join is over a
-- million manifests; `month` is the departure month here.
CREATE OR REPLACE VIEW marts.hw_flows_monthly AS
SELECT month, origin_province_code, origin_province, dest_province_code, dest_province,
       cross_province, category, manifests, lines, shipped_t, received_t
FROM {{lake:hw_flows}};

-- Grain: one row per cross-province approval delivered by a system (the
-- latest export of each number). Approvals bundled in
-- reference/hazwaste/approvals.csv are used by the rules too.
CREATE OR REPLACE VIEW curated.hw_approvals AS
SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY approval_no ORDER BY exported_at DESC) AS rn
    FROM {{lake:hw_approvals}})
WHERE rn = 1;
