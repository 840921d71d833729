"""The `scheduling` app's admin, one module per sub-domain (importing them registers them)."""

from scheduling.admin import availability, builder, records, rosters

__all__ = ["availability", "builder", "records", "rosters"]
