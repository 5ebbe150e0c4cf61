"""The Temporal connection as operators configure it: mTLS through the standard TEMPORAL_TLS_*
variables against a TLS endpoint that demands a client certificate (a TLS-terminating
proxy in front of the embedded server, as a load balancer or Temporal Cloud's front door
is), API keys, config-file profiles, and `docflow temporal setup` on a fresh namespace."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from docflow import temporal
from docflow.embedded import StackEndpoints
from docflow.settings import Settings
from tests.servers import free_port
from workflows import search_attributes

SERVER_NAME = "temporal.docflow.test"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey]
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer[0]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, the server's certificate for SERVER_NAME and a client certificate."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        _certificate("docflow test CA", ca_key, ("docflow test CA", ca_key))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write(folder / "ca", ca_key, ca)
    for name, usage in (("server", "server"), ("client", "client")):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = _certificate(f"docflow {name}", key, ("docflow test CA", ca_key))
        if usage == "server":
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False
            )
        _write(folder / name, key, builder.sign(ca_key, hashes.SHA256()))
    return folder


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def mtls_proxy(upstream: str, certificates: Path) -> AsyncIterator[tuple[str, list[str]]]:
    """A TLS endpoint (HTTP/2 by ALPN, client certificate required) in front of the plain
    embedded server; yields its address and the subjects of the clients it admitted."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "server.pem", certificates / "server.key")
    context.load_verify_locations(certificates / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    host, port = upstream.rsplit(":", 1)
    admitted: list[str] = []

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        admitted.extend(value for rdn in peer.get("subject", ()) for _, value in rdn)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    listen = free_port()
    server = await asyncio.start_server(forward, "127.0.0.1", listen, ssl=context)
    try:
        yield f"127.0.0.1:{listen}", admitted
    finally:
        server.close()


@pytest.fixture
def clean_temporal_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No TEMPORAL_* variable or config file but the ones a test sets."""
    import os

    for name in [name for name in os.environ if name.startswith("TEMPORAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "absent.toml"))
    yield


def _tls_env(monkeypatch: pytest.MonkeyPatch, certificates: Path, client: bool) -> None:
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(certificates / "ca.pem"))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", SERVER_NAME)
    if client:
        monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(certificates / "client.pem"))
        monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(certificates / "client.key"))


@pytest.fixture
async def proxy(
    stack: StackEndpoints, certificates: Path, clean_temporal_env: None
) -> AsyncIterator[tuple[str, list[str]]]:
    async with mtls_proxy(stack.temporal_address, certificates) as (address, admitted):
        yield address, admitted


async def test_mtls_from_the_standard_variables(
    proxy: tuple[str, list[str]],
    base_settings: Settings,
    certificates: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    address, admitted = proxy
    monkeypatch.setenv("TEMPORAL_ADDRESS", address)
    settings = base_settings.model_copy(update={"temporal_address": None})
    _tls_env(monkeypatch, certificates, client=True)
    client = await temporal.connect(settings)
    listed = await client.count_workflows("WorkflowType = 'ProjectFlow'")
    assert listed.count >= 0
    assert "docflow client" in admitted


async def test_without_a_client_certificate_the_connection_is_refused(
    proxy: tuple[str, list[str]],
    base_settings: Settings,
    certificates: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    address, admitted = proxy
    settings = base_settings.model_copy(update={"temporal_address": address})
    _tls_env(monkeypatch, certificates, client=False)
    with pytest.raises(RuntimeError):
        async with asyncio.timeout(30):
            await temporal.connect(settings)
    assert admitted == []


def test_a_missing_certificate_file_fails_before_connecting(
    base_settings: Settings, clean_temporal_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", "/nonexistent/client.pem")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", "/nonexistent/client.key")
    with pytest.raises(FileNotFoundError):
        temporal.connect_config(base_settings)


def test_an_api_key_turns_tls_on_and_a_profile_file_is_read(
    base_settings: Settings,
    clean_temporal_env: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    profiles = tmp_path / "temporal.toml"
    profiles.write_text(
        '[profile.cloud]\naddress = "docflow.a1b2c.tmprl.cloud:7233"\n'
        'namespace = "docflow.a1b2c"\napi_key = "from-the-file"\n'
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(profiles))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    plain = base_settings.model_copy(update={"temporal_address": None})
    config = temporal.connect_config(plain)
    assert config["target_host"] == "docflow.a1b2c.tmprl.cloud:7233"
    assert config["namespace"] == "docflow.a1b2c"
    assert config["api_key"] == "from-the-file"
    assert config["tls"] is True
    monkeypatch.setenv("TEMPORAL_API_KEY", "from-the-environment")
    assert temporal.connect_config(plain)["api_key"] == "from-the-environment"
    # docflow's own address (the embedded server's, in tests) wins over the profile's
    assert temporal.connect_config(base_settings)["target_host"] == base_settings.temporal_address


async def test_setup_registers_the_namespace_and_search_attributes_once(
    base_settings: Settings, clean_temporal_env: None
) -> None:
    namespace = f"setup-{uuid4().hex[:8]}"
    fresh = await temporal.connect(
        base_settings.model_copy(update={"temporal_namespace": namespace})
    )
    assert await temporal.ensure_namespace(fresh) is True
    assert await temporal.ensure_namespace(fresh) is False
    names = sorted(key.name for key in search_attributes.ALL)
    assert await temporal.register_search_attributes(fresh) == names
    assert await temporal.register_search_attributes(fresh) == []  # idempotent


def test_an_empty_api_key_is_no_api_key(
    base_settings: Settings, clean_temporal_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_API_KEY", "")
    config = temporal.connect_config(base_settings)
    assert "api_key" not in config
    assert "tls" not in config
