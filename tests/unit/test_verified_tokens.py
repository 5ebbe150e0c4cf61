"""A built-in token is verified once and then known until it expires; a tampered or
expired one is refused as before."""

from __future__ import annotations

from uuid import uuid4

import pytest

from docflow.auth import tokens
from docflow.auth.tokens import InvalidTokenError, TokenClaims, VerifiedTokens, issue_access_token
from docflow.settings import Settings


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_token_is_verified_once_then_known_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings()
    token, _ = issue_access_token(settings, subject="u", tenant_id=uuid4(), role="viewer")
    claims = tokens.verify_built_in(settings, token)
    checked: list[str] = []

    def counting(settings: Settings, token: str) -> TokenClaims:
        checked.append(token)
        return claims

    monkeypatch.setattr(tokens, "verify_built_in", counting)
    clock = Clock(claims.expires_at - 60)
    verified = VerifiedTokens(settings, clock=clock)
    assert verified.verify(token) == verified.verify(token) == claims
    assert checked == [token]
    clock.now = claims.expires_at  # its last second is over: checked again
    verified.verify(token)
    assert checked == [token, token]


def test_a_tampered_token_is_refused_even_beside_a_known_one() -> None:
    settings = Settings()
    token, _ = issue_access_token(settings, subject="u", tenant_id=uuid4(), role="viewer")
    verified = VerifiedTokens(settings)
    verified.verify(token)
    head, body, signature = token.split(".")
    forged = ".".join([head, body, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    with pytest.raises(InvalidTokenError):
        verified.verify(forged)


def test_the_kept_tokens_are_bounded() -> None:
    settings = Settings()
    verified = VerifiedTokens(settings, max_kept=3)
    for _ in range(10):
        token, _ = issue_access_token(settings, subject="u", tenant_id=uuid4(), role="viewer")
        verified.verify(token)
    assert len(verified._known) <= 3
