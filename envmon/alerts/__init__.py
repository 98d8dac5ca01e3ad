"""Threshold alerts: rules over the warehouse, deduplicated alerts, an outbox to channels."""
