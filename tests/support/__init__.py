"""Helpers shared by test packages (a scripted local HTTP server)."""
