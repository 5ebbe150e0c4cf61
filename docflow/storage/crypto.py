"""Per-tenant encryption at rest: envelope encryption with AES-GCM (ADR-013).

Each tenant has a data key (32 random bytes) stored in ``tenant_keys`` wrapped by the
master key (``DOCFLOW_MASTER_KEY``, AES-GCM key wrap with the tenant id as associated
data). The columns that hold what a person wrote (a project's idea and constraints,
document bodies, section drafts, quality findings, agent errors, exported ZIPs) are
``Encrypted*`` column types: a value is encrypted with the data key of the tenant whose
``tenant_session`` is open, and decrypted on the way out, so repositories, search, diff,
quality and export read plain text as before. A value without the ``dfenc1:`` prefix is
read as it is (rows written before encryption).

The master key is rotated by re-wrapping the data keys (``rewrap_data_keys``): no body is
rewritten. ``KeyRing`` knows the current master key and any previous ones, so a rotation
in progress never locks a tenant out.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator
from sqlmodel.ext.asyncio.session import AsyncSession

if TYPE_CHECKING:
    from docflow.settings import Settings

PREFIX = "dfenc1:"
BINARY_PREFIX = b"dfenc1:"
NONCE_BYTES = 12
KEY_BYTES = 32


class EncryptionError(RuntimeError):
    """A key is missing, wrong, or a value was written outside a tenant's session."""


def parse_master_key(value: str) -> bytes:
    """A master key from its base64 form (32 bytes)."""
    try:
        key = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
    except (ValueError, TypeError):
        raise EncryptionError("DOCFLOW_MASTER_KEY is not base64") from None
    if len(key) != KEY_BYTES:
        raise EncryptionError(f"DOCFLOW_MASTER_KEY must be {KEY_BYTES} bytes, base64-encoded")
    return key


def new_master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode().rstrip("=")


def key_id(master_key: bytes) -> str:
    """Which master key wrapped a data key: a short fingerprint, not the key."""
    return hashlib.sha256(b"docflow-master-key:" + master_key).hexdigest()[:16]


def _seal(key: bytes, plain: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plain, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except Exception:  # InvalidTag, or a value cut short: one plain reason
        raise EncryptionError("a value could not be decrypted with the tenant's key") from None


@dataclass(frozen=True)
class DataKey:
    """A tenant's unwrapped data key, for the duration of its sessions."""

    tenant_id: UUID
    key: bytes

    @property
    def aad(self) -> bytes:
        return self.tenant_id.bytes

    def encrypt(self, plain: bytes) -> bytes:
        return _seal(self.key, plain, self.aad)

    def decrypt(self, sealed: bytes) -> bytes:
        return _open(self.key, sealed, self.aad)


@dataclass
class KeyRing:
    """The master keys (the first one wraps new data keys) and the data keys unwrapped so
    far in this process."""

    masters: list[bytes]
    _data_keys: dict[UUID, DataKey] = field(default_factory=dict)

    def wrap(self, tenant_id: UUID, data_key: bytes) -> tuple[str, bytes]:
        master = self.masters[0]
        return key_id(master), _seal(master, data_key, tenant_id.bytes)

    def unwrap(self, tenant_id: UUID, kek_id: str, wrapped: bytes) -> bytes:
        for master in self.masters:
            if key_id(master) == kek_id:
                return _open(master, wrapped, tenant_id.bytes)
        raise EncryptionError(
            f"tenant {tenant_id}'s data key is wrapped by master key {kek_id}, which is not "
            "configured (DOCFLOW_MASTER_KEY, DOCFLOW_PREVIOUS_MASTER_KEYS)"
        )

    def known_data_key(self, tenant_id: UUID) -> DataKey | None:
        """The tenant's data key if this process has used it already, else None."""
        return self._data_keys.get(tenant_id)

    async def data_key(self, session: AsyncSession, tenant_id: UUID) -> DataKey | None:
        """The tenant's data key, made and stored on first use (race-safe); None while
        the tenant does not exist (nothing of it can be stored or read yet)."""
        known = self.known_data_key(tenant_id)
        if known is not None:
            return known
        kek_id, wrapped = self.wrap(tenant_id, os.urandom(KEY_BYTES))
        await session.exec(  # type: ignore[call-overload]
            text(
                "insert into tenant_keys (tenant_id, kek_id, wrapped_key, created_at) "
                "select :tenant, :kek, :wrapped, now() "
                "where exists (select 1 from tenants where id = :tenant) "
                "on conflict (tenant_id) do nothing"
            ).bindparams(tenant=tenant_id, kek=kek_id, wrapped=wrapped)
        )
        row = (
            await session.exec(  # type: ignore[call-overload]
                text(
                    "select kek_id, wrapped_key from tenant_keys where tenant_id = :tenant"
                ).bindparams(tenant=tenant_id)
            )
        ).first()
        if row is None:
            return None
        data_key = DataKey(tenant_id, self.unwrap(tenant_id, row[0], bytes(row[1])))
        self._data_keys[tenant_id] = data_key
        return data_key

    def rewrapped(self, tenant_id: UUID, kek_id: str, wrapped: bytes) -> tuple[str, bytes]:
        """A data key wrapped by the current master key (a rotation), the body untouched."""
        return self.wrap(tenant_id, self.unwrap(tenant_id, kek_id, wrapped))


_keyring: KeyRing | None = None
_current: contextvars.ContextVar[DataKey | None] = contextvars.ContextVar(
    "docflow_data_key", default=None
)


_configured = False


def configure(master_key: str | None, previous: list[str] | None = None) -> KeyRing | None:
    """Set this process's key ring (None: encryption off, values are stored as given)."""
    global _keyring, _configured
    if master_key is None:
        _keyring = None
    else:
        masters = [parse_master_key(master_key), *(parse_master_key(k) for k in previous or [])]
        _keyring = KeyRing(masters)
    _configured = True
    return _keyring


def keyring() -> KeyRing | None:
    """This process's key ring, from the settings (``DOCFLOW_MASTER_KEY``,
    ``DOCFLOW_PREVIOUS_MASTER_KEYS``) unless ``configure`` set one."""
    if not _configured:
        from docflow.settings import Settings  # settings import nothing of storage

        configure_from(Settings())
    return _keyring


def configure_from(settings: Settings) -> KeyRing | None:
    """The key ring of these settings; outside development a master key is required."""
    if settings.master_key is None and settings.environment != "development":
        raise EncryptionError(
            f"DOCFLOW_MASTER_KEY must be set when DOCFLOW_ENV={settings.environment!r}: "
            "documents are stored encrypted with it"
        )
    master = settings.master_key.get_secret_value() if settings.master_key else None
    return configure(master, previous_keys(settings.previous_master_keys))


def previous_keys(setting: str) -> list[str]:
    """``DOCFLOW_PREVIOUS_MASTER_KEYS``: comma-separated master keys."""
    return [key.strip() for key in setting.split(",") if key.strip()]


@contextmanager
def tenant_data_key(data_key: DataKey | None) -> Iterator[None]:
    """Encrypt and decrypt with ``data_key`` inside this block (``tenant_session``)."""
    token = _current.set(data_key)
    try:
        yield
    finally:
        _current.reset(token)


def _key_for_writing() -> DataKey | None:
    data_key = _current.get()
    if data_key is None and _keyring is not None:
        raise EncryptionError("an encrypted column was written outside a tenant session")
    return data_key


def _key_for_reading() -> DataKey:
    data_key = _current.get()
    if data_key is None:
        raise EncryptionError(
            "an encrypted value was read outside a tenant session or without DOCFLOW_MASTER_KEY"
        )
    return data_key


def encrypt_text(value: str) -> str:
    data_key = _key_for_writing()
    if data_key is None:
        return value
    return PREFIX + base64.b64encode(data_key.encrypt(value.encode())).decode()


def decrypt_text(value: str) -> str:
    if not value.startswith(PREFIX):
        return value  # written before encryption was on
    return _key_for_reading().decrypt(base64.b64decode(value[len(PREFIX) :])).decode()


class EncryptedText(TypeDecorator[str]):
    """A text column encrypted with the session's tenant data key."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else decrypt_text(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value, stored as encrypted text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else encrypt_text(json.dumps(value, ensure_ascii=False))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(decrypt_text(value))


class EncryptedBytes(TypeDecorator[bytes]):
    """A binary column (an exported ZIP) encrypted with the session's tenant data key."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        data_key = _key_for_writing()
        return value if data_key is None else BINARY_PREFIX + data_key.encrypt(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        value = bytes(value)
        if not value.startswith(BINARY_PREFIX):
            return value
        return _key_for_reading().decrypt(value[len(BINARY_PREFIX) :])


async def rewrap_data_keys(admin_engine: AsyncEngine, ring: KeyRing) -> tuple[int, int]:
    """Every tenant's data key wrapped by the current master key: (re-wrapped, already
    current). Runs as the schema owner, which sees every row of ``tenant_keys``; bodies
    are not touched, and a key whose master key is unknown stops it with a clear error."""
    current = key_id(ring.masters[0])
    changed = unchanged = 0
    async with admin_engine.begin() as connection:
        rows = (
            await connection.execute(
                text("select tenant_id, kek_id, wrapped_key from tenant_keys for update")
            )
        ).all()
        for tenant_id, kek_id, wrapped in rows:
            if kek_id == current:
                unchanged += 1
                continue
            new_kek, new_wrapped = ring.rewrapped(tenant_id, kek_id, bytes(wrapped))
            await connection.execute(
                text(
                    "update tenant_keys set kek_id = :kek, wrapped_key = :wrapped "
                    "where tenant_id = :tenant"
                ).bindparams(kek=new_kek, wrapped=new_wrapped, tenant=tenant_id)
            )
            changed += 1
    return changed, unchanged
