"""The command line in a temp folder: through `cli.main` in this process (as the console script calls it,
with its own stdout, stderr, working folder and environment), and as a real subprocess
(`python -m intake …`) where the process itself is what is checked: the entry point, a config
mistake with no traceback, and `run` stopping on a signal."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import smtplib
import socket
import stat
import subprocess
import sys
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from servers import free_port
from sqlalchemy import select
from support import (
    TEMPLATES,
    TOWN_MAILBOX,
    TOWN_REVIEWERS,
    migrated,
    run_cli,
    wait_for_port,
    wait_until,
    write_config,
)

from intake.config import load
from intake.service import Service
from intake.store.db import make_engine
from intake.store.models import Item
from intake.vocab import Kind, Status

MESSAGES = Path(__file__).resolve().parent / "messages"
REF = re.compile(r"^SMAT-\d{4}-\d{4}$")
ITEM_FIELDS = {
    "ref",
    "kind",
    "status",
    "sender",
    "sender_role",
    "subject",
    "text",
    "received_at",
    "flags",
    "attachments",
    "decisions",
}


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SMAT_INTAKE_CONFIG", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def intake_process(
    config: Path | None, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """`python -m intake …` as a real process."""
    command = [sys.executable, "-m", "intake"]
    if config is not None:
        command += ["--config", str(config)]
    return subprocess.run(
        command + list(args),
        cwd=cwd or (config.parent if config else None),
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def intake(
    config: Path | None, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`smat-intake [--config CONFIG] …` through cli.main in this process, in the config's folder."""
    argv = (["--config", str(config)] if config is not None else []) + list(args)
    return run_cli(argv, cwd=cwd or (config.parent if config is not None else None), env=env or cli_env())


def init_db(config: Path) -> None:
    """What `init` does to the database, in this process: a template copy (the subprocess form is tested below)."""
    migrated(load(config).database_url)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """A failed command: non-zero, no traceback, exactly one line on stderr saying what is wrong."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("smat-intake: "), lines
    return lines[0]


# --- a desk with two items, shared by the read-only tests -------------------------------


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """A config in a temp folder, `init` run, and two drafts ingested from files (oldest first)."""
    folder = tmp_path_factory.mktemp("desk")
    config = write_config(folder)
    init_db(config)
    refs = []
    for name in ("plain_draft.eml", "two_photos.eml"):
        result = intake(config, "ingest", str(MESSAGES / name))
        assert result.returncode == 0, result.stderr
        match = re.match(r"^draft (SMAT-\d{4}-\d{4}): ", result.stdout)
        assert match, result.stdout
        refs.append(match.group(1))
    return config, refs


def test_help_lists_every_command():
    result = intake_process(None, "--help")
    assert result.returncode == 0
    for command in ("init", "run", "poll", "deliver", "items", "show"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), (
            f"{command} missing from --help:\n{result.stdout}"
        )


def test_init_twice_succeeds(tmp_path):
    config = write_config(tmp_path)
    first = intake(config, "init")
    second = intake(config, "init")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert first.stdout.splitlines()[0] == second.stdout.splitlines()[0]
    assert "database ready at revision" in first.stdout
    # the roster and register are seeded from the config once; after that the database's copy rules
    assert "seeded the roster with 5 people and the register with 1 account(s)" in first.stdout
    assert "seeded" not in second.stdout
    assert (tmp_path / "var" / "smat.db").exists()


def test_init_makes_the_secret_file_when_the_config_names_none(tmp_path):
    config = write_config(tmp_path, security={"secret_file": "keys/secret.key"})
    secret_file = tmp_path / "keys" / "secret.key"
    first = intake(config, "init")
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert f"reply-key secret made in {secret_file}" in first.stdout
    secret = secret_file.read_bytes()
    second = intake(config, "init")
    assert second.returncode == 0, second.stderr
    assert "reply-key secret" not in second.stdout  # kept, not made again
    assert secret_file.read_bytes() == secret
    assert load(config).security.secret == secret.strip()


@pytest.mark.parametrize("command", [("ingest", str(MESSAGES / "plain_draft.eml")), ("deliver",), ("poll", "--once")])
def test_a_command_that_needs_the_secret_before_init_says_to_run_init(tmp_path, command):
    config = write_config(tmp_path, security=None)
    init_db(config)  # the database is ready; only the secret is missing
    result = intake(config, *command)
    line = one_line_error(result)
    assert result.returncode == 2
    assert f"{config}: [security] no secret yet: run `smat-intake init` first" in line
    assert not (tmp_path / "var" / "secret.key").exists()
    assert intake(config, "items").returncode == 0  # reading the desk needs no secret


def test_items_offers_only_the_states_and_kinds_the_service_sets():
    result = intake(None, "items", "--help")
    assert result.returncode == 0
    assert "{" + ",".join(Status) + "}" in result.stdout.replace("\n", "").replace(" ", "")
    assert "{" + ",".join(Kind) + "}" in result.stdout
    assert {"actioned", "answered"} <= set(Status)  # set by ACTIONED and RESPOND
    for never_set in ("received", "closed"):
        refused = intake(None, "--config", "unused.toml", "items", "--status", never_set)
        assert refused.returncode == 2 and "invalid choice" in refused.stderr


def test_command_before_init_says_to_run_init(tmp_path):
    config = write_config(tmp_path)
    line = one_line_error(intake(config, "items"))
    assert "has not been initialised" in line
    assert "smat-intake init" in line


def test_ingest_queues_and_writes_acknowledgement_and_review_requests(desk):
    config, refs = desk
    outbox = config.parent / "outbox"
    mail = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(outbox.glob("*.eml"))]
    first = [m for m in mail if f"[{refs[0]}]" in m["Subject"]]
    assert sorted((m["X-Envelope-To"], m["X-SMAT-Purpose"]) for m in first) == sorted(
        [("<jane.doe@example.org>", "acknowledgement")] + [(f"<{r}>", "review-request") for r in TOWN_REVIEWERS]
    )


def test_items_json_prints_the_interface_fields_newest_first(desk):
    config, refs = desk
    result = intake(config, "items", "--json")
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert isinstance(items, list)
    assert [i["ref"] for i in items] == list(reversed(refs))
    for item in items:
        assert ITEM_FIELDS <= set(item), ITEM_FIELDS - set(item)
        assert REF.match(item["ref"])
        assert (item["kind"], item["status"], item["sender_role"]) == ("draft", "in_review", "public")
        received = datetime.fromisoformat(item["received_at"])
        assert received.tzinfo is not None and re.search(r"[+-]\d\d:\d\d$", item["received_at"])
        assert item["flags"] == [] or all(set(f) >= {"rule", "section", "severity", "excerpt"} for f in item["flags"])
        assert item["decisions"] == []
    photos, plain = items
    assert plain["sender"] == "jane.doe@example.org"
    assert plain["subject"] == "Draft: Summer fête on the green"
    assert "The Summer fête is back on the green" in plain["text"]
    assert plain["attachments"] == []
    assert photos["sender"] == "tom@example.net"
    assert photos["attachments"] == [
        {"filename": "market-stall.jpg", "content_type": "image/jpeg", "size": 160},
        {"filename": "attachment-2.jpg", "content_type": "image/jpeg", "size": 160},
    ]


def test_items_filters_by_status_and_kind(desk):
    config, refs = desk
    in_review = json.loads(intake(config, "items", "--json", "--status", "in_review", "--kind", "draft").stdout)
    assert [i["ref"] for i in in_review] == list(reversed(refs))
    assert json.loads(intake(config, "items", "--json", "--kind", "report").stdout) == []


def test_show_json_prints_one_item_with_its_history(desk):
    config, refs = desk
    result = intake(config, "show", refs[0].lower(), "--json")
    assert result.returncode == 0, result.stderr
    item = json.loads(result.stdout)
    assert isinstance(item, dict)
    assert ITEM_FIELDS <= set(item)
    assert item["ref"] == refs[0]
    kinds = [event["kind"] for event in item["history"]]
    assert kinds[0] == "received"
    assert kinds.count("acknowledged") == 1
    assert kinds.count("review_requested") == 3
    assert kinds.count("mail_sent") == 4
    assert all(datetime.fromisoformat(event["at"]).tzinfo is not None for event in item["history"])


def test_show_text_names_the_item_and_its_history(desk):
    config, refs = desk
    result = intake(config, "show", refs[1])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{refs[1]}  draft  in_review")
    assert "File:      market-stall.jpg (image/jpeg, 160 bytes)" in result.stdout
    assert "History:" in result.stdout


def test_show_unknown_ref_is_one_line_without_traceback(desk):
    config, _ = desk
    line = one_line_error(intake(config, "show", "SMAT-1999-0999"))
    assert "there is no item SMAT-1999-0999" in line


def test_config_is_found_through_the_environment_variable(desk, tmp_path):
    config, refs = desk
    env = {**cli_env(), "SMAT_INTAKE_CONFIG": str(config)}
    result = intake(None, "items", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert [i["ref"] for i in json.loads(result.stdout)] == list(reversed(refs))


# --- mistakes --------------------------------------------------------------------------


def test_config_mistake_is_one_sentence_naming_file_and_key(tmp_path):
    config = write_config(tmp_path, listener={"host": "127.0.0.1", "port": "abc"})
    result = intake_process(config, "init")
    assert result.returncode == 2
    line = one_line_error(result)
    assert str(config) in line
    assert "[listener] port must be a whole number" in line


def test_missing_default_config_says_how_to_make_one(tmp_path):
    line = one_line_error(intake(None, "items", cwd=tmp_path))
    assert "config.toml: no such config file" in line


def test_poll_once_with_unreachable_mailbox_exits_non_zero_with_one_line(tmp_path):
    port = free_port()
    imap = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": TOWN_MAILBOX,
        "password": "x",
        "timeout": 5,
    }
    config = write_config(tmp_path, imap=imap)
    init_db(config)
    line = one_line_error(intake(config, "poll", "--once"))
    assert f"127.0.0.1:{port}" in line
    assert "cannot be reached" in line


def test_poll_once_without_imap_section_says_so(tmp_path):
    config = write_config(tmp_path)
    init_db(config)
    line = one_line_error(intake(config, "poll", "--once"))
    assert "[imap] is not configured" in line


def test_deliver_with_relay_down_exits_non_zero_and_keeps_the_mail(tmp_path):
    port = free_port()
    config = write_config(tmp_path, smtp={"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5})
    init_db(config)
    service = Service.build(load(config), template_cache=TEMPLATES)
    try:
        assert service.ingest((MESSAGES / "plain_draft.eml").read_bytes(), "file").mail_queued == 4
    finally:
        service.close()
    result = intake(config, "deliver")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "waiting 4" in result.stdout
    assert f"127.0.0.1:{port}" in result.stderr


# --- run -------------------------------------------------------------------------------


def start_run(config: Path) -> subprocess.Popen:
    # aiosmtpd waits its whole ready_timeout (10 s) when it cannot bind; 2 s is plenty here
    return subprocess.Popen(
        [sys.executable, "-m", "intake", "--config", str(config), "run"],
        cwd=config.parent,
        env={**cli_env(), "AIOSMTPD_CONTROLLER_TIMEOUT": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def listening_config(tmp_path: Path, port: int | None = None) -> tuple[Path, int]:
    """A config whose listener takes `port` (a free one if none) on 127.0.0.1, its database made: (config, port)."""
    port = free_port() if port is None else port
    config = write_config(tmp_path, listener={"host": "127.0.0.1", "port": port})
    init_db(config)
    return config, port


def wait_serving(proc: subprocess.Popen, port: int) -> None:
    """Until `run` (proc) accepts connections on its listener; fails at once if it has ended."""
    wait_for_port("127.0.0.1", port, timeout=20, alive=lambda: proc.poll() is None)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_takes_a_draft_over_smtp_writes_mail_and_stops_cleanly(tmp_path, signum):
    config, port = listening_config(tmp_path)
    outbox = tmp_path / "outbox"

    proc = start_run(config)
    try:
        wait_serving(proc, port)

        draft = EmailMessage()
        draft["From"] = "Cllr Example <cllr@town.example>"
        draft["To"] = TOWN_MAILBOX
        draft["Subject"] = "Draft: road closure on Shortmead Street"
        draft["Message-ID"] = "<road-closure-1@town.example>"
        draft.set_content("Shortmead Street is closed on Sunday for resurfacing.\n")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            assert client.send_message(draft) == {}

        def four_files() -> list[Path] | None:
            found = sorted(outbox.glob("*.eml"))
            return found if len(found) >= 4 else None

        files = wait_until(four_files, timeout=20, what="4 .eml files in the outbox folder")
        mail = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]
        assert sorted((m["X-Envelope-To"], m["X-SMAT-Purpose"]) for m in mail) == sorted(
            [("<cllr@town.example>", "acknowledgement")] + [(f"<{r}>", "review-request") for r in TOWN_REVIEWERS]
        )
        refs = {re.search(r"\[(SMAT-\d{4}-\d{4})\]", m["Subject"]).group(1) for m in mail}
        assert len(refs) == 1

        proc.send_signal(signum)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"run did not stop within 15 s of {signal.Signals(signum).name}")
        _, stderr = proc.communicate(timeout=5)
        assert proc.returncode == 0, stderr
        assert "Traceback" not in stderr
        assert len(list(outbox.glob("*.eml"))) == 4  # nothing sent twice on the way out
    finally:
        stop(proc)

    # the item was committed, with the sender's role from the roster
    engine = make_engine(load(config).database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Item.ref, Item.sender, Item.sender_role, Item.status)).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [(refs.pop(), "cllr@town.example", "councillor", "in_review")]


def test_run_with_listener_port_taken_names_host_and_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config, port = listening_config(tmp_path, taken.getsockname()[1])
        proc = start_run(config)
        try:
            _, stderr = proc.communicate(timeout=30)
        finally:
            stop(proc)
    assert proc.returncode != 0
    assert "Traceback" not in stderr
    assert f"[listener] cannot listen on 127.0.0.1:{port}" in stderr


def test_poll_once_says_when_the_mailbox_is_as_the_last_look_left_it(tmp_path, mailbox, smtp_sink):
    from support import imap_section

    smtp = {"host": smtp_sink.host, "port": smtp_sink.port, "security": "none"}
    config = write_config(tmp_path, imap=imap_section(mailbox), smtp=smtp)
    init_db(config)
    first = intake(config, "poll", "--once")
    second = intake(config, "poll", "--once")

    assert first.returncode == second.returncode == 0
    assert "as the last look left it" not in first.stdout
    assert "took in 0 message(s)" in second.stdout and "as the last look left it" in second.stdout
