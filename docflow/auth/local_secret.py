"""The signing secret of a ``docflow dev`` stack: random, made once, kept in the data folder.

The placeholder default of ``DOCFLOW_JWT_SECRET`` is published in the source, so a server
that trusted it would accept an owner token anyone can mint. ``docflow dev`` therefore
never uses it: unless a secret is configured, it generates 32 random bytes on first start
into ``<data dir>/secrets/jwt-secret`` (mode 0600, linked into place atomically) and hands them to
the API and worker it starts, so tokens survive a restart of the stack.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from docflow.auth.tokens import PLACEHOLDER_SECRET
from docflow.settings import Settings

SECRET_FILE = Path("secrets") / "jwt-secret"


def secret_path(settings: Settings) -> Path:
    return settings.data_dir / SECRET_FILE


def local_signing_secret(settings: Settings) -> str:
    """The configured secret, or the data folder's own (created on first use)."""
    if settings.jwt_secret != PLACEHOLDER_SECRET:
        return settings.jwt_secret
    path = secret_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)  # atomic: two first starts agree on one secret
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
