"""Authentication: password hashing and access tokens (built-in issuer or external IdP)."""
