"""Commitment indicators, their status against targets, and the HTML report.

    config.py       config/commitments.yaml: indicators, targets, status rules
    stats.py        HJ 663 percentile, GB/T 8170 rounding, HJ 663 validity counts
    periods.py      the periods a report judges (the year, the month) and "as of"
    areas.py        cities, provinces and the region, and which city is in which
    indicators/     the indicator measures: common.py, measures.py (the names
                    and their checks), context.py, air.py, water.py, hazwaste.py
    status.py       status rules, the commitment_status table and its Parquet store
    charts.py       inline SVG charts
    tables.py       the report's tables, gathered from the warehouse
    render.py       the self-contained HTML report (templates/) and its CSV exports
    report.py       compute + gather + render: what the CLI and the DAG call
    cli.py          `envmon report` and the end of `envmon demo`
    tasks.py        the commitments DAG's task functions
"""
