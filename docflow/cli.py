"""The ``docflow`` command: dev, demo, worker, api, migrate, admin."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from docflow.settings import DEV_DB_APP_PASSWORD, Settings, get_settings
from docflow.startup import exit_with, validation_lines

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from docflow.demo import DemoResult

console = Console(stderr=True)
output = Console(soft_wrap=True)  # results a script may want (ids), on standard output
ADMIN_PASSWORD_ENV = "DOCFLOW_ADMIN_PASSWORD"
CHILD_STOP_TIMEOUT_S = 15.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="start the embedded stack, migrations, worker and API")
    demo = commands.add_parser("demo", help="run the whole flow on a sample idea into a ZIP")
    demo.add_argument("--idea-file", type=Path, help="Markdown or text file with the idea")
    demo.add_argument("--name", help="project name (default: the idea's first heading)")
    demo.add_argument("--constraints", help="constraints text (team, time, budget, hosting)")
    demo.add_argument("--out", type=Path, default=Path("docflow-package.zip"))
    worker = commands.add_parser("worker", help="run a worker against the configured services")
    worker.add_argument(
        "--queues",
        choices=("all", "agents", "memory"),
        help="task queues to poll (default DOCFLOW_WORKER_QUEUES, else all); see worker.main",
    )
    temporal = commands.add_parser("temporal", help="prepare a Temporal namespace for docflow")
    temporal_actions = temporal.add_subparsers(dest="temporal_command", required=True)
    temporal_actions.add_parser(
        "setup",
        help="register docflow's search attributes (operator API; TEMPORAL_* settings)",
    )
    commands.add_parser("api", help="serve the API against the configured services")
    commands.add_parser("migrate", help="apply database migrations (DOCFLOW_DATABASE_ADMIN_URL)")
    _add_admin_parser(commands)
    return parser


def _add_admin_parser(commands: Any) -> None:
    admin = commands.add_parser(
        "admin", help="create tenants and users (DATABASE_URL, as the app role: RLS applies)"
    )
    actions = admin.add_subparsers(dest="admin_command", required=True)
    tenant = actions.add_parser("create-tenant", help="create a tenant (idempotent)")
    tenant.add_argument("--slug", required=True, help="lower-case letters, digits and '-'")
    tenant.add_argument("--name", required=True, help="display name")
    user = actions.add_parser(
        "create-user",
        help="add a user to a tenant, creating the user when new",
        description="The password of a new user comes from --password-stdin (first line of "
        f"standard input) or the {ADMIN_PASSWORD_ENV} environment variable, never from argv.",
    )
    user.add_argument("--tenant", required=True, help="tenant slug")
    user.add_argument("--email", required=True)
    user.add_argument("--role", required=True, choices=("owner", "editor", "viewer"))
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    actions.add_parser(
        "rotate-master-key",
        help="re-wrap every tenant's data key with DOCFLOW_MASTER_KEY (no document rewritten)",
        description="Run as the schema owner (DOCFLOW_DATABASE_ADMIN_URL) with the new key in "
        "DOCFLOW_MASTER_KEY and the old one in DOCFLOW_PREVIOUS_MASTER_KEYS; afterwards the "
        "old key may be dropped.",
    )


def main(argv: Sequence[str] | None = None) -> None:
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = get_settings()
    except ValidationError as error:
        exit_with(validation_lines(error))
    handlers = {
        "dev": lambda: run_dev(settings),
        "demo": lambda: run_demo_command(settings, arguments),
        "worker": lambda: _run_module("worker", queues=arguments.queues),
        "temporal": lambda: run_temporal_setup(settings),
        "api": lambda: _run_module("api"),
        "migrate": lambda: run_migrate(settings),
        "admin": lambda: run_admin(settings, arguments),
    }
    try:
        code = handlers[arguments.command]()
    except KeyboardInterrupt:
        code = 130
    except Exception as error:  # the CLI's last word: a message, not a traceback
        logging.getLogger("docflow").debug("command failed", exc_info=True)
        console.print(
            f"[red]docflow {arguments.command} failed:[/red] {escape(str(error))}", soft_wrap=True
        )
        code = 1
    # Skip interpreter finalisation: temporalio's core can abort there (sdk-python #300)
    # after the work has finished correctly.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run_module(module: str, queues: str | None = None) -> int:
    env = os.environ | ({"DOCFLOW_WORKER_QUEUES": queues} if queues else {})
    return subprocess.call([sys.executable, "-m", module], env=env)


def run_temporal_setup(settings: Settings) -> int:
    from docflow import temporal
    from docflow.startup import StartupError, reason, temporal_where

    async def setup() -> tuple[str, bool, list[str]]:
        try:
            client = await temporal.connect(settings)
        except RuntimeError as error:
            where = temporal_where(settings)
            raise StartupError(f"cannot reach Temporal at {where}: {reason(error)}") from error
        created = await temporal.ensure_namespace(client)
        return client.namespace, created, await temporal.register_search_attributes(client)

    namespace, created, added = asyncio.run(setup())
    if created:
        console.print(f"namespace {namespace}: registered")
    if added:
        console.print(f"namespace {namespace}: registered {', '.join(added)}")
    else:
        console.print(f"namespace {namespace}: search attributes already registered")
    return 0


def run_migrate(settings: Settings) -> int:
    from docflow.storage import migrate

    if not settings.database_admin_url:
        console.print("[red]DOCFLOW_DATABASE_ADMIN_URL is not set[/red]")
        return 2
    app_password = settings.db_app_password.get_secret_value()
    if settings.environment != "development" and app_password == DEV_DB_APP_PASSWORD:
        console.print("[red]set DOCFLOW_DB_APP_PASSWORD: the default is for development only[/red]")
        return 2
    migrate.ensure_app_role(settings.database_admin_url, settings.db_app_role, app_password)
    migrate.upgrade(settings.database_admin_url, settings.db_app_role)
    console.print("migrations applied")
    return 0


# --- dev ------------------------------------------------------------------------------


def run_dev(settings: Settings) -> int:
    from docflow.embedded import EmbeddedStack, export_env
    from docflow.local_secrets import local_secrets_env
    from docflow.storage import migrate

    stop_requested = _stop_flag()
    stack = EmbeddedStack(settings)
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        endpoints = stack.start()
        migrate.upgrade(endpoints.database_admin_url, settings.db_app_role)
        env = {**os.environ, **export_env(endpoints)}
        env |= local_secrets_env(settings)  # never a published placeholder
        for name in ("worker", "api"):
            children[name] = subprocess.Popen([sys.executable, "-m", name], env=env)
        _print_urls(settings, endpoints.temporal_ui_url)
        while not stop_requested() and all(c.poll() is None for c in children.values()):
            time.sleep(0.5)
    finally:
        console.print("stopping docflow dev ...")
        _stop_children(list(children.values()))
        stack.stop()
    if stop_requested():
        return 0
    died = [name for name, child in children.items() if child.returncode not in (0, None)]
    console.print(f"[red]docflow dev stopped: the {' and '.join(died)} process exited[/red]")
    return 1


def _stop_flag() -> Callable[[], bool]:
    """Catch SIGINT and SIGTERM (explicitly: a shell starting us in the background leaves
    SIGINT ignored) and answer whether one came."""
    received: list[int] = []

    def remember(signum: int, _frame: object) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, remember)
    signal.signal(signal.SIGTERM, remember)
    return lambda: bool(received)


def _print_urls(settings: Settings, temporal_ui: str | None) -> None:
    api = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]docflow dev[/bold] is running (data in {settings.data_dir})")
    console.print(f"  Web app        {api}/app/   (users: docflow admin create-user)")
    console.print(f"  API            {api}")
    console.print(f"  API docs       {api}/docs")
    console.print(f"  Temporal UI    {temporal_ui or 'external Temporal: see its own UI'}")
    console.print("  Ctrl-C stops everything")


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + CHILD_STOP_TIMEOUT_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# --- demo -----------------------------------------------------------------------------


def run_demo_command(settings: Settings, arguments: argparse.Namespace) -> int:
    from docflow.ideas import name_from_idea
    from docflow.samples import SAMPLE_CONSTRAINTS, sample_idea

    if arguments.idea_file is not None and not arguments.idea_file.is_file():
        console.print(f"[red]no such idea file: {arguments.idea_file}[/red]")
        return 2
    idea = arguments.idea_file.read_text() if arguments.idea_file else sample_idea()
    if not idea.strip():
        console.print("[red]the idea is empty[/red]")
        return 2
    constraints = arguments.constraints
    if constraints is None:
        constraints = "" if arguments.idea_file else SAMPLE_CONSTRAINTS
    name = arguments.name or name_from_idea(idea) or "Untitled project"
    started = time.monotonic()
    result = asyncio.run(_demo(settings, name, idea, constraints, arguments.out))
    console.print(
        f"[green]wrote {result.out}[/green]: {result.files} files, {result.size} bytes, "
        f"in {time.monotonic() - started:.1f} s"
    )
    return 0


async def _demo(
    settings: Settings, name: str, idea: str, constraints: str, out: Path
) -> DemoResult:
    from docflow import temporal
    from docflow.demo import DemoRequest, run_demo
    from docflow.embedded import EmbeddedStack
    from docflow.local_secrets import local_master_key
    from docflow.storage import crypto, migrate
    from docflow.storage.db import make_engine
    from docflow.telemetry import setup_tracing

    # The worker's imports (CrewAI, onnxruntime, qdrant-client) and warm-up take seconds:
    # done in a thread while the embedded servers start.
    worker_ready = asyncio.get_running_loop().run_in_executor(None, _worker_module, settings)

    setup_tracing(settings, "demo")
    crypto.configure(
        local_master_key(settings), crypto.previous_keys(settings.previous_master_keys)
    )
    # A failed attempt is retried by Temporal and shown by the run's state; the worker's
    # own warning (with a traceback) stays out of the terminal.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    with EmbeddedStack(settings) as endpoints:
        migrate.upgrade(endpoints.database_admin_url, settings.db_app_role)
        run_settings = settings.model_copy(
            update={
                "database_url": endpoints.database_url,
                "redis_url": endpoints.redis_url,
                "llm_base_url": endpoints.llm_base_url,
            }
        )
        client = await temporal.connect(run_settings, endpoints.temporal_address)
        engine = make_engine(endpoints.database_url)
        worker = await worker_ready
        try:
            async with worker.build_worker(client, engine, run_settings):
                request = DemoRequest(name=name, idea=idea, constraints=constraints, out=out)
                return await run_demo(request, run_settings, client, engine)
        finally:
            await engine.dispose()


def _worker_module(settings: Settings) -> ModuleType:
    import worker.main

    worker.main.warm_up(settings)
    return worker.main


# --- admin ----------------------------------------------------------------------------


class AdminInputError(ValueError):
    """Bad input to an admin command: exit 2 with this message."""


def run_admin(settings: Settings, arguments: argparse.Namespace) -> int:
    """Against DATABASE_URL, or else the embedded stack of a running `docflow dev`."""
    from docflow.local_secrets import local_master_key
    from docflow.storage import crypto

    if settings.environment == "development":  # the data folder's key, as docflow dev's
        crypto.configure(
            local_master_key(settings), crypto.previous_keys(settings.previous_master_keys)
        )
    command = {
        "create-tenant": _create_tenant,
        "create-user": _create_user,
        "rotate-master-key": _rotate_master_key,
    }
    url = settings.app_database_url
    if arguments.admin_command == "rotate-master-key":
        url = settings.database_admin_url or ""
        if not url:
            console.print("[red]DOCFLOW_DATABASE_ADMIN_URL is not set[/red]")
            return 2
    try:
        asyncio.run(_with_engine(url, command[arguments.admin_command], arguments))
    except AdminInputError as error:
        console.print(f"[red]docflow admin {arguments.admin_command}:[/red] {escape(str(error))}")
        return 2
    return 0


async def _with_engine(
    url: str,
    command: Callable[[AsyncEngine, argparse.Namespace], Coroutine[Any, Any, None]],
    arguments: argparse.Namespace,
) -> None:
    from docflow.storage.db import make_engine

    engine = make_engine(url)
    try:
        await command(engine, arguments)
    finally:
        await engine.dispose()


async def _rotate_master_key(engine: AsyncEngine, arguments: argparse.Namespace) -> None:
    from docflow.storage import crypto

    ring = crypto.keyring()
    if ring is None:
        raise AdminInputError("DOCFLOW_MASTER_KEY is not set: it is the key to wrap with")
    try:
        changed, unchanged = await crypto.rewrap_data_keys(engine, ring)
    except crypto.EncryptionError as error:
        raise AdminInputError(str(error)) from error
    output.print(
        f"[green]re-wrapped {changed} tenant key(s)[/green] with master key "
        f"{crypto.key_id(ring.masters[0])}; {unchanged} already used it"
    )


async def _create_tenant(engine: AsyncEngine, arguments: argparse.Namespace) -> None:
    from docflow.admin import ensure_tenant, tenant_id_for
    from docflow.storage.accounts import AccountRepository
    from docflow.storage.db import tenant_session
    from docflow.storage.repositories import slugify

    slug, name = arguments.slug, arguments.name.strip()
    if slugify(slug, 64) != slug:
        raise AdminInputError(
            f"{slug!r} is not a slug: use lower-case letters, digits and '-', "
            f"e.g. {slugify(slug, 64)!r}"
        )
    if not name:
        raise AdminInputError("the tenant name is empty")
    async with tenant_session(engine, tenant_id_for(slug)) as session:
        existed = await AccountRepository(tenant_id_for(slug), session).tenant_exists()
    tenant = await ensure_tenant(engine, slug, name)
    verb = "tenant already exists:" if existed else "[green]created tenant[/green]"
    output.print(f"{verb} {tenant.slug} ({escape(tenant.name)}), id {tenant.id}")


def _admin_password(arguments: argparse.Namespace) -> str | None:
    if arguments.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise AdminInputError("--password-stdin: no password on standard input")
        return password
    return os.environ.get(ADMIN_PASSWORD_ENV) or None


def _checked_email_and_password(
    arguments: argparse.Namespace,
) -> tuple[str, str | None]:
    from docflow.auth.passwords import check_password_policy
    from docflow.storage.accounts import normalize_email

    password = _admin_password(arguments)
    try:
        email = normalize_email(arguments.email)
        if password is not None:
            check_password_policy(password)
    except ValueError as error:
        raise AdminInputError(str(error)) from error
    return email, password


async def _create_user(engine: AsyncEngine, arguments: argparse.Namespace) -> None:
    from docflow.admin import tenant_id_for
    from docflow.auth.passwords import hash_password
    from docflow.storage.accounts import AccountRepository, AlreadyMemberError
    from docflow.storage.db import tenant_session

    email, password = _checked_email_and_password(arguments)
    password_hash = hash_password(password) if password else None
    slug = escape(arguments.tenant)
    tenant_id = tenant_id_for(arguments.tenant)
    async with tenant_session(engine, tenant_id) as session:
        accounts = AccountRepository(tenant_id, session)
        if not await accounts.tenant_exists():
            raise AdminInputError(
                f"unknown tenant {arguments.tenant!r}: create it with `docflow admin create-tenant`"
            )
        if password_hash is None and await accounts.user_id(email) is None:
            raise AdminInputError(
                f"{email} is a new user and needs a password: "
                f"--password-stdin or {ADMIN_PASSWORD_ENV}"
            )
        user, created = await accounts.ensure_user(email, password_hash)
        try:
            member = await accounts.add_member(user, arguments.role)
        except AlreadyMemberError as error:
            raise AdminInputError(f"{error} of {arguments.tenant}") from error
    what = "[green]created user[/green]" if created else "existing user (password unchanged)"
    output.print(f"{what} {escape(member.email)}, id {member.user_id}: {member.role} of {slug}")
