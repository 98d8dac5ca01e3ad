"""The demo: feed writers that generate every domain's real formats (seeded,
deterministic), and `envmon demo`, which loads a month of them end to end."""
