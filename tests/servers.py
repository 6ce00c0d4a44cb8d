"""Real servers for the test suite: a private Dovecot, an SMTP sink, fresh PostgreSQL databases.

Plain Python (no pytest here), so a benchmark script can use them too::

    sys.path.insert(0, "tests")          # from the repository root
    from servers import Dovecot, SmtpSink, Postgres

    with Dovecot() as imap, SmtpSink() as sink:
        imap.append(raw)
        ...

Facts behind the Dovecot settings: docs/testbed.md.  Everything runs as root on a
Debian 12 machine; ``scripts/test`` installs the packages and starts PostgreSQL.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import email
import email.message
import email.policy
import functools
import imaplib
import itertools
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path

__all__ = [
    "Captured",
    "Dovecot",
    "GraphAnswer",
    "GraphCall",
    "GraphStandIn",
    "OAuthDovecot",
    "OAuthSmtpSink",
    "Postgres",
    "PostgresUnavailable",
    "SmtpSink",
    "TokenServer",
    "free_port",
    "pid_alive",
]


# How often the HTTP stand-ins' serve_forever looks for shutdown(): the default 0.5 s made every
# test that stops one wait a quarter of a second on average (about 15 worker-seconds a run).
_POLL = 0.02


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on *host* that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------------------
# Dovecot
# --------------------------------------------------------------------------------------

_DOVECOT_CONF = """\
# private test instance, written by tests/servers.py
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = {host}
{ssl_lines}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
mail_location = maildir:~/Maildir
mail_fsync = never
namespace inbox {{
  inbox = yes
{separator_line}}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={base}/mail/%u
}}
# no slow-down after failed logins (a test may try a wrong password)
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
  }}
}}
"""

_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")


class Dovecot:
    """A private Dovecot IMAP server on 127.0.0.1, plain-text LOGIN, maildir storage.

    ``Dovecot()`` only prepares; ``start()`` (or ``with Dovecot() as d``) runs it.
    """

    DEFAULT_USER = "smat.info@example.org"
    DEFAULT_PASSWORD = "secret"

    def __init__(
        self,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        users: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        start_timeout: float = 15.0,
        separator: str | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.host = host
        self.port = 0
        # (certificate, key): also listen for implicit TLS (IMAPS) on tls_port; the plain port stays
        self.tls = tls
        self.tls_port = 0
        self.user = user
        self.password = password
        self.users: dict[str, str] = {user: password, **(users or {})}
        self.start_timeout = start_timeout
        # hierarchy separator; None keeps Dovecot's default for maildir ("."), like a stock server
        self.separator = separator
        self.base: Path | None = None
        self.conf: Path | None = None
        self.log: Path | None = None
        self.proc: subprocess.Popen | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> Dovecot:
        if self.proc is not None:
            return self
        dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not os.path.exists(dovecot):
            raise RuntimeError("dovecot is not installed: run scripts/test (it installs dovecot-imapd)")
        self.base = Path(tempfile.mkdtemp(prefix="smat-dovecot-"))
        os.chmod(self.base, 0o755)  # the auth process must be able to enter it
        mail = self.base / "mail"
        mail.mkdir(mode=0o755)
        shutil.chown(mail, "nobody", "nogroup")
        self._write_users()
        self.port = free_port(self.host)
        self.conf = self.base / "dovecot.conf"
        sep = f"  separator = {self.separator}\n" if self.separator else ""
        ssl_lines = "ssl = no"
        if self.tls is not None:
            self.tls_port = free_port(self.host)
            ssl_lines = f"ssl = yes\nssl_cert = <{self.tls[0]}\nssl_key = <{self.tls[1]}"
        self.conf.write_text(
            _DOVECOT_CONF.format(
                base=self.base,
                host=self.host,
                port=self.port,
                separator_line=sep,
                ssl_lines=ssl_lines,
                tls_port=self.tls_port,
            )
        )
        self.log = self.base / "dovecot.log"
        # Output to a file, never a pipe: the daemon keeps inherited descriptors open.
        with open(self.base / "stdout.log", "wb") as out:
            self.proc = subprocess.Popen(
                [dovecot, "-F", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group, killed whole in stop()
            )
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited with code {self.proc.returncode} at start\n{self._logs()}")
            try:
                client = imaplib.IMAP4(self.host, self.port, timeout=2)
                try:
                    client.login(self.user, self.password)
                finally:
                    try:
                        client.logout()
                    except Exception:
                        pass
                return
            except (OSError, imaplib.IMAP4.error) as exc:
                last = exc
                time.sleep(0.05)
        raise RuntimeError(
            f"dovecot on {self.host}:{self.port} not ready after {self.start_timeout}s "
            f"(last error: {last!r})\n{self._logs()}"
        )

    def _logs(self) -> str:
        return (
            f"--- {self.base}/stdout.log ---\n{_tail(self.base / 'stdout.log')}\n--- {self.log} ---\n{_tail(self.log)}"
        )

    def stop(self) -> None:
        """Stop the master and every child of its process group; remove the temp dir."""
        proc, self.proc = self.proc, None
        if proc is not None:
            atexit.unregister(self.stop)
            if proc.poll() is None:
                try:
                    # the whole group at once: the master alone waits ~1 s for its children
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    # A second at most: just after a TLS client logged out, the master once took 3 s to
                    # end (a module's teardown in the suite); its files go with the temp dir anyway.
                    proc.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
            # whatever is left in the group (a stuck child, or the master itself)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            deadline = time.monotonic() + 5  # until the group's last child is gone
            while time.monotonic() < deadline:
                try:
                    os.killpg(proc.pid, 0)
                except (ProcessLookupError, PermissionError):
                    break
                time.sleep(0.01)
        if self.base is not None and not os.environ.get("SMAT_KEEP_DOVECOT"):
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Dovecot {self.user}@{self.host}:{self.port} running={self.running}>"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- users -----------------------------------------------------------------------
    def _write_users(self) -> None:
        path = self.base / "users"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items()))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # passwd-file is re-read when it changes

    def add_user(self, user: str, password: str) -> None:
        self.users[user] = password
        if self.base is None:
            return
        self._write_users()
        if self.running:
            # Dovecot re-reads the passwd-file at most once a second: wait until it has.
            deadline = time.monotonic() + 5
            while True:
                try:
                    client = imaplib.IMAP4(self.host, self.port, timeout=2)
                    try:
                        client.login(user, password)
                    finally:
                        client.shutdown()
                    return
                except imaplib.IMAP4.error:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)

    # -- IMAP helpers ----------------------------------------------------------------
    def connect(self, user: str | None = None, password: str | None = None, initial_folder: str | None = "INBOX"):
        """A logged-in imap_tools ``MailBoxUnencrypted`` (use it as a context manager)."""
        from imap_tools import MailBoxUnencrypted

        user = user or self.user
        password = password if password is not None else self.users.get(user, self.password)
        return MailBoxUnencrypted(self.host, self.port, timeout=10).login(user, password, initial_folder=initial_folder)

    def append(
        self,
        raw: bytes,
        folder: str = "INBOX",
        flags: tuple[str, ...] | list[str] = (),
        user: str | None = None,
    ) -> int | None:
        """APPEND *raw* to *folder* (created if missing); returns the new UID (UIDPLUS)."""
        if isinstance(raw, str):
            raw = raw.encode()
        with self.connect(user, initial_folder=None) as mb:
            if folder.upper() != "INBOX" and not mb.folder.exists(folder):
                mb.folder.create(folder)
            _typ, data = mb.append(raw, folder, flag_set=list(flags) or None)
        for item in data or ():
            m = _APPENDUID.search(item if isinstance(item, bytes) else str(item).encode())
            if m:
                return int(m.group(1))
        return None

    def uids(self, folder: str = "INBOX", user: str | None = None) -> list[int]:
        with self.connect(user, initial_folder=None) as mb:
            mb.folder.set(folder, readonly=True)
            return sorted(int(u) for u in mb.uids())

    def fetch_raw(self, folder: str = "INBOX", user: str | None = None) -> list[bytes]:
        """The raw bytes of every message in *folder*, in UID order, without setting \\Seen."""
        return [raw for _uid, raw in self.fetch_raw_by_uid(folder, user)]

    def fetch_raw_by_uid(self, folder: str = "INBOX", user: str | None = None) -> list[tuple[int, bytes]]:
        with self.connect(user, initial_folder=None) as mb:
            mb.folder.set(folder, readonly=True)
            typ, data = mb.client.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
        if typ != "OK":
            raise RuntimeError(f"UID FETCH failed: {typ} {data!r}")
        out = []
        for item in data:
            if isinstance(item, tuple):
                m = re.search(rb"UID (\d+)", item[0])
                out.append((int(m.group(1)), item[1]))
        return sorted(out)

    def folders(self, user: str | None = None) -> list[str]:
        with self.connect(user, initial_folder=None) as mb:
            return [f.name for f in mb.folder.list()]

    def clear(self) -> None:
        """Empty every folder of every user and delete all folders but INBOX."""
        from imap_tools.errors import MailboxFolderDeleteError

        for user in list(self.users):
            with self.connect(user, initial_folder=None) as mb:
                infos = mb.folder.list()
                for info in infos:
                    if "\\Noselect" in info.flags or "\\NonExistent" in info.flags:
                        continue
                    mb.folder.set(info.name)
                    mb.client.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Deleted)")
                    mb.client.expunge()
                mb.folder.set("INBOX")
                # children before parents
                for info in sorted(infos, key=lambda i: i.name.count(i.delim or "/"), reverse=True):
                    if info.name.upper() == "INBOX":
                        continue
                    try:
                        mb.folder.delete(info.name)
                    except MailboxFolderDeleteError as exc:
                        # a parent without mailbox of its own vanishes with its last child
                        if "NONEXISTENT" not in str(exc):
                            raise
                for info in mb.folder.list(subscribed_only=True):
                    if info.name.upper() != "INBOX":
                        mb.folder.subscribe(info.name, False)


# --------------------------------------------------------------------------------------
# SMTP sink
# --------------------------------------------------------------------------------------


@dataclass
class Captured:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: object = None  # the client's (host, port): which connection brought it

    @functools.cached_property
    def message(self) -> email.message.EmailMessage:
        """The whole message, parsed once (a test that polls the sink asks again and again)."""
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @functools.cached_property
    def headers(self) -> email.message.EmailMessage:
        """Its header only, parsed once: what a test counting thousands of captured mails needs."""
        return BytesHeaderParser(policy=email.policy.default).parsebytes(self.data)


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_QUIT(self, server, session, envelope):
        with self.sink._cond:
            self.sink.quits += 1
            self.sink._cond.notify_all()
        return "221 Bye"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        response = self.sink._rcpt_response(address)
        if response is not None:
            return response
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content
        if data is None:
            data = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        captured = Captured(envelope.mail_from, list(envelope.rcpt_tos), bytes(data), session.peer)
        if self.sink.hold_data and len(self.sink.captured) >= self.sink.hold_after:
            if self.sink.capture_held:
                self.sink._capture(captured)  # the sink has it; the client has not heard "250" yet
            # answer only once the test releases it (off the event loop, so other sessions go on)
            accept = await asyncio.get_running_loop().run_in_executor(None, self.sink._wait_release)
            if not accept:
                return "451 4.3.0 held and dropped"
            if self.sink.capture_held:
                return "250 OK"
        if self.sink.data_response:
            return self.sink.data_response
        self.sink._capture(captured)
        return "250 OK"


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 that keeps every envelope it accepts.

    Faults for tests: ``reject_rcpt = {"bob@example.org": "550 5.1.1 no such user"}`` refuses
    that recipient (matched case-insensitively); ``data_response = "451 4.3.0 busy"`` answers
    DATA with that instead of accepting (nothing is captured then). ``hold_data = True`` keeps
    every DATA waiting (the client blocked inside its send) until ``release(accept)``: accepted
    then as usual, or answered 451 and not captured; ``wait_holding(n)`` waits for n held.
    ``capture_held = True`` captures a held message before holding its answer (the sink has the
    mail, the client dies before hearing "250"); ``hold_after = n`` accepts n messages before holding.
    """

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, **smtp_options) -> None:
        # smtp_options go to aiosmtpd's Controller/SMTP: ssl_context (implicit TLS), tls_context
        # and require_starttls (STARTTLS), authenticator and auth_required (AUTH), timeout (idle drop)
        self.host = host
        self.port = port or 0
        self.smtp_options = smtp_options
        self.captured: list[Captured] = []
        self.reject_rcpt: dict[str, str] = {}
        self.data_response: str | None = None
        self.hold_data = False
        self.capture_held = False
        self.hold_after = 0  # hold_data holds only once this many messages were captured
        self.holding = 0
        self.quits = 0  # clients that said QUIT
        self._released: bool | None = None
        self._cond = threading.Condition()
        self._controller = None

    def _rcpt_response(self, address: str) -> str | None:
        if address in self.reject_rcpt:
            return self.reject_rcpt[address]
        lowered = address.lower()
        for key, value in self.reject_rcpt.items():
            if key.lower() == lowered:
                return value
        return None

    def _capture(self, item: Captured) -> None:
        with self._cond:
            self.captured.append(item)
            self._cond.notify_all()

    def start(self) -> SmtpSink:
        if self._controller is not None:
            return self
        from aiosmtpd.controller import Controller

        if not self.port:
            self.port = free_port(self.host)
        # server_hostname given so aiosmtpd does not call socket.getfqdn() (slow without DNS)
        self._controller = Controller(
            _SinkHandler(self), hostname=self.host, port=self.port, server_hostname="sink.test", **self.smtp_options
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self.hold_data:
            self.release(accept=False)  # no executor thread left waiting
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def _wait_release(self) -> bool:
        with self._cond:
            self.holding += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._released is not None)
            self.holding -= 1
            return bool(self._released)

    def wait_holding(self, n: int = 1, timeout: float = 10) -> None:
        """Wait until *n* DATA commands are held (their clients blocked inside send)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.holding >= n, timeout=timeout):
                raise TimeoutError(f"SMTP sink holds {self.holding} DATA command(s) after {timeout}s, expected {n}")

    def release(self, accept: bool = True) -> None:
        """Stop holding: the held DATA commands (and any later ones) are accepted, or refused with 451."""
        with self._cond:
            self.hold_data = False
            self._released = accept
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget the captured messages (the fault settings stay as they are)."""
        with self._cond:
            self.captured.clear()

    def wait_for(self, n: int = 1, timeout: float = 10) -> list[Captured]:
        """Wait until at least *n* messages were captured; returns all captured so far."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.captured) >= n, timeout=timeout):
                raise TimeoutError(f"SMTP sink got {len(self.captured)} message(s) in {timeout}s, expected {n}")
            return list(self.captured)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SmtpSink {self.host}:{self.port} captured={len(self.captured)}>"


# --------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------


class PostgresUnavailable(RuntimeError):
    pass


class Postgres:
    """Fresh, uniquely named, empty databases on the local server, over the Unix socket.

    The server is started by ``scripts/test``; when it is not reachable this raises
    :class:`PostgresUnavailable` (tests fail, they do not skip).
    """

    PREFIX = "smat_test_"
    _counter = itertools.count(1)

    def __init__(self, admin_dbname: str = "postgres") -> None:
        self.admin_dbname = admin_dbname
        self.created: list[str] = []
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._dropper: threading.Thread | None = None
        self._check()

    def _connect(self):
        import psycopg

        try:
            return psycopg.connect(dbname=self.admin_dbname, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise PostgresUnavailable(
                "PostgreSQL is not reachable over its Unix socket "
                f"({str(exc).strip()}). Run the tests with scripts/test: it installs and "
                "starts PostgreSQL and creates a superuser role for the current user."
            ) from exc

    def _check(self) -> None:
        with self._connect() as conn:
            conn.execute("SELECT 1")

    def create_database(self, template: str | None = None) -> str:
        """Create an empty database (or a copy of *template*); returns its URL ``postgresql+psycopg:///NAME``."""
        name = f"{self.PREFIX}{os.getpid()}_{next(self._counter)}_{uuid.uuid4().hex[:8]}"
        with self._connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        with self._lock:
            self.created.append(name)
        return f"postgresql+psycopg:///{name}"

    def drop_database(self, name: str) -> None:
        name = name.rsplit("/", 1)[-1]
        with self._connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with self._lock:
            if name in self.created:
                self.created.remove(name)

    def drop_later(self, url: str) -> None:
        """Drop a database in a background thread, so the drops overlap the tests instead of
        piling up at the end of the session (each DROP DATABASE waits on the disk)."""
        name = url.rsplit("/", 1)[-1]
        with self._lock:
            if self._dropper is None:
                self._dropper = threading.Thread(target=self._drop_queued, name="pg-dropper", daemon=True)
                self._dropper.start()
        self._queue.put(name)

    def _drop_queued(self) -> None:
        conn = None
        while (name := self._queue.get()) is not None:
            try:
                conn = conn or self._connect()  # one connection for all the drops
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception:  # noqa: BLE001 - drop_all tries again at the end
                conn = None
                continue
            with self._lock:
                if name in self.created:
                    self.created.remove(name)
        if conn is not None:
            conn.close()

    def drop_all(self, also: Sequence[str] = ()) -> None:
        """Drop the databases this helper created, those named in *also*, and leftovers of test runs that died.

        The drops run at once, each on its own connection: every DROP DATABASE waits for a checkpoint
        (0.8 s here), and drops that wait together share one.
        """
        dropper, self._dropper = self._dropper, None
        if dropper is not None:
            self._queue.put(None)
            dropper.join(timeout=120)
        with self._connect() as conn:
            with self._lock:
                names = list(self.created)
            names += [name for name in also if name not in names]
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (self.PREFIX + "%",)
            ).fetchall()
            for (datname,) in rows:
                m = re.match(re.escape(self.PREFIX) + r"(\d+)_", datname)
                if m and datname not in names and not pid_alive(int(m.group(1))):
                    names.append(datname)

        def drop(name: str) -> None:
            with self._connect() as own:
                own.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(drop, names))  # the first error, if any, is raised here
        self.created.clear()

    def __enter__(self) -> Postgres:
        return self

    def __exit__(self, *exc) -> None:
        self.drop_all()


def pid_alive(pid: int) -> bool:
    """True while a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------------------
# Microsoft Graph stand-in
# --------------------------------------------------------------------------------------


@dataclass
class GraphCall:
    """One request to the stand-in: whose mailbox, the bearer token, the decoded MIME, the status answered."""

    path: str
    user: str
    token: str
    content_type: str
    raw: bytes
    status: int

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


@dataclass
class GraphAnswer:
    """A scripted answer: status, extra headers, and Graph's error (code, message) as its JSON body."""

    status: int
    headers: dict[str, str]
    code: str = ""
    message: str = ""


class GraphStandIn:
    """A Microsoft Graph stand-in on 127.0.0.1 for ``POST /v1.0/users/{id}/sendMail`` (MIME send).

    Answers as Graph does: 401 ``InvalidAuthenticationToken`` unless the bearer token is in
    ``tokens``; 400 ``ErrorMimeContentInvalidBase64String`` unless the body is base64 sent as
    text/plain; else the next scripted answer (``answer(429, {"Retry-After": "30"})``, ``answer(400,
    code=…, message=…)``), else 202. Every request is kept in ``calls``, the accepted ones in ``sent``.
    """

    PREFIX = "/v1.0/users/"

    def __init__(self, tokens: tuple[str, ...] | list[str] = ("graph-token",), host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.tokens = set(tokens)
        self.answers: list[GraphAnswer] = []
        self.calls: list[GraphCall] = []
        self._cond = threading.Condition()
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The [graph] base_url that reaches this stand-in."""
        return f"http://{self.host}:{self.port}/v1.0"

    @property
    def sent(self) -> list[GraphCall]:
        """The calls answered 202: the messages Graph would have sent."""
        with self._cond:
            return [c for c in self.calls if c.status == 202]

    def answer(self, status: int, headers: dict[str, str] | None = None, code: str = "", message: str = "") -> None:
        """Answer the next well-formed, authorised request with this instead of 202."""
        with self._cond:
            self.answers.append(GraphAnswer(status, dict(headers or {}), code, message))

    def wait_for(self, n: int = 1, timeout: float = 10) -> list[GraphCall]:
        """Wait until at least *n* messages were accepted; returns them."""
        with self._cond:
            if not self._cond.wait_for(lambda: sum(c.status == 202 for c in self.calls) >= n, timeout=timeout):
                raise TimeoutError(f"Graph stand-in accepted {len(self.sent)} message(s) in {timeout}s, expected {n}")
        return self.sent

    def _handle(self, path: str, headers, body: bytes) -> tuple[GraphAnswer, GraphCall | None]:
        import base64
        import binascii
        from urllib.parse import unquote

        if not (path.startswith(self.PREFIX) and path.endswith("/sendMail")):
            return GraphAnswer(404, {}, "ResourceNotFound", f"Resource not found for the segment {path!r}."), None
        user = unquote(path[len(self.PREFIX) : -len("/sendMail")])
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        content_type = headers.get("Content-Type") or ""
        raw = b""
        if scheme != "Bearer" or token not in self.tokens:
            answer = GraphAnswer(401, {}, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        else:
            try:
                raw = base64.b64decode(body, validate=True) if content_type.startswith("text/plain") else b""
            except binascii.Error:
                raw = b""
            if not raw:
                answer = GraphAnswer(
                    400, {}, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
                )
            else:
                with self._cond:
                    answer = self.answers.pop(0) if self.answers else GraphAnswer(202, {})
        call = GraphCall(path, user, token, content_type, raw, answer.status)
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
        return answer, call

    def start(self) -> GraphStandIn:
        if self._server is not None:
            return self
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer, _call = stand_in._handle(self.path, self.headers, body)
                payload = b""
                if answer.code:
                    payload = json.dumps({"error": {"code": answer.code, "message": answer.message}}).encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(_POLL,), name="graph-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GraphStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<GraphStandIn {self.host}:{self.port} calls={len(self.calls)}>"


# --------------------------------------------------------------------------------------
# OAuth 2.0: a token provider, Dovecot checking its tokens, an SMTP sink taking XOAUTH2
# --------------------------------------------------------------------------------------


class TokenServer:
    """A small OAuth 2.0 provider on 127.0.0.1 (plain http), the only simulated part of the OAuth tests.

    ``POST /token`` grants the client-credentials grant (client id and secret in the form body
    or HTTP Basic) and the JWT-bearer grant of a Google service account (its ``sub`` is the
    user); a wrong secret is answered 401 ``invalid_client`` with Microsoft's AADSTS7000215 text.
    ``GET /tokeninfo?access_token=…`` and ``POST /introspect`` answer Dovecot: the token's user
    as ``email``, or 401 / ``{"active": false}`` for an unknown, expired or revoked token.
    Tokens are about 1.2 KB, like Microsoft's. ``expires_in`` sets the life of new tokens;
    ``revoke_all()`` makes every token so far invalid (as an expiry would).
    """

    def __init__(
        self, clients: dict[str, tuple[str, str]] | None = None, host: str = "127.0.0.1", ssl_context=None
    ) -> None:
        # client id -> (secret, the mailbox it may act as); ssl_context: serve https (for MSAL, which insists)
        self.clients = dict(clients or {"smat-app": ("app-secret-value-0123", Dovecot.DEFAULT_USER)})
        self.host = host
        self.ssl_context = ssl_context
        self.port = 0
        self.expires_in = 3600
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (user, expires at, time.time())
        self.grants: list[str] = []  # the grant types asked for, in order
        self.scopes: list[str] = []  # the scope each request asked for
        self.checks = 0  # tokeninfo and introspection requests answered
        self.token_failure: tuple[int, dict] | None = None  # answer every /token with this (status, body)
        self._lock = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def _claims(self, jwt: str) -> dict:
        import base64
        import json

        payload = jwt.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    def issue(self, user: str) -> str:
        token = "tok-" + uuid.uuid4().hex + "-" + os.urandom(600).hex()
        with self._lock:
            self.tokens[token] = (user, time.time() + self.expires_in)
        return token

    def user_of(self, token: str) -> str | None:
        """The user a token is valid for now, or None."""
        with self._lock:
            user, until = self.tokens.get(token, ("", 0.0))
        return user if user and time.time() < until else None

    def revoke_all(self) -> None:
        with self._lock:
            self.tokens = {t: (u, 0.0) for t, (u, _) in self.tokens.items()}

    def _grant(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict]:

        grant = form.get("grant_type", "")
        with self._lock:
            self.grants.append(grant)
            self.scopes.append(form.get("scope", ""))
        if self.token_failure is not None:
            return self.token_failure
        if grant == "client_credentials" and "client_assertion" in form:  # a certificate's signed JWT (MSAL)
            try:
                claims = self._claims(form["client_assertion"])
            except (IndexError, ValueError):
                return 400, {"error": "invalid_client", "error_description": "AADSTS700027: bad assertion"}
            known = self.clients.get(claims.get("sub", ""))
            if known is None or claims.get("iss") != claims.get("sub"):
                return 401, {"error": "invalid_client", "error_description": "AADSTS700027: unknown client"}
            user = known[1]
        elif grant == "client_credentials":
            client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
            known = self.clients.get(client_id)
            if known is None:
                return 400, {"error": "unauthorized_client", "error_description": f"AADSTS700016: no app {client_id}"}
            if secret != known[0]:
                return 401, {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                    "being sent in the request is the client secret value, not the client secret ID.",
                }
            user = known[1]
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            try:
                claims = self._claims(form["assertion"])
            except (KeyError, IndexError, ValueError):
                return 400, {"error": "invalid_grant", "error_description": "Invalid JWT"}
            if claims.get("scope") != "https://mail.google.com/":
                return 400, {"error": "invalid_scope", "error_description": "Invalid scope"}
            user = claims.get("sub") or claims.get("iss", "")
        else:
            return 400, {"error": "unsupported_grant_type", "error_description": grant}
        return 200, {"access_token": self.issue(user), "token_type": "Bearer", "expires_in": self.expires_in}

    def start(self) -> TokenServer:
        import base64
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlsplit

        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: tokens travel in these requests
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _form(self) -> dict[str, str]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                return {k: v[0] for k, v in parse_qs(raw).items()}

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                form = self._form()
                if path == "/token":
                    basic = None
                    header = self.headers.get("Authorization", "")
                    if header.startswith("Basic "):
                        user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
                        basic = (user, secret)
                    self._answer(*provider._grant(form, basic))
                elif path == "/introspect":
                    provider.checks += 1
                    user = provider.user_of(form.get("token", ""))
                    self._answer(200, {"active": True, "email": user} if user else {"active": False})
                else:
                    self._answer(404, {"error": "not_found"})

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path.endswith("/v2.0/.well-known/openid-configuration"):  # MSAL's discovery
                    tenant = parts.path.split("/")[1]
                    self._answer(
                        200,
                        {
                            "token_endpoint": provider.token_url,
                            "authorization_endpoint": f"{provider.base_url}/{tenant}/oauth2/v2.0/authorize",
                            "issuer": f"{provider.base_url}/{tenant}/v2.0",
                        },
                    )
                    return
                if parts.path != "/tokeninfo":
                    self._answer(404, {"error": "not_found"})
                    return
                provider.checks += 1
                token = parse_qs(parts.query).get("access_token", [""])[0]
                header = self.headers.get("Authorization", "")
                token = token or header.removeprefix("Bearer ")
                user = provider.user_of(token)
                if user:
                    self._answer(200, {"email": user, "active": True})
                else:
                    self._answer(401, {"error": "invalid_token"})

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self.port = self._server.server_address[1]
        if self.ssl_context is not None:
            self._server.socket = self.ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(_POLL,), name="token-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {base}/oauth2.conf
}}
passdb {{
  driver = passwd-file
  mechanisms = plain login
"""


class OAuthDovecot(Dovecot):
    """The private Dovecot, also taking XOAUTH2 and OAUTHBEARER checked against a TokenServer.

    Started as the password Dovecot (so the helpers that log in with passwords keep working), then
    given an ``oauth2`` passdb (tokeninfo and introspection on the TokenServer) and reloaded.
    """

    def __init__(self, tokens: TokenServer, mechanisms: str = "xoauth2 oauthbearer", **options) -> None:
        super().__init__(**options)
        self.tokens = tokens
        self.mechanisms = mechanisms  # the SASL mechanisms for tokens it offers, e.g. "xoauth2" alone

    def oauth_logins(self) -> list[str]:
        """The mechanism of each token login so far, from Dovecot's log ("Login: user=<…>, method=…")."""
        text = self.log.read_text(errors="replace") if self.log and self.log.exists() else ""
        methods = re.findall(r"imap-login: (?:Info: )?Login: user=<[^>]*>, method=([A-Z0-9-]+)", text)
        return [m for m in methods if m in ("XOAUTH2", "OAUTHBEARER")]

    def start(self) -> OAuthDovecot:
        if self.proc is not None:
            return self
        super().start()
        base = self.base
        (base / "oauth2.conf").write_text(
            f"tokeninfo_url = http://{self.tokens.host}:{self.tokens.port}/tokeninfo?access_token=\n"
            f"introspection_url = http://{self.tokens.host}:{self.tokens.port}/introspect\n"
            "introspection_mode = post\nusername_attribute = email\n"
        )
        os.chmod(base / "oauth2.conf", 0o644)
        text = self.conf.read_text()
        text = text.replace("auth_mechanisms = plain login", f"auth_mechanisms = plain login {self.mechanisms}")
        passdb = _OAUTH2_PASSDB.format(base=base).replace("xoauth2 oauthbearer", self.mechanisms)
        text = text.replace("passdb {\n  driver = passwd-file\n", passdb)
        self.conf.write_text(text)
        subprocess.run(
            ["doveadm", "-c", str(self.conf), "reload"],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=20,
        )
        deadline = time.monotonic() + self.start_timeout
        wanted = {f"AUTH={m.upper()}" for m in self.mechanisms.split()}
        while True:  # the reload is done when a new login process offers XOAUTH2 (or the mechanisms asked for)
            client = imaplib.IMAP4(self.host, self.port, timeout=2)
            try:
                if wanted <= set(client.capabilities):
                    return self
            finally:
                client.shutdown()
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not offer XOAUTH2 after reload\n{self._logs()}")
            time.sleep(0.05)


class OAuthSmtpSink(SmtpSink):
    """An SmtpSink that requires AUTH XOAUTH2 (or OAUTHBEARER, when in ``offer``) with a token the TokenServer
    issued for the login user; ``mechanisms`` keeps which one each login used.

    A refused token gets the XOAUTH2 error challenge (334 with a JSON status), then 535, as Gmail
    and Exchange answer. Line limits are raised to RFC 4954's 12,288 octets for AUTH: aiosmtpd's
    defaults (512-byte commands) refuse a Microsoft-sized token. ``logins`` keeps (user, accepted).
    """

    def __init__(self, tokens: TokenServer, offer: tuple[str, ...] = ("XOAUTH2",), **options) -> None:
        # offer: the token mechanisms in EHLO's AUTH line: XOAUTH2 alone (as Exchange Online), or with OAUTHBEARER
        super().__init__(**options)
        self.tokens = tokens
        self.offer = offer
        self.logins: list[tuple[str, bool]] = []
        self.mechanisms: list[str] = []  # the mechanism of each login, beside ``logins``
        self.error_replies: list[bytes] = []  # what the client answered to each OAUTHBEARER error challenge

    def start(self) -> OAuthSmtpSink:
        if self._controller is not None:
            return self
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        class BigSMTP(SMTP):
            command_size_limit = 12288
            command_size_limits = collections.defaultdict(lambda: 12288)  # the base's refers to SMTP's 512
            line_length_limit = 12288 + 1001

        sink = self

        class Handler(_SinkHandler):
            async def auth_XOAUTH2(self, server, args):
                import base64
                import json

                from aiosmtpd.smtp import AuthResult

                if len(args) > 1:
                    blob = base64.b64decode(args[1])
                else:
                    blob = await server.challenge_auth("")
                fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if "=" in part)
                user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
                accepted = bool(user) and sink.tokens.user_of(token) == user
                sink.logins.append((user, accepted))
                sink.mechanisms.append("XOAUTH2")
                if accepted:
                    return AuthResult(success=True, auth_data=user)
                await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer", "scope": "mail"}))
                return AuthResult(success=False, handled=False)

            async def auth_OAUTHBEARER(self, server, args):
                """RFC 7628: GS2 header with a=user, then ^A-separated host, port and auth; the error
                challenge must be answered with a single ^A (§3.2.3) before the 535."""
                import base64
                import json

                from aiosmtpd.smtp import AuthResult

                blob = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
                header, _, rest = blob.decode().partition("\x01")
                gs2 = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
                fields = dict(part.split("=", 1) for part in rest.split("\x01") if "=" in part)
                user, token = gs2.get("a", ""), fields.get("auth", "").removeprefix("Bearer ")
                accepted = (
                    header.startswith("n,")
                    and blob.endswith(b"\x01\x01")
                    and fields.get("host") == sink.host
                    and fields.get("port") == str(sink.port)
                    and bool(user)
                    and sink.tokens.user_of(token) == user
                )
                sink.logins.append((user, accepted))
                sink.mechanisms.append("OAUTHBEARER")
                if accepted:
                    return AuthResult(success=True, auth_data=user)
                error = {"status": "invalid_token", "scope": "https://mail.google.com/", "schemes": "bearer"}
                reply = await server.challenge_auth(json.dumps(error))
                if not isinstance(reply, bytes):  # "*" or not base64: aiosmtpd has answered 501 already
                    sink.error_replies.append(b"")
                    return AuthResult(success=False, handled=True)
                sink.error_replies.append(reply)
                if reply != b"\x01":
                    return AuthResult(success=False, handled=False, message="501 5.5.2 the error challenge needs ^A")
                return AuthResult(success=False, handled=False)

        class OAuthController(Controller):
            def factory(self):
                with warnings.catch_warnings():  # AUTH without TLS: on purpose, on 127.0.0.1
                    warnings.simplefilter("ignore", UserWarning)
                    return BigSMTP(self.handler, **self.SMTP_kwargs)

        if not self.port:
            self.port = free_port(self.host)
        excluded = [m for m in ("XOAUTH2", "OAUTHBEARER") if m not in self.offer]
        options = {"auth_required": True, "auth_require_tls": False, **self.smtp_options}
        if excluded:
            options["auth_exclude_mechanism"] = [*options.get("auth_exclude_mechanism", []), *excluded]
        self._controller = OAuthController(
            Handler(self), hostname=self.host, port=self.port, server_hostname="sink.test", **options
        )
        self._controller.start()
        return self
