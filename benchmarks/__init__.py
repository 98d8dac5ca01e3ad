"""envmon's benchmarks: developer tools, not part of the envmon package or its wheel.

- `python -m benchmarks.local` (`make bench`): a year of air files on one
  machine against a DuckDB floor (benchmarks/local.py).
- `python -m benchmarks.national` (`make bench-national`): every domain at
  national size (benchmarks/national.py).

Both run from the project root and share benchmarks/harness.py (work
directory, child processes, machine facts, the report file) and
benchmarks/air.py (the air inputs and children). Their Markdown reports are
rendered from benchmarks/templates/.
"""
