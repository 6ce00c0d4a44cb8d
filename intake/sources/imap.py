"""The smat.info mailbox over IMAP (imap-tools): fetch with PEEK, commit, then UID MOVE.

Order matters for "lose none, make none twice": a message is fetched without marking it
\\Seen, committed with a source key naming its UIDVALIDITY and UID, and only then moved
to the processed folder. If the process dies between commit and MOVE, the next pass sees
the key, makes no second item, and completes the move. Nothing is ever deleted, and no
mailbox-wide EXPUNGE is issued (a server without MOVE gets imap-tools' copy+delete on just
those UIDs).
"""

from __future__ import annotations

import logging
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted

from intake.arrival import Outcome
from intake.config import Imap
from intake.errors import IntakeError, MailboxUnreachable, StorageError
from intake.oauth2 import TokenSource
from intake.progress import Progress
from intake.sources import imap_mail
from intake.sources.imap_count import count_left_alone
from intake.sources.imap_login import Refused, log_in, refusal
from intake.sources.imap_mail import IMAP_ERRORS, RawMailMessage, logout, move_uids, raw_bytes, refresh_capabilities
from intake.store import attempts, mailbox
from intake.store.db import Sessions
from intake.store.unit import reading, transaction

Ingest = Callable[[bytes, str, "str | None"], Outcome]

FETCH_BULK = 20
IDLE_RENEW_SECONDS = 10 * 60  # well under the 29 minutes RFC 2177 allows
MAX_RETRY_SECONDS = 300


@dataclass
class PassReport:
    """What one pass over the folder did."""

    taken: int = 0
    duplicates: int = 0
    moved: int = 0
    left_alone: int = 0
    next_uid: int = 0  # the folder's UIDNEXT when the pass began: mail from here on came during it
    quiet: bool = False  # STATUS showed the folder as the last clean pass left it: not even SELECTed


class ImapSource:
    """Reads one folder of one mailbox into the pipeline, by IDLE or by polling."""

    def __init__(
        self,
        settings: Imap,
        ingest: Ingest,
        sessions: Sessions,
        log: logging.Logger | None = None,
        *,
        retry_seconds: float = 5,
        max_retry_seconds: float = MAX_RETRY_SECONDS,
        idle_renew_seconds: float = IDLE_RENEW_SECONDS,
        poll_seconds: float | None = None,
        tokens: TokenSource | None = None,
    ) -> None:
        # Timing: the first wait before reconnecting (doubling up to max_retry_seconds), how
        # long one IDLE lasts, and the poll interval without IDLE (default: [imap] poll_seconds).
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.idle_renew_seconds = idle_renew_seconds
        self.poll_seconds = settings.poll_seconds if poll_seconds is None else poll_seconds
        self.settings = settings
        self.tokens = tokens  # [imap] auth = "oauth2": where access tokens come from
        self.ingest = ingest
        self.sessions = sessions
        self.log = log or logging.getLogger("intake.imap")
        self.folder_key = f"{settings.username}@{settings.host}:{settings.port}/{settings.folder}"
        self._stopping = threading.Event()
        self._current: BaseMailBox | None = None

    # --- connecting -----------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"the IMAP server {self.settings.host}:{self.settings.port}"

    def connect(self, folders: bool = True) -> BaseMailBox:
        """Log in and (unless `folders` is False) make the processed folder and select the watched one;
        MailboxUnreachable in one sentence if not."""
        box = self.login()
        box.email_message_class = RawMailMessage
        refresh_capabilities(box)
        try:
            if folders:
                self._open_folders(box)
        except MailboxUnreachable:
            logout(box)
            raise
        return box

    def _open_folders(self, box: BaseMailBox) -> None:
        """Make the processed folder if it is missing, and select the watched one."""
        s = self.settings
        try:
            if not box.folder.exists(s.processed_folder):
                box.folder.create(s.processed_folder)
                self.log.info("created the folder %s for processed mail", s.processed_folder)
            box.folder.set(s.folder)
        except Exception as exc:
            raise MailboxUnreachable(f"{self.where}: cannot open the folder {s.folder}: {exc}") from exc

    def check_login(self) -> None:
        """Log in and out, touching no folder or message (`smat-intake status`); MailboxUnreachable if not."""
        logout(self.login())

    def login(self) -> BaseMailBox:
        """A logged-in connection, no folder selected.

        With OAuth 2.0 a refused token is renewed once and the login tried again on a new
        connection: a token can expire or be revoked while a long IDLE holds the old session.
        """
        s = self.settings
        fresh = False
        while True:
            box = self._open()
            try:
                self._login(box, fresh)
                break
            except Refused as exc:
                logout(box)
                if s.auth == "oauth2" and not fresh:
                    self.log.info("%s refused the OAuth 2.0 token; logging in again with a new one", self.where)
                    fresh = True
                    continue
                raise MailboxUnreachable(refusal(s, self.where)) from exc
            except IntakeError as exc:  # no token: the provider refused us or is down; one sentence already
                logout(box)
                raise MailboxUnreachable(str(exc)) from exc
            except IMAP_ERRORS as exc:
                logout(box)
                raise MailboxUnreachable(f"{self.where} dropped the connection while logging in: {exc}") from exc
        return box

    def _open(self) -> BaseMailBox:
        """A connection, not yet logged in."""
        s = self.settings
        try:
            if s.security == "ssl":
                return MailBox(s.host, s.port, timeout=s.timeout, ssl_context=ssl.create_default_context())
            if s.security == "starttls":
                return MailBoxStartTls(s.host, s.port, timeout=s.timeout, ssl_context=ssl.create_default_context())
            return MailBoxUnencrypted(s.host, s.port, timeout=s.timeout)
        except IMAP_ERRORS as exc:
            raise MailboxUnreachable(f"{self.where} cannot be reached: {exc}") from exc

    def _login(self, box: BaseMailBox, fresh: bool) -> None:
        """LOGIN with the password, or AUTHENTICATE (OAUTHBEARER where offered, else XOAUTH2) with a token."""
        token = None
        if self.settings.auth == "oauth2":
            if self.tokens is None:
                raise IntakeError(f'[imap] auth = "oauth2" but no token source was given for {self.where}')
            token = self.tokens.token(force_refresh=fresh)  # a new one when *fresh*
        mechanism = log_in(box, self.settings, token)
        self.log.debug("logged in to %s as %s with %s", self.where, self.settings.username, mechanism)

    # --- one pass -------------------------------------------------------------------------

    def poll_once(self, backlog: bool = False) -> PassReport:
        """Connect, take in everything new, move it, log out.

        STATUS before any LIST: Dovecot answers a STATUS after a LIST in one session by re-reading the
        folder's uidlist (0.3 s at 20,000 messages); a quiet poll needs no processed folder and no SELECT.
        """
        box = self.connect(folders=False)
        try:
            status = self._status(box)
            if not backlog and self._quiet(status):
                return PassReport(quiet=True)
            self._open_folders(box)
            return self.take_in(box, backlog, status)
        finally:
            logout(box)

    def _status(self, box: BaseMailBox) -> dict[str, int]:
        """The folder's UIDVALIDITY, MESSAGES and UIDNEXT (STATUS: the folder need not be selected)."""
        try:
            status = box.folder.status(self.settings.folder, ["UIDVALIDITY", "MESSAGES", "UIDNEXT"])
        except IMAP_ERRORS as exc:
            raise MailboxUnreachable(f"{self.where}: cannot read the state of {self.settings.folder}: {exc}") from exc
        return {name: int(status[name]) for name in ("UIDVALIDITY", "MESSAGES", "UIDNEXT")}

    def _quiet(self, status: dict[str, int]) -> bool:
        """The folder is as the last clean pass left it: nothing to do, and no SELECT of a big folder."""
        with reading(self.sessions, "read the mailbox position") as session:
            return mailbox.is_quiet(
                session, self.folder_key, status["UIDVALIDITY"], status["UIDNEXT"], status["MESSAGES"]
            )

    def take_in(self, box: BaseMailBox, backlog: bool = False, status: dict[str, int] | None = None) -> PassReport:
        """Take in every new message in UID order; commit each, then move the committed ones.

        `status` is the folder's STATUS if the caller has just asked it (a poll), else it is asked here.
        """
        report = PassReport()
        status = status or self._status(box)
        uidvalidity = status["UIDVALIDITY"]
        # Every UID now in the folder is below UIDNEXT: on a first look, that is where the baseline goes.
        report.next_uid = status["UIDNEXT"]
        baseline = self._baseline(uidvalidity, report.next_uid - 1, backlog)
        try:
            # Only UIDs above the baseline are listed, so a poll of a big folder of old mail costs what an
            # empty one does. UNDELETED: on a server without MOVE or UIDPLUS, processed mail is only flagged.
            first = 1 if backlog else baseline + 1
            todo = sorted(u for u in (int(x) for x in box.uids(f"UID {first}:* UNDELETED")) if u >= first)
            if not backlog and baseline:
                report.left_alone = count_left_alone(box, baseline, status["MESSAGES"] - len(todo))
        except IMAP_ERRORS as exc:
            raise MailboxUnreachable(
                f"{self.where}: lost the connection while listing {self.settings.folder}: {exc}"
            ) from exc
        if report.left_alone:
            self.log.warning(
                "%d message(s) that were already in %s when smat-intake first looked are left alone, so that "
                "installing it answers no old mail; to take them in, run: smat-intake poll --once --backlog",
                report.left_alone,
                self.settings.folder,
            )
        todo = self._interrupted_last(uidvalidity, todo)  # mail whose processing was cut short goes last
        done: list[int] = []
        try:
            progress = Progress(len(todo), self.log, sys.stderr)  # a large backlog: a bar, or a line every 5 s
            for uid, raw in self._fetch(box, todo):
                key = f"imap:{self.folder_key}:{uidvalidity}:{uid}"
                outcome = self.ingest(raw, "imap", key)
                progress.done()
                if outcome.duplicate:
                    report.duplicates += 1
                else:
                    report.taken += 1
                done.append(uid)
                if len(done) >= FETCH_BULK:
                    report.moved += self._move(box, done, uidvalidity)
                    done = []
        finally:
            # Whatever stopped the loop, what was committed is moved now (or on the next pass).
            if done:
                try:
                    report.moved += self._move(box, done, uidvalidity)
                except MailboxUnreachable as exc:
                    self.log.warning(
                        "%s; the messages stay in %s and are moved on the next pass", exc, self.settings.folder
                    )
        if not backlog and report.moved == len(todo):  # nothing of ours left there: the next poll may STATUS only
            self._record_quiet(uidvalidity, report.next_uid, status["MESSAGES"] - report.moved)
        return report

    def _fetch(self, box: BaseMailBox, uids: list[int]) -> Iterator[tuple[int, bytes]]:
        """Fetch in UID order with BODY.PEEK[], a few at a time, so memory stays flat."""
        for start in range(0, len(uids), FETCH_BULK):
            chunk = [str(u) for u in uids[start : start + FETCH_BULK]]
            try:
                fetched = {
                    int(m.uid): raw_bytes(m) for m in box.fetch(uid_list=chunk, mark_seen=False, bulk=True) if m.uid
                }
            except IMAP_ERRORS as exc:
                raise MailboxUnreachable(f"{self.where}: lost the connection while fetching: {exc}") from exc
            for uid in (int(u) for u in chunk):  # in the order asked for (see _interrupted_last)
                if uid in fetched:
                    yield uid, fetched[uid]

    def _move(self, box: BaseMailBox, uids: list[int], uidvalidity: int) -> int:
        try:
            move_uids(box, uids, self.settings.processed_folder)
        except IMAP_ERRORS as exc:
            raise MailboxUnreachable(
                f"{self.where}: could not move processed mail to {self.settings.processed_folder}: {exc}"
            ) from exc
        self._remember(uidvalidity, max(uids))
        return len(uids)

    def _interrupted_last(self, uidvalidity: int, uids: list[int]) -> list[int]:
        """UIDs in order, those whose processing was cut short before last: a poison message holds up
        no mail behind it, and one merely unlucky (a restart, an outside kill) is not hit first each time."""
        with reading(self.sessions, "read the interrupted messages") as session:
            cut_short = attempts.interrupted(session, f"imap:{self.folder_key}:{uidvalidity}:") if uids else set()
        return [u for u in uids if str(u) not in cut_short] + [u for u in uids if str(u) in cut_short]

    # --- where we are in the folder -------------------------------------------------------

    def _baseline(self, uidvalidity: int, highest: int, backlog: bool) -> int:
        """The highest UID that was already there before the service first looked (left alone)."""
        first_baseline = 0 if backlog else highest
        with transaction(self.sessions, "read the mailbox position") as session:
            entered = mailbox.enter_folder(session, self.folder_key, uidvalidity, first_baseline)
        if entered.renumbered_from is not None:
            self.log.warning(
                "UIDVALIDITY of %s changed from %s to %s: the server renumbered its messages; "
                "everything still in the folder is looked at again (messages already taken in are recognised by "
                "their bytes or Message-ID and not answered twice); the Clerk's digest will say so",
                self.settings.folder,
                entered.renumbered_from,
                uidvalidity,
            )
        return entered.baseline_uid

    def _record_quiet(self, uidvalidity: int, uidnext: int, messages: int) -> None:
        try:
            with transaction(self.sessions, "record the mailbox position") as session:
                mailbox.record_quiet(session, self.folder_key, uidvalidity, uidnext, messages)
        except StorageError as exc:  # a convenience: the next poll merely SELECTs again
            self.log.warning("could not record the mailbox position: %s", exc)

    def _remember(self, uidvalidity: int, uid: int) -> None:
        try:
            with transaction(self.sessions, "record the mailbox position") as session:
                mailbox.record_last_uid(session, self.folder_key, uidvalidity, uid)
        except Exception as exc:  # the position is a convenience; the source keys are the guarantee
            raise StorageError(f"could not record the mailbox position: {exc}") from exc

    # --- the long-running loop ------------------------------------------------------------

    def run(self, backlog: bool = False, on_pass: Callable[[PassReport], None] | None = None) -> None:
        """Take in mail until stop(): IDLE where offered, else poll; reconnect after a drop."""
        delay = self.retry_seconds
        while not self._stopping.is_set():
            try:
                box = self.connect()
            except MailboxUnreachable as exc:
                self.log.error("%s; retrying in %g s", exc, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, self.max_retry_seconds)
                continue
            self._current = box
            try:
                idle = self.settings.idle and "IDLE" in box.client.capabilities
                self.log.info(
                    "watching %s in %s (%s)",
                    self.settings.folder,
                    self.where,
                    "IDLE" if idle else f"polling every {self.poll_seconds:g} s",
                )
                while not self._stopping.is_set():
                    report = self.take_in(box, backlog)
                    backlog = False
                    delay = self.retry_seconds
                    if on_pass:
                        on_pass(report)
                    if report.taken or report.duplicates or self._arrived_during(box, report):
                        continue  # mail that came during the pass was announced before IDLE: look again first
                    if idle:
                        imap_mail.idle_wait(box, self.idle_renew_seconds)
                    else:
                        self._stopping.wait(self.poll_seconds)
            except (MailboxUnreachable, StorageError) as exc:
                if not self._stopping.is_set():
                    self.log.error("%s; retrying in %g s", exc, delay)
                    self._stopping.wait(delay)
                    delay = min(delay * 2, self.max_retry_seconds)
            except IMAP_ERRORS as exc:
                if not self._stopping.is_set():
                    self.log.error("%s dropped the connection (%s); reconnecting in %g s", self.where, exc, delay)
                    self._stopping.wait(delay)
                    delay = min(delay * 2, self.max_retry_seconds)
            finally:
                self._current = None
                logout(box)

    def _arrived_during(self, box: BaseMailBox, report: PassReport) -> bool:
        """Did mail come while the pass ran? Its EXISTS was read (and dropped) during the pass, so IDLE
        would not hear of it; with another instance on the same mailbox, that pass may have taken none."""
        if not report.next_uid:
            return False
        try:
            found = box.uids(f"UID {report.next_uid}:* UNDELETED")
        except IMAP_ERRORS as exc:
            raise MailboxUnreachable(f"{self.where}: lost the connection while looking for new mail: {exc}") from exc
        return any(int(uid) >= report.next_uid for uid in found)  # "N:*" names the last message even below N

    def stop(self) -> None:
        """Ask run() to return; wakes an IDLE wait by shutting its socket."""
        self._stopping.set()
        box = self._current
        if box is not None:
            try:
                box.client.sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass
