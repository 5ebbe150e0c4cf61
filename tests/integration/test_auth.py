"""Auth against the real stack over real HTTP: password grant, token attacks, RBAC on
members, tenant isolation, an external IdP through a JWKS served locally, and the admin CLI.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.login_throttle import (
    ACCOUNT_FAILURES_PER_HOUR,
    FREE_FAILURES,
    MAX_WAIT_S,
    LoginThrottle,
    wait_after,
)
from api.membership import MEMBERSHIP_TTL_S
from api.state import AppState
from docflow import admin
from docflow.auth.tokens import check_auth_settings, issue_access_token
from docflow.embedded import StackEndpoints
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.models import Tenant
from tests.conftest import bearer
from tests.flow_helpers import run_sql

PASSWORD = "a long enough password"
MEMBERS = "/api/v1/members"
TOKEN = "/api/v1/auth/token"
REVOKE = "/api/v1/auth/revoke"
ISSUER = "https://idp.example.test/"  # the external IdP of the JWKS tests
AUDIENCE = "docflow-external"


# --- helpers ------------------------------------------------------------------------------


def new_email() -> str:
    return f"user-{uuid4().hex[:10]}@example.com"


async def add_user(
    engine: AsyncEngine, tenant_id: UUID, role: str, email: str = "", password: str = PASSWORD
) -> tuple[UUID, str]:
    """A user (created when new) with ``role`` in the tenant: (user id, email)."""
    email = email or new_email()
    return await admin.add_member(engine, tenant_id, email, password, role), email


async def new_tenant(engine: AsyncEngine) -> Tenant:
    slug = f"t-{uuid4().hex[:10]}"
    return await admin.ensure_tenant(engine, slug, f"Tenant {slug}")


async def sign_in(
    http: httpx.AsyncClient, tenant: str, email: str, password: str = PASSWORD
) -> httpx.Response:
    form = {"grant_type": "password", "username": email, "password": password, "tenant": tenant}
    return await http.post(TOKEN, data=form)


async def token_of(http: httpx.AsyncClient, tenant: str, email: str) -> dict[str, str]:
    answer = await sign_in(http, tenant, email)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value).encode())


def unb64json(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    return loaded


def built_in_claims(settings: Settings, tenant_id: UUID, **changes: object) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": f"user-{uuid4().hex[:8]}",
        "tenant_id": str(tenant_id),
        "role": "owner",
        "iat": now,
        "exp": now + 300,
    }
    return {**claims, **changes}


# --- password grant -----------------------------------------------------------------------


async def test_password_grant_then_list_members(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant, api_settings: Settings
) -> None:
    user_id, email = await add_user(engine, tenant.id, "owner")
    answer = await sign_in(http, tenant.slug, email.upper())  # emails match case-insensitively

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == api_settings.access_token_ttl_s
    assert (body["tenant_id"], body["role"]) == (str(tenant.id), "owner")

    members = await http.get(MEMBERS, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert members.status_code == 200, members.text
    assert members.json() == [{"user_id": str(user_id), "email": email, "role": "owner"}]


async def test_tenant_as_client_id_in_body_or_basic_auth(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant
) -> None:
    _, email = await add_user(engine, tenant.id, "viewer")
    form = {"grant_type": "password", "username": email, "password": PASSWORD}
    in_body = await http.post(TOKEN, data={**form, "client_id": tenant.slug})
    as_basic = await http.post(TOKEN, data=form, auth=(tenant.slug, ""))
    for answer in (in_body, as_basic):
        assert answer.status_code == 200, answer.text
        assert answer.json()["role"] == "viewer"


async def test_failed_sign_ins_all_look_alike(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant
) -> None:
    _, email = await add_user(engine, tenant.id, "editor")
    other = await new_tenant(engine)  # exists, but the user is not a member of it
    attempts = {
        "wrong password": (tenant.slug, email, PASSWORD + "x"),
        "unknown user": (tenant.slug, new_email(), PASSWORD),
        "not an email": (tenant.slug, "nobody", PASSWORD),
        "unknown tenant": (f"t-{uuid4().hex[:10]}", email, PASSWORD),
        "no membership": (other.slug, email, PASSWORD),
    }
    expected = {"error": "invalid_grant", "error_description": "wrong username, password or tenant"}
    for name, (slug, username, password) in attempts.items():
        answer = await sign_in(http, slug, username, password)
        assert answer.status_code == 400, name
        assert answer.json() == expected, name
        assert answer.headers["cache-control"] == "no-store", name


async def test_grant_type_and_missing_fields(http: httpx.AsyncClient, tenant: Tenant) -> None:
    form = {"username": new_email(), "password": PASSWORD, "tenant": tenant.slug}
    unsupported = await http.post(TOKEN, data={**form, "grant_type": "client_credentials"})
    assert unsupported.status_code == 400
    assert unsupported.json()["error"] == "unsupported_grant_type"
    for incomplete in ({**form}, {"grant_type": "password", "username": "a@b.cd"}):
        answer = await http.post(TOKEN, data=incomplete)
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_request"
    as_json = await http.post(TOKEN, json={**form, "grant_type": "password"})
    assert as_json.status_code == 400  # RFC 6749: form-encoded only
    assert as_json.json()["error"] == "invalid_request"


# --- token attacks ------------------------------------------------------------------------


def _alg_none(settings: Settings, tenant_id: UUID) -> str:
    header = {"alg": "none", "typ": "JWT"}
    return f"{b64json(header)}.{b64json(built_in_claims(settings, tenant_id))}."


def _wrong_key(settings: Settings, tenant_id: UUID) -> str:
    key = OctKey.import_key(b"another-secret-that-is-long-enough-0123456789")
    return jwt.encode({"alg": "HS256"}, built_in_claims(settings, tenant_id), key)


def _expired(settings: Settings, tenant_id: UUID) -> str:
    token, _ = issue_access_token(
        settings, subject="someone", tenant_id=tenant_id, role="owner", ttl_s=-5
    )
    return token


def _other(settings: Settings, tenant_id: UUID, **changes: str) -> str:
    token, _ = issue_access_token(
        settings.model_copy(update=changes), subject="someone", tenant_id=tenant_id, role="owner"
    )
    return token


def _tenant_swapped(settings: Settings, tenant_id: UUID) -> str:
    token, _ = issue_access_token(settings, subject="someone", tenant_id=tenant_id, role="owner")
    header, payload, signature = token.split(".")
    claims = {**unb64json(payload), "tenant_id": str(uuid4())}
    return f"{header}.{b64json(claims)}.{signature}"


def _role_escalated(settings: Settings, tenant_id: UUID) -> str:
    token, _ = issue_access_token(settings, subject="someone", tenant_id=tenant_id, role="viewer")
    header, payload, signature = token.split(".")
    return f"{header}.{b64json({**unb64json(payload), 'role': 'owner'})}.{signature}"


def _rs256_header_hmac_signed(settings: Settings, tenant_id: UUID) -> str:
    """Algorithm confusion: claim RS256 but sign with the shared secret."""
    token = _other(settings, tenant_id)
    _, payload, signature = token.split(".")
    return f"{b64json({'alg': 'RS256', 'typ': 'JWT'})}.{payload}.{signature}"


ATTACKS: dict[str, Callable[[Settings, UUID], str]] = {
    "alg none": _alg_none,
    "wrong key": _wrong_key,
    "expired": _expired,
    "wrong audience": lambda s, t: _other(s, t, jwt_audience="someone-else"),
    "wrong issuer": lambda s, t: _other(s, t, jwt_issuer="https://evil.example"),
    "tenant swapped": _tenant_swapped,
    "role escalated": _role_escalated,
    "RS256 header, HMAC signature": _rs256_header_hmac_signed,
    "garbage": lambda s, t: "not-a-token",
    "three garbage parts": lambda s, t: "a.b.c",
    "empty parts": lambda s, t: "..",
}


async def test_valid_built_in_token_is_the_control(
    http: httpx.AsyncClient, tenant: Tenant, api_settings: Settings
) -> None:
    answer = await http.get(MEMBERS, headers=bearer(api_settings, tenant.id, "viewer"))
    assert answer.status_code == 200, answer.text


async def test_no_token_is_401(http: httpx.AsyncClient) -> None:
    answer = await http.get(MEMBERS)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_token_attacks_are_401(
    http: httpx.AsyncClient, tenant: Tenant, api_settings: Settings, attack: str
) -> None:
    token = ATTACKS[attack](api_settings, tenant.id)
    answer = await http.get(MEMBERS, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401, answer.text


# --- members: RBAC and tenant isolation --------------------------------------------------


async def test_viewer_and_editor_cannot_add_members_owner_can(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant, api_settings: Settings
) -> None:
    body = {"email": new_email(), "role": "editor", "password": PASSWORD}
    for role in ("viewer", "editor"):
        refused = await http.post(MEMBERS, json=body, headers=bearer(api_settings, tenant.id, role))
        assert refused.status_code == 403, role
    _, owner_email = await add_user(engine, tenant.id, "owner")
    owner = await token_of(http, tenant.slug, owner_email)

    added = await http.post(MEMBERS, json={**body, "email": body["email"].upper()}, headers=owner)
    assert added.status_code == 201, added.text
    assert added.json()["email"] == body["email"]
    assert added.json()["role"] == "editor"
    again = await http.post(MEMBERS, json={"email": body["email"], "role": "viewer"}, headers=owner)
    assert again.status_code == 409
    signed_in = await sign_in(http, tenant.slug, body["email"])
    assert signed_in.json()["role"] == "editor"  # the new user can sign in at once


async def test_add_member_input_checks(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant, api_settings: Settings
) -> None:
    owner = bearer(api_settings, tenant.id, "owner")
    email = new_email()
    refused = {
        "no password for a new user": {"email": email, "role": "viewer"},
        "short password": {"email": email, "role": "viewer", "password": "short"},
        "bad role": {"email": email, "role": "admin", "password": PASSWORD},
        "bad email": {"email": "not-an-email", "role": "viewer", "password": PASSWORD},
        "unknown field": {"email": email, "role": "viewer", "password": PASSWORD, "x": 1},
        "tenant in body": {"email": email, "role": "viewer", "tenant_id": str(uuid4())},
    }
    for name, body in refused.items():
        answer = await http.post(MEMBERS, json=body, headers=owner)
        assert answer.status_code == 422, (name, answer.text)
    members = await http.get(MEMBERS, headers=owner)
    assert len(members.json()) == 1  # the caller alone: nothing half-written


async def test_existing_user_joins_without_password_and_keeps_it(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant, api_settings: Settings
) -> None:
    elsewhere = await new_tenant(engine)
    _, email = await add_user(engine, elsewhere.id, "owner")
    owner = bearer(api_settings, tenant.id, "owner")
    takeover = {"email": email, "role": "viewer", "password": "attacker-chosen-password"}
    assert (await http.post(MEMBERS, json=takeover, headers=owner)).status_code == 409
    joined = await http.post(MEMBERS, json={"email": email, "role": "viewer"}, headers=owner)
    assert joined.status_code == 201, joined.text
    assert (await sign_in(http, tenant.slug, email)).status_code == 200  # old password
    wrong = await sign_in(http, tenant.slug, email, "attacker-chosen-password")
    assert wrong.status_code == 400


async def test_other_tenants_owner_gets_404_deleting_our_member(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant, api_settings: Settings
) -> None:
    member_id, member_email = await add_user(engine, tenant.id, "editor")
    other = await new_tenant(engine)
    _, other_email = await add_user(engine, other.id, "owner")
    intruder = await token_of(http, other.slug, other_email)

    deleted = await http.delete(f"{MEMBERS}/{member_id}", headers=intruder)
    assert deleted.status_code == 404
    listed = await http.get(MEMBERS, headers=intruder)
    assert [m["email"] for m in listed.json()] == [other_email]
    ours = await http.get(MEMBERS, headers=bearer(api_settings, tenant.id, "viewer"))
    assert member_email in [m["email"] for m in ours.json()]  # still there


async def test_remove_members_but_never_the_last_owner(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant
) -> None:
    owner_id, owner_email = await add_user(engine, tenant.id, "owner")
    editor_id, _ = await add_user(engine, tenant.id, "editor")
    owner = await token_of(http, tenant.slug, owner_email)

    assert (await http.delete(f"{MEMBERS}/{editor_id}", headers=owner)).status_code == 204
    assert (await http.delete(f"{MEMBERS}/{editor_id}", headers=owner)).status_code == 404
    last = await http.delete(f"{MEMBERS}/{owner_id}", headers=owner)
    assert last.status_code == 409
    assert "last owner" in last.json()["detail"]
    second_id, second_email = await add_user(engine, tenant.id, "owner")
    assert (await http.delete(f"{MEMBERS}/{owner_id}", headers=owner)).status_code == 204
    listed = await http.get(MEMBERS, headers=await token_of(http, tenant.slug, second_email))
    assert [m["user_id"] for m in listed.json()] == [str(second_id)]
    assert (await sign_in(http, tenant.slug, owner_email)).status_code == 400


async def test_a_removed_member_loses_access_at_once_and_a_demoted_one_their_rights(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant
) -> None:
    owner_id, owner_email = await add_user(engine, tenant.id, "owner")
    editor_id, editor_email = await add_user(engine, tenant.id, "editor")
    owner = await token_of(http, tenant.slug, owner_email)
    editor = await token_of(http, tenant.slug, editor_email)
    assert (await http.get(MEMBERS, headers=editor)).status_code == 200

    assert (await http.delete(f"{MEMBERS}/{editor_id}", headers=owner)).status_code == 204
    refused = await http.get(MEMBERS, headers=editor)  # its token has 15 minutes to live
    assert refused.status_code == 401
    assert "membership of this tenant has ended" in refused.json()["detail"]

    # Demoted behind the API's back (the CLI, another replica): the lower role applies
    # once the membership is read again, within MEMBERSHIP_TTL_S.
    async with tenant_session(engine, tenant.id) as session:
        await run_sql(
            session, "update memberships set role = 'viewer' where user_id = :u", u=owner_id
        )
    body = {"email": "x@example.com", "role": "viewer"}
    async with asyncio.timeout(MEMBERSHIP_TTL_S + 5):
        while True:
            if (await http.post(MEMBERS, json=body, headers=owner)).status_code == 403:
                break
            await asyncio.sleep(0.5)


async def _refresh(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": token})


async def test_a_refresh_token_renews_once_and_sign_out_ends_it(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant
) -> None:
    _, email = await add_user(engine, tenant.id, "editor")
    first = (await sign_in(http, tenant.slug, email)).json()
    assert first["refresh_expires_in"] > first["expires_in"]
    renewed = await _refresh(http, first["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    pair = renewed.json()
    assert pair["role"] == "editor" and pair["refresh_token"] != first["refresh_token"]
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert (await http.get(MEMBERS, headers=headers)).status_code == 200
    used_again = await _refresh(http, first["refresh_token"])  # single use: a copy is refused
    assert used_again.status_code == 400 and used_again.json()["error"] == "invalid_grant"
    revoked = await http.post(REVOKE, data={"token": pair["refresh_token"]})
    assert revoked.status_code == 200
    ended = await _refresh(http, pair["refresh_token"])
    assert ended.json()["error_description"] == "the session has ended: sign in again"
    for missing in ({}, {"refresh_token": ""}, {"refresh_token": "x\x00"}):
        answer = await http.post(TOKEN, data={"grant_type": "refresh_token", **missing})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


async def test_a_refresh_reads_the_membership_again(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant
) -> None:
    _, owner_email = await add_user(engine, tenant.id, "owner")
    editor_id, editor_email = await add_user(engine, tenant.id, "editor")
    owner = await token_of(http, tenant.slug, owner_email)
    editor = (await sign_in(http, tenant.slug, editor_email)).json()
    async with tenant_session(engine, tenant.id) as session:
        await run_sql(
            session, "update memberships set role = 'viewer' where user_id = :u", u=editor_id
        )
    demoted = (await _refresh(http, editor["refresh_token"])).json()
    assert demoted["role"] == "viewer"
    assert (await http.delete(f"{MEMBERS}/{editor_id}", headers=owner)).status_code == 204
    removed = await _refresh(http, demoted["refresh_token"])
    assert removed.status_code == 400 and removed.json()["error"] == "invalid_grant"


async def test_two_owners_removing_each_other_leave_one(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant, api_settings: Settings
) -> None:
    first, first_email = await add_user(engine, tenant.id, "owner")
    second, second_email = await add_user(engine, tenant.id, "owner")
    by_first = await token_of(http, tenant.slug, first_email)
    by_second = await token_of(http, tenant.slug, second_email)
    answers = await asyncio.gather(
        http.delete(f"{MEMBERS}/{second}", headers=by_first),
        http.delete(f"{MEMBERS}/{first}", headers=by_second),
    )
    # One wins; the loser is the last owner (409), or already no member at all (401).
    codes = sorted(answer.status_code for answer in answers)
    assert codes[0] == 204 and codes[1] in (401, 409), codes
    viewer = bearer(api_settings, tenant.id, "viewer")
    owners = [m for m in (await http.get(MEMBERS, headers=viewer)).json() if m["role"] == "owner"]
    assert len(owners) == 1


# --- start-up refusal ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"environment": "production"}, "DOCFLOW_JWT_SECRET"),
        ({"environment": "staging", "jwt_secret": SecretStr("x" * 31)}, "at least 32 bytes"),
        ({"oidc_jwks_url": "http://127.0.0.1:1/jwks"}, "DOCFLOW_OIDC_ISSUER"),
        (
            {
                "environment": "production",
                "jwt_secret": SecretStr("s" * 32),
                "oidc_jwks_url": "http://idp.example/jwks",
                "oidc_issuer": ISSUER,
                "oidc_audience": AUDIENCE,
            },
            "https://",
        ),
    ],
)
def test_unsafe_auth_settings_are_refused(
    base_settings: Settings, changes: dict[str, str], message: str
) -> None:
    with pytest.raises(RuntimeError, match=message):
        check_auth_settings(base_settings.model_copy(update=changes))


def test_safe_auth_settings_pass(base_settings: Settings) -> None:
    check_auth_settings(base_settings)  # development may use the placeholder
    production = {"environment": "production", "jwt_secret": SecretStr("s" * 32)}
    check_auth_settings(base_settings.model_copy(update=production))


async def test_app_refuses_to_start_with_the_placeholder_secret(base_settings: Settings) -> None:
    app = create_app(base_settings.model_copy(update={"environment": "production"}))
    with pytest.raises(RuntimeError, match="DOCFLOW_JWT_SECRET"):
        async with app.router.lifespan_context(app):
            pass


# --- external IdP through a JWKS ----------------------------------------------------------


class JwksServer:
    """A JWKS document on http://127.0.0.1:<free port>/jwks.json, served from a thread."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.fetches = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/jwks.json"

    def publish(self, *keys: RSAKey | ECKey) -> None:
        self.document = dict(KeySet(list(keys)).as_dict(private=False))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


@pytest.fixture
async def idp_app(api_settings: Settings, jwks_server: JwksServer) -> AsyncIterator[FastAPI]:
    """An app that also trusts the IdP, its lifespan run for real."""
    oidc = {"oidc_issuer": ISSUER, "oidc_audience": AUDIENCE, "oidc_jwks_url": jwks_server.url}
    app = create_app(api_settings.model_copy(update=oidc))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def idp_http(idp_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=idp_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://docflow") as client:
        yield client


def idp_claims(tenant: UUID, **changes: object) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": [AUDIENCE, "another-api"],
        "sub": "idp|12345",
        "tenant_id": str(tenant),
        "role": "viewer",
        "iat": now,
        "exp": now + 300,
    }
    return {**claims, **changes}


def idp_token(key: RSAKey | ECKey, alg: str, tenant: UUID, **changes: object) -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, idp_claims(tenant, **changes), key)


def hmac_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})


async def test_idp_tokens_accepted_built_in_still_works(
    idp_http: httpx.AsyncClient,
    jwks_server: JwksServer,
    rsa_key: RSAKey,
    tenant: Tenant,
    api_settings: Settings,
) -> None:
    ec_key = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
    jwks_server.publish(rsa_key, ec_key)

    for token in (idp_token(rsa_key, "RS256", tenant.id), idp_token(ec_key, "ES256", tenant.id)):
        answer = await idp_http.get(MEMBERS, headers=auth(token))
        assert answer.status_code == 200, answer.text
    refused = await idp_http.post(
        MEMBERS, json={"email": new_email(), "role": "viewer"}, headers=auth(token)
    )
    assert refused.status_code == 403  # the IdP's role claim counts
    built_in = await idp_http.get(MEMBERS, headers=bearer(api_settings, tenant.id, "viewer"))
    assert built_in.status_code == 200
    assert jwks_server.fetches == 1  # cached


async def test_idp_token_forgeries_are_401(
    idp_http: httpx.AsyncClient, jwks_server: JwksServer, rsa_key: RSAKey, tenant: Tenant
) -> None:
    jwks_server.publish(rsa_key)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})  # same kid, other key
    unknown = RSAKey.generate_key(2048, parameters={"kid": "rsa-unknown"})
    public_pem = rsa_key.as_pem(private=False)
    forgeries = {
        "unknown kid": idp_token(unknown, "RS256", tenant.id),
        "wrong issuer": idp_token(rsa_key, "RS256", tenant.id, iss="https://evil.example/"),
        "wrong audience": idp_token(rsa_key, "RS256", tenant.id, aud="another-api"),
        "expired": idp_token(rsa_key, "RS256", tenant.id, exp=int(time.time()) - 120),
        "signed by another key": idp_token(stranger, "RS256", tenant.id),
        "no tenant": idp_token(rsa_key, "RS256", tenant.id, tenant_id=None),
        "bad role": idp_token(rsa_key, "RS256", tenant.id, role="admin"),
        "HS256 with the public key": hmac_signed(
            {"alg": "HS256", "kid": "rsa-1"}, idp_claims(tenant.id), public_pem
        ),
        "alg none with a kid": f"{b64json({'alg': 'none', 'kid': 'rsa-1'})}."
        f"{b64json(idp_claims(tenant.id))}.",
    }
    for name, token in forgeries.items():
        answer = await idp_http.get(MEMBERS, headers=auth(token))
        assert answer.status_code == 401, (name, answer.text)
    for _ in range(3):  # more unknown kids: no refetch within the cooldown
        assert (
            await idp_http.get(MEMBERS, headers=auth(forgeries["unknown kid"]))
        ).status_code == 401
    assert jwks_server.fetches == 1


async def test_jwks_refetched_once_on_rotated_key(
    idp_app: FastAPI,
    idp_http: httpx.AsyncClient,
    jwks_server: JwksServer,
    rsa_key: RSAKey,
    tenant: Tenant,
) -> None:
    jwks_server.publish(rsa_key)
    first = await idp_http.get(MEMBERS, headers=auth(idp_token(rsa_key, "RS256", tenant.id)))
    assert first.status_code == 200, first.text
    state: AppState = idp_app.state.docflow
    assert state.external_issuer is not None
    state.external_issuer.jwks.refetch_cooldown_s = 0  # let the rotation through at once

    rotated = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"})
    jwks_server.publish(rsa_key, rotated)
    answer = await idp_http.get(MEMBERS, headers=auth(idp_token(rotated, "RS256", tenant.id)))
    assert answer.status_code == 200, answer.text
    assert jwks_server.fetches == 2


# --- admin CLI ----------------------------------------------------------------------------


async def run_admin(
    stack: StackEndpoints, *arguments: str, stdin: str = "", password_env: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DOCFLOW_ADMIN_PASSWORD"}
    env.update({"DATABASE_URL": stack.database_url, "COLUMNS": "200"})
    if password_env is not None:
        env["DOCFLOW_ADMIN_PASSWORD"] = password_env
    command = [sys.executable, "-m", "docflow", "admin", *arguments]
    return await asyncio.to_thread(
        subprocess.run, command, input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


async def test_cli_creates_tenant_and_users_who_can_sign_in(
    http: httpx.AsyncClient, stack: StackEndpoints
) -> None:
    slug, owner, viewer = f"cli-{uuid4().hex[:8]}", new_email(), new_email()
    created = await run_admin(stack, "create-tenant", "--slug", slug, "--name", "CLI Team")
    assert created.returncode == 0, created.stderr
    assert f"created tenant {slug}" in created.stdout
    again = await run_admin(stack, "create-tenant", "--slug", slug, "--name", "CLI Team")
    assert again.returncode == 0 and "already exists" in again.stdout

    user_args = ("create-user", "--tenant", slug, "--email")
    by_stdin = await run_admin(
        stack, *user_args, owner, "--role", "owner", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert by_stdin.returncode == 0, by_stdin.stderr
    assert f"created user {owner}" in by_stdin.stdout
    by_env = await run_admin(stack, *user_args, viewer, "--role", "viewer", password_env=PASSWORD)
    assert by_env.returncode == 0, by_env.stderr

    for email, role in ((owner, "owner"), (viewer, "viewer")):
        answer = await sign_in(http, slug, email)
        assert answer.status_code == 200, answer.text
        assert answer.json()["role"] == role


async def test_cli_refuses_bad_input_with_exit_2(stack: StackEndpoints, tenant: Tenant) -> None:
    user_args = ("create-user", "--tenant", tenant.slug, "--email", new_email())
    cases = {
        "unknown tenant": (
            (
                "create-user",
                "--tenant",
                "no-such-tenant",
                "--email",
                new_email(),
                "--role",
                "owner",
            ),
            PASSWORD,
        ),
        "bad role": ((*user_args, "--role", "admin"), PASSWORD),
        "short password": ((*user_args, "--role", "owner"), "short"),
        "no password": ((*user_args, "--role", "owner"), None),
        "password in argv": ((*user_args, "--role", "owner", "--password", PASSWORD), None),
        "not a slug": (("create-tenant", "--slug", "My Team", "--name", "x"), None),
        "bad email": (
            ("create-user", "--tenant", tenant.slug, "--email", "x", "--role", "owner"),
            PASSWORD,
        ),
    }
    for name, (arguments, password) in cases.items():
        result = await run_admin(stack, *arguments, password_env=password)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert result.stderr.strip(), name  # a message, not silence
        assert "Traceback" not in result.stderr, name


# --- per-account throttling ---------------------------------------------------------------


async def test_wrong_passwords_slow_that_address_down_but_not_the_person_elsewhere(
    http: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant, stack: StackEndpoints
) -> None:
    _, email = await add_user(engine, tenant.id, "viewer")
    for _ in range(FREE_FAILURES):
        assert (await sign_in(http, tenant.slug, email, "wrong password!")).status_code == 400
    waiting = await sign_in(http, tenant.slug, email)  # even the right password waits
    assert waiting.status_code == 429, waiting.text
    assert int(waiting.headers["retry-after"]) >= 1
    assert "wrong passwords from this address" in waiting.json()["detail"]

    redis = Redis.from_url(stack.redis_url)
    try:
        throttle = LoginThrottle(redis)
        elsewhere = "203.0.113.9"  # the person, from their own address: not slowed
        assert await throttle.check(tenant.id, email, elsewhere) is None
        await throttle.succeeded(tenant.id, email, elsewhere)
        for _ in range(ACCOUNT_FAILURES_PER_HOUR):  # a campaign over many addresses
            await throttle.failed(tenant.id, email, f"198.51.100.{_ % 250}")
        capped = await throttle.check(tenant.id, email, elsewhere)
        assert capped is not None and capped.retry_after_s <= 3600
        assert "within an hour" in capped.reason
    finally:
        await redis.aclose()


def test_the_wait_doubles_after_the_free_failures_and_is_capped() -> None:
    waits = [wait_after(n) for n in range(FREE_FAILURES + 9)]
    assert waits[:FREE_FAILURES] == [0] * FREE_FAILURES
    assert waits[FREE_FAILURES : FREE_FAILURES + 4] == [1, 2, 4, 8]
    assert max(waits) == wait_after(10_000) == MAX_WAIT_S
