"""Real servers for the test suite: a private Dovecot, an SMTP sink, fresh PostgreSQL databases.

Plain Python (no pytest here), so a benchmark script can use them too::

    sys.path.insert(0, "tests")          # from the repository root
    from servers import Dovecot, SmtpSink, Postgres

    with Dovecot() as imap, SmtpSink() as sink:
        imap.append(raw)
        ...

Facts behind the Dovecot settings: shared/docs/testbed.md.  Everything runs as root on a
Debian 12 machine; ``scripts/test`` installs the packages and starts PostgreSQL.
"""

from __future__ import annotations

import atexit
import email
import email.message
import email.policy
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
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Captured", "Dovecot", "Postgres", "PostgresUnavailable", "SmtpSink", "free_port", "pid_alive"]


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
ssl = no
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
    port = 0
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
    ) -> None:
        self.host = host
        self.port = 0
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
        self.conf.write_text(_DOVECOT_CONF.format(base=self.base, host=self.host, port=self.port, separator_line=sep))
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
                    proc.wait(timeout=10)
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

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        response = self.sink._rcpt_response(address)
        if response is not None:
            return response
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.data_response:
            return self.sink.data_response
        data = envelope.original_content
        if data is None:
            data = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        self.sink._capture(Captured(envelope.mail_from, list(envelope.rcpt_tos), bytes(data)))
        return "250 OK"


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 that keeps every envelope it accepts.

    Faults for tests: ``reject_rcpt = {"bob@example.org": "550 5.1.1 no such user"}`` refuses
    that recipient (matched case-insensitively); ``data_response = "451 4.3.0 busy"`` answers
    DATA with that instead of accepting (nothing is captured then).
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
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

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

    def drop_all(self) -> None:
        """Drop the databases this helper created, and leftovers of test runs that died."""
        dropper, self._dropper = self._dropper, None
        if dropper is not None:
            self._queue.put(None)
            dropper.join(timeout=120)
        with self._connect() as conn:
            with self._lock:
                names = list(self.created)
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (self.PREFIX + "%",)
            ).fetchall()
            for (datname,) in rows:
                m = re.match(re.escape(self.PREFIX) + r"(\d+)_", datname)
                if m and datname not in names and not pid_alive(int(m.group(1))):
                    names.append(datname)
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
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
        self._thread = threading.Thread(target=self._server.serve_forever, name="graph-stand-in", daemon=True)
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
