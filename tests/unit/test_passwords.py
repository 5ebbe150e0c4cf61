"""Password hashing: scrypt in a PHC-like string, constant-time verify, dummy on no hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

import pytest

from docflow.auth import passwords
from docflow.auth.passwords import (
    InvalidPasswordError,
    check_password_policy,
    hash_password,
    verify_password,
    verify_password_or_dummy,
)

PASSWORD = "correct horse battery staple"


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def test_hash_format_and_parameters() -> None:
    scheme, n, r, p, salt, digest = hash_password(PASSWORD).split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert len(_unb64(salt)) == 16
    expected = hashlib.scrypt(PASSWORD.encode(), salt=_unb64(salt), n=2**14, r=8, p=1, dklen=32)
    assert _unb64(digest) == expected


def test_verify_right_and_wrong_password() -> None:
    encoded = hash_password(PASSWORD)
    assert verify_password(PASSWORD, encoded)
    assert not verify_password(PASSWORD + "!", encoded)
    assert not verify_password("", encoded)


def test_salts_differ() -> None:
    assert hash_password(PASSWORD) != hash_password(PASSWORD)


def test_unicode_password() -> None:
    encoded = hash_password("pässwörd-ünïcødé-🔐")
    assert verify_password("pässwörd-ünïcødé-🔐", encoded)
    assert not verify_password("passwoerd-unicode", encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plain-text-password",
        "bcrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$ZGlnZXN0ZGlnZXN0ZGlnZXN0",
        "scrypt$16384$8$1$not*base64$ZGlnZXN0",
        "scrypt$1000$8$1$c2FsdHNhbHRzYWx0c2FsdA$ZGlnZXN0ZGlnZXN0ZGlnZXN0",  # n not 2^k
        "scrypt$1073741824$8$1$c2FsdHNhbHRzYWx0c2FsdA$ZGlnZXN0ZGlnZXN0ZGlnZXN0",  # n too big
        "scrypt$16384$8$1$c2FsdA$ZGlnZXN0ZGlnZXN0ZGlnZXN0",  # salt too short
        "scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA",  # a field missing
    ],
)
def test_malformed_hashes_never_verify(encoded: str) -> None:
    assert not verify_password(PASSWORD, encoded)
    assert not verify_password_or_dummy(PASSWORD, encoded)


def test_dummy_verify_fails_and_still_derives(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = passwords._derive

    def counting(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
        calls.append(1)
        return real(password, salt, n, r, p, length)

    monkeypatch.setattr(passwords, "_derive", counting)
    assert not verify_password_or_dummy(PASSWORD, None)
    assert not verify_password_or_dummy(PASSWORD, "garbage")
    assert calls == [1, 1]


def test_dummy_costs_about_as_much_as_a_real_verify() -> None:
    encoded = hash_password(PASSWORD)

    def best_of(check: Callable[[], object], runs: int = 3) -> float:
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            check()
            timings.append(time.perf_counter() - started)
        return min(timings)

    real = best_of(lambda: verify_password_or_dummy("wrong password!", encoded))
    dummy = best_of(lambda: verify_password_or_dummy("wrong password!", None))
    assert dummy > real / 3  # same KDF work; a fast path would be ~1000x cheaper


def test_verify_uses_constant_time_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []

    def spy(left: bytes, right: bytes) -> bool:
        compared.append((left, right))
        return left == right

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify_password(PASSWORD, hash_password(PASSWORD))
    assert len(compared) == 1


@pytest.mark.parametrize("password", ["", "short", "elevenchars"])
def test_policy_refuses_short_passwords(password: str) -> None:
    with pytest.raises(InvalidPasswordError, match="at least 12"):
        check_password_policy(password)


def test_policy_accepts_twelve_characters_and_refuses_huge() -> None:
    check_password_policy("x" * 12)
    with pytest.raises(InvalidPasswordError, match="at most"):
        check_password_policy("x" * 1025)
