"""Air quality: sources, HJ 633 AQI, HJ 663 daily validity."""
