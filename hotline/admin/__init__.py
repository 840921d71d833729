"""The `hotline` app's admin, one module per sub-domain (importing them registers them)."""

from hotline.admin import calls, crisis, followups, people, sms, stats, taxonomy

__all__ = ["calls", "crisis", "followups", "people", "sms", "stats", "taxonomy"]
