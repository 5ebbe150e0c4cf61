"""docflow dev's secrets: random, made once, private, never the published placeholders."""

from __future__ import annotations

from pathlib import Path

from docflow.auth.tokens import PLACEHOLDER_SECRET
from docflow.local_secrets import (
    JWT_SECRET_FILE,
    MASTER_KEY_FILE,
    local_master_key,
    local_secrets_env,
    local_signing_secret,
)
from docflow.settings import Settings
from docflow.storage.crypto import parse_master_key


def test_random_secrets_are_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, master_key=None)
    first = local_signing_secret(settings)
    assert first != PLACEHOLDER_SECRET and len(first) >= 32
    assert local_signing_secret(settings) == first  # the next start signs the same way
    assert local_signing_secret(Settings(data_dir=tmp_path / "other")) != first
    key = local_master_key(settings)
    assert len(parse_master_key(key)) == 32 and local_master_key(settings) == key
    for name in (JWT_SECRET_FILE, MASTER_KEY_FILE):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / JWT_SECRET_FILE).parent.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == ["jwt-secret", "master-key"]
    assert local_secrets_env(settings) == {"DOCFLOW_JWT_SECRET": first, "DOCFLOW_MASTER_KEY": key}


def test_configured_secrets_win(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret="x" * 40, master_key="k" * 43)
    assert local_signing_secret(settings) == "x" * 40
    assert local_master_key(settings) == "k" * 43
    assert not (tmp_path / "secrets").exists()
