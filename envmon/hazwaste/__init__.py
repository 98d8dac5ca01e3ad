"""Hazardous-waste transfer manifests: ingest, lifecycle, anomalies, flows."""
