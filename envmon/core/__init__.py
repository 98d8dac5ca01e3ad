"""Shared machinery: settings, landing, lake, ledger, quarantine."""
