-- Surface water (GB 3838-2002, 2011 evaluation method). Concentrations in
-- mg/L unless noted (reference/water/items.csv): water_temp ℃, ph
-- dimensionless, conductivity μS/cm, turbidity NTU, fecal_coliform per L,
-- algae_density cells/L, sd m. `ts` is the sampling instant (TIMESTAMPTZ);
-- `date` its Beijing date; `month` is 'YYYY-MM' (Beijing).
-- Classes are 'I'..'V' and '劣V' (worse than V), class_rank 1..6.

-- Grain: section x sampling time (x source: the lake keeps each source's rows).
CREATE OR REPLACE VIEW raw.water_readings AS
SELECT *, timezone('Asia/Shanghai', ts) AS ts_beijing
FROM {{lake:water_readings}};

-- Grain: section x day. Means of the day's readings, then the class.
CREATE OR REPLACE VIEW curated.water_section_daily AS
SELECT * FROM {{lake:water_section_daily}};

-- Grain: section x month. Means of the month's readings, then the class;
-- target compliance; TLI for lakes.
CREATE OR REPLACE VIEW curated.water_section_monthly AS
SELECT * REPLACE (CAST(month AS VARCHAR) AS month) FROM {{lake:water_section_monthly}};

-- Grain: section x month, for the sections of config/water_compensation.yaml.
CREATE OR REPLACE VIEW curated.water_compensation AS
SELECT * REPLACE (CAST(month AS VARCHAR) AS month) FROM {{lake:water_compensation}};

-- Grain: section x month x factor: the arithmetic behind water_compensation.
CREATE OR REPLACE VIEW curated.water_compensation_factors AS
SELECT * REPLACE (CAST(month AS VARCHAR) AS month) FROM {{lake:water_compensation_factors}};

-- Grain: month x scope. Compliance rate of the cross-boundary sections that
-- have a class and a target: per (upstream province, downstream province) pair
-- and for the whole region.
CREATE OR REPLACE VIEW marts.water_compliance_monthly AS
WITH crossing AS (
    SELECT month, section_code, compliant,
           substr(upstream_code, 1, 2) || '0000' AS upstream_province,
           substr(downstream_code, 1, 2) || '0000' AS downstream_province
    FROM curated.water_section_monthly
    WHERE cross_boundary AND compliant IS NOT NULL
)
SELECT month, 'region' AS scope, CAST(NULL AS VARCHAR) AS upstream_province,
       CAST(NULL AS VARCHAR) AS downstream_province,
       count(*) AS sections_assessed, count(*) FILTER (WHERE compliant) AS sections_compliant,
       count(*) FILTER (WHERE compliant) / count(*) AS compliance_rate,
       list(section_code ORDER BY section_code) FILTER (WHERE NOT compliant) AS missing_target
FROM crossing GROUP BY month
UNION ALL
SELECT c.month, coalesce(up.name_en, c.upstream_province) || '->' ||
                coalesce(down.name_en, c.downstream_province) AS scope,
       c.upstream_province, c.downstream_province,
       count(*), count(*) FILTER (WHERE c.compliant),
       count(*) FILTER (WHERE c.compliant) / count(*),
       list(c.section_code ORDER BY c.section_code) FILTER (WHERE NOT c.compliant)
FROM crossing c
LEFT JOIN raw.provinces up ON up.province_code = c.upstream_province
LEFT JOIN raw.provinces down ON down.province_code = c.downstream_province
GROUP BY ALL;

-- Grain: month. Every section with a monthly class: share in classes I-III
-- and the sections worse than V.
CREATE OR REPLACE VIEW marts.water_quality_share_monthly AS
SELECT month, count(*) AS sections,
       count(*) FILTER (WHERE class_rank <= 3) AS sections_i_iii,
       count(*) FILTER (WHERE class_rank <= 3) / count(*) AS share_i_iii,
       count(*) FILTER (WHERE class_rank = 6) AS sections_worse_than_v,
       list(section_code ORDER BY section_code) FILTER (WHERE class_rank = 6) AS worse_than_v
FROM curated.water_section_monthly
WHERE class_rank IS NOT NULL
GROUP BY month;

-- Sections seen in feeds but missing from reference/water/sections.csv:
-- loaded and classified, not dropped, listed so the registry can be completed.
CREATE OR REPLACE VIEW marts.water_unregistered_sections AS
SELECT section_code, any_value(section_name) AS section_name,
       any_value(feed_province) AS feed_province, any_value(feed_city) AS feed_city,
       any_value(feed_river) AS feed_river, any_value(water_body) AS water_body_guess,
       list(DISTINCT source ORDER BY source) AS sources, min(ts) AS first_ts,
       max(ts) AS last_ts, count(*) AS readings
FROM raw.water_readings WHERE NOT registered
GROUP BY section_code;

-- Readings where the publisher's own class differs from envmon's.
CREATE OR REPLACE VIEW marts.water_class_mismatches AS
SELECT section_code, section_name, ts, date, source, feed_class, water_class,
       deciding_items, ph, "do", codmn, nh3n, tp
FROM raw.water_readings WHERE class_mismatch;
