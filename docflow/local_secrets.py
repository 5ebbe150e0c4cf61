"""Secrets of a ``docflow dev`` / ``docflow demo`` stack: random, made once, kept in the data
folder, never the published placeholders.

- The token signing secret: the placeholder default of ``DOCFLOW_JWT_SECRET`` is published
  in the source, so a server that trusted it would accept an owner token anyone can mint.
  Unless a secret is configured, 32 random bytes are made on first start into
  ``<data dir>/secrets/jwt-secret`` and handed to the API and worker.
- The master key of encryption at rest (``docflow.storage.crypto``): unless
  ``DOCFLOW_MASTER_KEY`` is set, one is made into ``<data dir>/secrets/master-key``.

Files are mode 0600 in a 0700 folder, linked into place atomically, so two first starts
agree on one value and tokens and documents survive a restart of the stack.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from docflow.auth.tokens import PLACEHOLDER_SECRET
from docflow.settings import Settings
from docflow.storage.crypto import new_master_key

SECRETS_DIR = Path("secrets")
JWT_SECRET_FILE = SECRETS_DIR / "jwt-secret"
MASTER_KEY_FILE = SECRETS_DIR / "master-key"


def kept_secret(path: Path, make: Callable[[], str]) -> str:
    """The secret in ``path``, made with ``make`` on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(make())
        try:
            os.link(draft, path)  # atomic: two first starts agree on one secret
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def local_signing_secret(settings: Settings) -> str:
    """The configured signing secret, or the data folder's own."""
    if settings.jwt_secret.get_secret_value() != PLACEHOLDER_SECRET:
        return settings.jwt_secret.get_secret_value()
    return kept_secret(settings.data_dir / JWT_SECRET_FILE, lambda: secrets.token_urlsafe(32))


def local_master_key(settings: Settings) -> str:
    """The configured master key, or the data folder's own."""
    if settings.master_key is not None:
        return settings.master_key.get_secret_value()
    return kept_secret(settings.data_dir / MASTER_KEY_FILE, new_master_key)


def local_secrets_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a stack's processes its secrets."""
    return {
        "DOCFLOW_JWT_SECRET": local_signing_secret(settings),
        "DOCFLOW_MASTER_KEY": local_master_key(settings),
    }
