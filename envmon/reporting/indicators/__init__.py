"""Indicator measures: one value per indicator, area and period, from the warehouse.

Every measure returns a Measurement: the value, whether the data are enough
to judge it (`valid`), the data capture, and for a period that is not over a
projection of the whole period:

- "the rest as in the previous year": the period so far plus the previous
  year's data for the days (months) still to come, when those are complete
  enough; this keeps the season (winter PM2.5) in the projection;
- otherwise "the rest at the level so far": means, ratios and percentiles stay
  as they are, counts and sums grow at the rate so far.

Air reads `air_daily_city`, water `water_section_monthly` and
`water_compensation`, hazardous waste `hw_manifests` and `hw_anomalies`; a
view that is missing (a domain not built) makes its indicators "not enough
data", with the reason in `detail`.

Areas: a city's air value is the city's (air_daily_city already averages its
stations); a province's or the region's is the mean of its cities' values
(HJ 663 region assessment). Water and hazardous-waste values are computed
over the sections / manifests the area answers for (see config/commitments.yaml).

Modules:

    common.py    Measurement, the projection methods, the warehouse views read
    measures.py  the measure names config/commitments.yaml may use, and their checks
    context.py   Context: one computation's data and measurements, derived measures
    air.py       air_daily_city: city values, and the mean of cities for an area
    water.py     water_section_monthly and water_compensation
    hazwaste.py  hw_manifests and hw_anomalies
"""
