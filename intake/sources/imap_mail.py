"""The IMAP commands smat-intake sends beside imap-tools' own: fetching exact bytes, moving processed mail,
reading capabilities after login, waiting in IDLE, and logging out of a broken connection."""

from __future__ import annotations

import imaplib
import io
from typing import Any, cast

from imap_tools import BaseMailBox, MailMessage
from imap_tools.errors import ImapToolsError
from imap_tools.utils import encode_folder

# What a server or its connection can raise: the socket, imaplib (NO, BAD, BYE; abort is one), and
# imap-tools' checks of a command's status (a tagged NO or BYE, e.g. as IDLE starts), which are not
# imaplib errors. Each is a reason to reconnect, never to stop reading the mailbox.
IMAP_ERRORS = (OSError, imaplib.IMAP4.error, ImapToolsError)


class RawMailMessage(MailMessage):
    """A fetched message that keeps its exact bytes and skips imap-tools' own parse."""

    def __init__(self, fetch_data: list[Any]) -> None:  # noqa: D107 - same contract as MailMessage
        raw, uid_data, flag_data = self._get_message_data_parts(fetch_data)
        self.raw: bytes = raw
        self._raw_uid_data = uid_data
        self._raw_flag_data = flag_data


def move_uids(box: BaseMailBox, uids: list[int], folder: str) -> None:
    """UID MOVE; without it, COPY then remove just these UIDs (UID EXPUNGE), never a mailbox-wide EXPUNGE."""
    client = box.client
    uid_set = ",".join(str(u) for u in uids)
    target = encode_folder(folder).decode("ascii")  # modified UTF-7, quoted: ASCII by design
    if "MOVE" in client.capabilities:
        result = client.uid("MOVE", uid_set, target)
        if result[0] != "OK" and _expunge_issued(result):
            # Another session (a second instance) moved some of them first; this session learns of it
            # with a NOOP, and moves what is still here. Nothing was moved by the refused command.
            client.noop()
            left = [str(u) for u in box.uids(f"UID {uid_set}") if int(u) in set(uids)]
            if not left:
                return
            result = client.uid("MOVE", ",".join(left), target)
        check(result, "UID MOVE")
        return
    check(client.uid("COPY", uid_set, target), "UID COPY")
    check(client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Seen \Deleted)"), "UID STORE")
    if "UIDPLUS" in client.capabilities:
        check(client.uid("EXPUNGE", uid_set), "UID EXPUNGE")
    # Otherwise the copies stay flagged \Deleted in the folder; UNDELETED searches skip them.


def _expunge_issued(result: tuple[str, list[Any]]) -> bool:
    """A NO that says some of the messages were expunged meanwhile (RFC 9051's EXPUNGEISSUED)."""
    return any(b"EXPUNGEISSUED" in part for part in result[1] if isinstance(part, bytes))


def check(result: tuple[str, list[Any]], what: str) -> None:
    if result[0] != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {result[1]!r}")


def raw_bytes(message: MailMessage) -> bytes:
    """The exact bytes of a message fetched with `RawMailMessage` as the mailbox's message class."""
    assert isinstance(message, RawMailMessage)
    return message.raw


def refresh_capabilities(box: BaseMailBox) -> None:
    """Servers such as Dovecot announce MOVE and UIDPLUS only after login; imaplib kept the greeting's list."""
    try:
        typ, data = box.client.capability()
    except IMAP_ERRORS:
        return
    if typ == "OK" and data and data[-1]:
        box.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def logout(box: BaseMailBox) -> None:
    """Log out, or at least close the socket, of a connection that may already be broken."""
    try:
        box.logout()
    except Exception:  # noqa: BLE001 - already broken connections cannot be logged out of
        try:
            box.client.shutdown()
        except Exception:  # noqa: BLE001
            pass


def idle_wait(box: BaseMailBox, timeout: float) -> list[bytes]:
    """IDLE until the server says something or `timeout` passes, then DONE: what it said.

    imap-tools' `idle.wait` reads "+ idling" through imaplib's buffered reader and then waits on the
    socket; a "* N EXISTS" that came in the same packet (mail appended just before IDLE) sat in that
    buffer unseen until the IDLE was renewed, ten minutes later. What is already read is taken first.
    """
    with box.idle as idle:
        return _already_read(box) or idle.poll(timeout=timeout)


def _already_read(box: BaseMailBox) -> list[bytes]:
    """The complete lines imaplib has read from the server and not yet handed out, without waiting.

    A line only partly read is left where it is, for IDLE's poll to finish: taking it would lose its start.
    """
    client = box.client
    sock = client.sock
    old_timeout = sock.gettimeout()
    sock.settimeout(0)  # nothing not already here is waited for
    reader = cast("io.BufferedReader", client.file)  # imaplib reads through sock.makefile("rb")
    lines: list[bytes] = []
    try:
        while b"\n" in reader.peek():  # what imaplib's reader holds (one read at most, which cannot wait)
            lines.append(client._get_line())  # noqa: SLF001 - imaplib's reader, the one IDLE's start used
    except (OSError, imaplib.IMAP4.abort):  # a timeout, or a TLS socket with nothing to read, is an OSError
        pass  # nothing more to read now, or the server is gone: IDLE's poll will say
    finally:
        sock.settimeout(old_timeout)
    return lines
