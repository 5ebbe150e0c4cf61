"""Password hashing with scrypt (stdlib), stored as ``scrypt$n$r$p$salt_b64$hash_b64``.

Verification is constant-time, and ``verify_password_or_dummy`` runs the same key
derivation when there is no stored hash, so a missing user takes as long as a wrong
password (no timing oracle for account enumeration).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCHEME = "scrypt"
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# Bounds on parameters read back from a stored hash (a corrupt row must not exhaust memory).
MAX_N = 2**20
MAX_R = 16
MAX_P = 16
_MAXMEM = 256 * 1024 * 1024


class InvalidPasswordError(ValueError):
    """A new password that does not meet the policy."""


@dataclass(frozen=True)
class ScryptHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def encode(self) -> str:
        return "$".join(
            (SCHEME, str(self.n), str(self.r), str(self.p), _b64(self.salt), _b64(self.digest))
        )

    @classmethod
    def parse(cls, encoded: str) -> ScryptHash:
        """Parse a stored hash; ValueError when it is not one of ours or out of bounds."""
        scheme, n, r, p, salt, digest = encoded.split("$")
        parsed = cls(int(n), int(r), int(p), _unb64(salt), _unb64(digest))
        if scheme != SCHEME or not parsed._in_bounds():
            raise ValueError("not a supported scrypt hash")
        return parsed

    def _in_bounds(self) -> bool:
        power_of_two = self.n > 1 and self.n & (self.n - 1) == 0
        return (
            power_of_two
            and self.n <= MAX_N
            and 0 < self.r <= MAX_R
            and 0 < self.p <= MAX_P
            and len(self.salt) >= SALT_BYTES
            and len(self.digest) >= 16
        )

    def matches(self, password: str) -> bool:
        candidate = _derive(password, self.salt, self.n, self.r, self.p, len(self.digest))
        return hmac.compare_digest(candidate, self.digest)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=length
    )


def check_password_policy(password: str) -> None:
    """Raise InvalidPasswordError when a new password is too short or absurdly long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidPasswordError(
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters long"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidPasswordError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """A new salted scrypt hash of ``password`` (no policy check: see check_password_policy)."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return ScryptHash(SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, digest).encode()


def _parse(encoded: str | None) -> ScryptHash | None:
    if encoded is None:
        return None
    try:
        return ScryptHash.parse(encoded)
    except ValueError:
        return None


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the stored hash; False for a malformed hash."""
    stored = _parse(encoded)
    return stored is not None and stored.matches(password)


# Random salt and digest with the current parameters: matching against it costs exactly one
# real derivation and never succeeds.
_DUMMY = ScryptHash(
    SCRYPT_N, SCRYPT_R, SCRYPT_P, secrets.token_bytes(SALT_BYTES), secrets.token_bytes(HASH_BYTES)
)


def verify_password_or_dummy(password: str, encoded: str | None) -> bool:
    """Like verify_password, but with no usable stored hash (no such user, no password set)
    it still pays for one derivation, so both cases take as long as a wrong password."""
    stored = _parse(encoded)
    if stored is None:
        _DUMMY.matches(password)
        return False
    return stored.matches(password)
