"""Surface-water source adapters, one module per feed format.

cnemc-water: the national automatic monitoring real-time release (JSON pages).
lab-monthly: monthly laboratory results (CSV, full GB 3838 Table 1).
Both return envmon.water.schema.PARSED_COLUMNS.
"""

FORMATS: tuple[str, ...] = ("cnemc-water", "lab-monthly")
