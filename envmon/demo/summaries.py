"""What `envmon demo` prints about each domain, read from the warehouse it built."""

from __future__ import annotations


def summarise_air(con) -> list[str]:  # con: duckdb.DuckDBPyConnection
    worst = con.execute("""
        SELECT c.name_en, c.city_code, round(avg(d.pm25), 1),
               count(*) FILTER (WHERE d.aqi > 100), max(d.aqi)
        FROM air_daily_city d JOIN cities c USING (city_code)
        GROUP BY ALL ORDER BY 3 DESC NULLS LAST LIMIT 5""").fetchall()
    lines = ["worst cities by mean PM2.5 (µg/m³):"]
    lines += [f"  {city:<14} {code}  PM2.5 {pm25}  days AQI>100: {days}  worst AQI: {aqi}"
              for city, code, pm25, days, aqi in worst]
    return lines

def summarise_water(con) -> list[str]:  # con: duckdb.DuckDBPyConnection
    """Cross-boundary sections' class vs target, compliance rates, compensation owed."""
    lines = ["cross-boundary sections, monthly class vs target (2011 method):"]
    rows = con.execute("""
        SELECT month, section_code, section_name, water_class, target_class, compliant,
               deciding_items, upstream_code || '->' || downstream_code
        FROM water_section_monthly WHERE cross_boundary
        ORDER BY month, section_code""").fetchall()
    for month, code, name, cls, target, ok, deciding, pair in rows:
        mark = "meets" if ok else ("MISSES" if ok is False else "n/a")
        lines.append(f"  {month} {code} {name:<10} {pair:<14} {cls or '-':>3} vs {target or '-':<3}"
                     f" {mark:<6} ({deciding or '-'})")
    compliance: dict[str, list[str]] = {}
    for month, scope, assessed, met, rate in con.execute("""
            SELECT month, scope, sections_assessed, sections_compliant, compliance_rate
            FROM water_compliance_monthly ORDER BY month, scope = 'region' DESC, scope
            """).fetchall():
        text = f"{met}/{assessed} ({rate:.0%})" if scope == "region" else f"{met}/{assessed}"
        compliance.setdefault(month, []).append(f"{scope} {text}")
    for month, parts in compliance.items():
        lines.append(f"  compliance {month}: {parts[0]}; by province pair: {', '.join(parts[1:])}")
    for month, n, share, worse in con.execute("""
            SELECT month, sections, share_i_iii, sections_worse_than_v
            FROM water_quality_share_monthly ORDER BY month""").fetchall():
        lines.append(f"  {month}: {n} sections, {share:.0%} in I-III, {worse} worse than V")
    owed = con.execute("""
        SELECT month, section_code, section_name, payer_name, payee_name, amount_cny, detail
        FROM water_compensation WHERE amount_cny > 0 ORDER BY month, amount_cny DESC
        """).fetchall()
    lines.append("compensation owed (Jiangsu formula, config/water_compensation.yaml):")
    lines += [f"  {m} {c} {n}: {payer} pays {payee} {amount:,.0f} CNY ({detail})"
              for m, c, n, payer, payee, amount, detail in owed] or ["  nothing owed"]
    tli = con.execute("""
        SELECT section_name, round(tli, 1), tli_band FROM water_section_monthly
        WHERE tli IS NOT NULL ORDER BY tli DESC LIMIT 3""").fetchall()
    if tli:
        lines.append("lake TLI (highest): " + "; ".join(f"{n} {t} {b}" for n, t, b in tli))
    return lines

def summarise_hazwaste(con) -> list[str]:  # con: duckdb.DuckDBPyConnection
    kinds = con.execute("""
        SELECT anomaly, severity, count(*) FROM hw_anomalies
        GROUP BY ALL ORDER BY 3 DESC, 1""").fetchall()
    totals = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE cross_province), round(sum(shipped_t), 1)
        FROM hw_manifests""").fetchall()[0]
    flows = con.execute("""
        SELECT origin_province, dest_province, sum(manifests), round(sum(shipped_t), 1)
        FROM hw_flows_monthly WHERE cross_province
        GROUP BY ALL ORDER BY 4 DESC LIMIT 5""").fetchall()
    lines = [f"hazwaste: {totals[0]:,} manifests ({totals[1]:,} cross-province), "
             f"{totals[2] or 0:,} t shipped; anomalies by kind and severity:"]
    lines += [f"  {kind:<28} {severity:<6} {count:>5}" for kind, severity, count in kinds]
    lines.append("top inter-province flows (t):")
    lines += [f"  {origin:<9} -> {dest:<9} {count:>5} manifests  {tonnes:>9,.1f} t"
              for origin, dest, count, tonnes in flows]
    return lines
