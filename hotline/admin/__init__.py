"""The `hotline` app's admin, one module per sub-domain (importing them registers them)."""

from hotline.admin import calls, crisis, people, sms, stats

__all__ = ["calls", "crisis", "people", "sms", "stats"]
