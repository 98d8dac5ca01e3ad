-- Operations. Grain: one row per ingest run / per quarantined row.
CREATE OR REPLACE VIEW raw.ingest_runs AS SELECT * FROM {{ledger}};
CREATE OR REPLACE VIEW raw.quarantine AS SELECT * FROM {{quarantine}};
