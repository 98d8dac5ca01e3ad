"""Cross-boundary surface water: GB 3838-2002 classes, targets, TLI, compensation."""
