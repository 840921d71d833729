"""Signing in: lockouts after repeated failures (django-axes), two-factor sign-in
(django-otp), the idle timeout, and API tokens. Operators' and users' guide:
docs/security-logins.md."""
