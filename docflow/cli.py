"""The ``docflow`` command: dev, demo, worker, api, migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from docflow.settings import Settings, get_settings

if TYPE_CHECKING:
    from docflow.demo import DemoResult

console = Console(stderr=True)
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
    commands.add_parser("worker", help="run a worker against the configured services")
    commands.add_parser("api", help="serve the API against the configured services")
    commands.add_parser("migrate", help="apply database migrations (DOCFLOW_DATABASE_ADMIN_URL)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    handlers = {
        "dev": lambda: run_dev(settings),
        "demo": lambda: run_demo_command(settings, arguments),
        "worker": lambda: _run_module("worker"),
        "api": lambda: _run_module("api"),
        "migrate": lambda: run_migrate(settings),
    }
    try:
        code = handlers[arguments.command]()
    except KeyboardInterrupt:
        code = 130
    except Exception as error:  # the CLI's last word: a message, not a traceback
        logging.getLogger("docflow").debug("command failed", exc_info=True)
        console.print(f"[red]docflow {arguments.command} failed:[/red] {error}")
        code = 1
    # Skip interpreter finalisation: temporalio's core can abort there (sdk-python #300)
    # after the work has finished correctly.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run_module(module: str) -> int:
    return subprocess.call([sys.executable, "-m", module])


def run_migrate(settings: Settings) -> int:
    from docflow.storage import migrate

    if not settings.database_admin_url:
        console.print("[red]DOCFLOW_DATABASE_ADMIN_URL is not set[/red]")
        return 2
    migrate.ensure_app_role(
        settings.database_admin_url, settings.db_app_role, settings.db_app_password
    )
    migrate.upgrade(settings.database_admin_url, settings.db_app_role)
    console.print("migrations applied")
    return 0


# --- dev ------------------------------------------------------------------------------


def run_dev(settings: Settings) -> int:
    from docflow.embedded import EmbeddedStack, export_env
    from docflow.storage import migrate

    stop_requested = _stop_flag()
    stack = EmbeddedStack(settings)
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        endpoints = stack.start()
        migrate.upgrade(endpoints.database_admin_url, settings.db_app_role)
        env = {**os.environ, **export_env(endpoints)}
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


def _project_name(idea: str, fallback: str) -> str:
    for line in idea.splitlines():
        if line.strip().startswith("#"):
            return line.strip("# ").strip() or fallback
    return fallback


def run_demo_command(settings: Settings, arguments: argparse.Namespace) -> int:
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
    name = arguments.name or _project_name(idea, "Untitled project")
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
    from docflow.storage import migrate
    from docflow.storage.db import make_engine
    from docflow.telemetry import setup_tracing
    from worker.main import build_worker

    setup_tracing(settings, "demo")
    with EmbeddedStack(settings) as endpoints:
        migrate.upgrade(endpoints.database_admin_url, settings.db_app_role)
        run_settings = settings.model_copy(update={"database_url": endpoints.database_url})
        client = await temporal.connect(run_settings, endpoints.temporal_address)
        engine = make_engine(endpoints.database_url)
        try:
            async with build_worker(client, engine, run_settings):
                request = DemoRequest(name=name, idea=idea, constraints=constraints, out=out)
                return await run_demo(request, run_settings, client, engine)
        finally:
            await engine.dispose()
