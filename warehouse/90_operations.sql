-- Operations. Grain: one row per ingest run / per quarantined row.
CREATE OR REPLACE VIEW ingest_runs AS SELECT * FROM {{ledger}};
CREATE OR REPLACE VIEW quarantine AS SELECT * FROM {{quarantine}};
