"""docflow dev's signing secret: random, made once, private, never the placeholder."""

from __future__ import annotations

from pathlib import Path

from docflow.auth.local_secret import local_signing_secret, secret_path
from docflow.auth.tokens import PLACEHOLDER_SECRET
from docflow.settings import Settings


def test_a_random_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = local_signing_secret(settings)
    assert first != PLACEHOLDER_SECRET and len(first) >= 32
    assert secret_path(settings).stat().st_mode & 0o777 == 0o600
    assert local_signing_secret(settings) == first  # the next start signs the same way
    assert local_signing_secret(Settings(data_dir=tmp_path / "other")) != first
    assert [p.name for p in secret_path(settings).parent.iterdir()] == ["jwt-secret"]


def test_a_configured_secret_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret="x" * 40)
    assert local_signing_secret(settings) == "x" * 40
    assert not secret_path(settings).exists()
