"""Volunteers and their logins, kept in step (services.py)."""
