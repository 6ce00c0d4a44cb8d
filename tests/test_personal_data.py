"""UK GDPR: a subject access export, erasure except public record, and the retention period.

Drafts go in through the pipeline and are decided by keyed replies; export, erase and
retention run through the real command line (`intake.cli.main`, in this process), on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import make_msgid

import pytest
from samples import TINY_JPEG, auto_reply, draft
from sqlalchemy import select, text, update
from support import TEMPLATES, migrated, write_config

from intake.cli import main
from intake.config import load
from intake.scheduler import RETENTION_JOB, make_scheduler
from intake.service import Service
from intake.store.models import Attachment, Blob, Erasure, Event, Item, Message, OutboxMessage, utcnow

JANE, BOB = "jane@example.com", "bob@example.net"
CLERK, COMMS = "clerk@town.example", "comms@town.example"
SECRET_WORDS = "Mrs Jenkins at 14 Mill Lane has kindly lent her garden"


@pytest.fixture
def desk(tmp_path, migrated_url):
    config = write_config(tmp_path, migrated_url, retention={"unpublished_months": 12})
    migrated(migrated_url)
    service = Service.build(load(config), template_cache=TEMPLATES)
    yield config, service
    service.close()


def submit(service: Service, sender: str, body: str, photos: int = 0) -> str:
    outcome = service.ingest(draft(sender=sender, subject=body[:20], body=body, photos=photos), "file")
    assert outcome.classification == "draft"
    return outcome.ref


def mail_to(service: Service, purpose: str, to: str, ref: str) -> EmailMessage:
    with service.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == purpose)).all()
        found = [message_from_bytes(r.raw, policy=default) for r in rows if to in r.recipients]
    mails = [m for m in found if f"[{ref}]" in str(m["Subject"])]
    assert mails, (purpose, to, ref)
    return mails[-1]  # type: ignore[return-value]


def reply(service: Service, sender: str, body: str, answering: EmailMessage) -> None:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(answering["Reply-To"])
    msg["Subject"] = f"Re: {answering['Subject']}"
    msg["Message-ID"] = make_msgid(domain="town.example")
    msg.set_content(body)
    service.ingest(msg.as_bytes(policy=SMTP), "smtp", envelope_recipients=[str(answering["Reply-To"])])


def publish(service: Service, ref: str) -> None:
    reply(service, CLERK, "APPROVE", mail_to(service, "review-request", CLERK, ref))
    reply(
        service,
        COMMS,
        "POSTED Facebook https://facebook.com/town/posts/1",
        mail_to(service, "ready-to-post", COMMS, ref),
    )
    assert item(service, ref).status == "posted"


def item(service: Service, ref: str) -> Item:
    with service.sessions() as session:
        return session.scalars(select(Item).where(Item.ref == ref)).one()


def everything_about(service: Service, ref: str) -> str:
    """Every word the database holds about one item: the item, its messages, files, history and mail."""
    with service.sessions() as session:
        found = session.scalars(select(Item).where(Item.ref == ref)).one()
        parts = [found.sender, found.sender_name, found.subject, found.text, json.dumps(found.flags)]
        parts += [r.raw.decode("latin-1") + r.sender + r.subject for r in found.messages]
        parts += [a.data.decode("latin-1") + a.filename for a in found.attachments]
        parts += [e.actor + e.detail + json.dumps(e.data) for e in found.events]
        mail = session.scalars(select(OutboxMessage).where(OutboxMessage.item_id == found.id)).all()
        parts += [m.raw.decode("latin-1") + json.dumps(m.recipients) for m in mail]
    return "\n".join(parts).lower()


def run_cli(config, capsys, *args: str) -> str:
    assert main(["--config", str(config), *args]) == 0
    return capsys.readouterr().out


def test_export_holds_everything_about_the_sender_and_nothing_about_anyone_else(desk, tmp_path, capsys):
    config, service = desk
    private = submit(service, JANE, SECRET_WORDS, photos=1)
    public = submit(service, "Jane+news@Example.com", "The fete is on Saturday.")
    publish(service, public)
    other = submit(service, BOB, "Bob's draft about the allotments.")
    service.ingest(auto_reply(sender=JANE), "file")

    out = run_cli(config, capsys, "export", "--sender", "JANE@example.com", "--out", str(tmp_path / "sar.zip"))

    assert "2 items" in out
    archive = zipfile.ZipFile(tmp_path / "sar.zip")
    held = json.loads(archive.read("held.json"))
    assert [entry["ref"] for entry in held["items"]] == [private, public]
    assert other not in archive.read("held.json").decode()
    first = held["items"][0]
    assert SECRET_WORDS in first["text"] and first["history"]
    assert SECRET_WORDS.encode() in archive.read(first["messages"][0]["file"])
    assert archive.read(first["files"][0]["file"]) == TINY_JPEG  # the photo exactly as it came
    assert [m["classification"] for m in held["messages"]] == ["automatic"]
    acks = [m for m in held["mail_to_you"] if m["purpose"] == "acknowledgement"]
    assert len(acks) == 2 and all(a["file"] in archive.namelist() for a in acks)
    assert (tmp_path / "sar.zip").stat().st_mode & 0o077 == 0  # the person's data: owner only


def test_erase_removes_the_person_except_published_posts_and_says_what_was_kept(desk, tmp_path, capsys):
    config, service = desk
    private = submit(service, JANE, SECRET_WORDS, photos=1)
    public = submit(service, JANE, "The fete is on Saturday.")
    publish(service, public)
    other = submit(service, BOB, "Bob's draft about the allotments.")
    before_other = everything_about(service, other)
    with service.sessions() as session:
        photo = session.scalars(select(Attachment.sent_sha256).join(Item).where(Item.ref == private)).all()
    assert photo and all(photo)  # the prepared copy our mail carried, kept once by content

    out = run_cli(config, capsys, "erase", "--sender", JANE)

    assert f"1 item(s) anonymised ({private})" in out
    assert f"kept {public}: published, so public record under policy §6.6" in out
    gone = everything_about(service, private)
    assert JANE not in gone and "jenkins" not in gone and "jane resident" not in gone
    anonymised = item(service, private)
    assert (anonymised.kind, anonymised.status, anonymised.received_at) == (
        "draft",
        "in_review",
        anonymised.received_at,
    )
    with service.sessions() as session:
        assert not session.scalars(select(Attachment).where(Attachment.item_id == anonymised.id)).all()
        kinds = [
            e.kind for e in session.scalars(select(Event).where(Event.item_id == anonymised.id).order_by(Event.id))
        ]
        acks = session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "acknowledgement")).all()
        erasure = session.scalars(select(Erasure)).one()
        blobs_left = session.scalars(select(Blob.sha256).where(Blob.sha256.in_(photo))).all()
    assert blobs_left == []  # the photo's copy went with the mail that carried it
    assert kinds[0] == "received" and kinds[-1] == "personal_data_erased"  # the lines stay, their words go
    assert all(JANE not in a.recipients and (a.raw == b"" or BOB in a.recipients) for a in acks)
    assert (erasure.reason, erasure.is_open, erasure.summary["items"]) == ("request", False, [private])
    assert JANE not in json.dumps(erasure.summary)
    kept = item(service, public)
    assert (kept.sender, kept.text, kept.status) == (JANE, "The fete is on Saturday.", "posted")
    assert everything_about(service, other) == before_other
    assert json.loads(run_cli(config, capsys, "show", private, "--json"))["ref"] == private

    # the history is still append-only once the erasure has committed
    with pytest.raises(Exception, match="append-only"), service.engine.begin() as conn:
        conn.execute(update(Event).values(detail="rewritten"))

    out = run_cli(config, capsys, "export", "--sender", JANE, "--out", str(tmp_path / "after.zip"))
    held = json.loads(zipfile.ZipFile(tmp_path / "after.zip").read("held.json"))
    assert [entry["ref"] for entry in held["items"]] == [public]


def test_erasing_a_reviewer_keeps_their_decisions_on_published_posts(desk, capsys):
    config, service = desk
    public = submit(service, JANE, "The fete is on Saturday.")
    publish(service, public)
    private = submit(service, BOB, "Bob's draft about the allotments.")
    reply(service, COMMS, "QUERY who took the photo?", mail_to(service, "review-request", COMMS, private))

    run_cli(config, capsys, "export", "--sender", COMMS, "--out", str(config.parent / "comms.zip"))
    held = json.loads(zipfile.ZipFile(config.parent / "comms.zip").read("held.json"))
    assert [(entry["email"], entry["active"]) for entry in held["roster"]] == [(COMMS, True)]  # their roster place

    out = run_cli(config, capsys, "erase", "--sender", COMMS)

    assert "kept their place on the SMAT roster: the record of who may approve posts" in out
    assert f"history line(s) naming them on {public}: published, so public record" in out
    with service.sessions() as session:
        events = session.scalars(select(Event).join(Item).where(Item.ref == public)).all()
        queried = session.scalars(select(Event).join(Item).where(Item.ref == private, Event.kind == "decision")).all()
    assert any(e.kind == "decision" and e.actor == COMMS and e.data["command"] == "POSTED" for e in events)
    assert [(e.actor, e.detail) for e in queried] == [("[erased]", "[erased]")]  # their words on an unpublished item
    assert item(service, private).sender == BOB  # Bob's draft is Bob's: only the reviewer's part of it went


def test_erase_refuses_the_intake_address_and_a_non_address(desk, capsys):
    config, _service = desk
    assert main(["--config", str(config), "erase", "--sender", "smat.info+abc@town.example"]) == 1
    assert main(["--config", str(config), "export", "--sender", "nobody"]) == 1
    assert "not an email address" in capsys.readouterr().err


def age(service: Service, ref: str, days: int) -> None:
    then = utcnow() - timedelta(days=days)
    with service.sessions.begin() as session:
        session.execute(update(Item).where(Item.ref == ref).values(received_at=then, updated_at=then))


def test_retention_erases_unpublished_items_after_the_period_and_keeps_published_ones(desk, capsys):
    config, service = desk
    old = submit(service, JANE, SECRET_WORDS, photos=1)
    old_public = submit(service, JANE, "The fete is on Saturday.")
    publish(service, old_public)
    recent = submit(service, BOB, "Bob's draft about the allotments.")
    service.ingest(auto_reply(sender=BOB), "file")
    age(service, old, 400)
    age(service, old_public, 400)
    age(service, recent, 300)
    with service.sessions.begin() as session:
        session.execute(
            update(Message).where(Message.item_id.is_(None)).values(received_at=utcnow() - timedelta(days=400))
        )

    out = run_cli(config, capsys, "retention", "--dry-run")
    assert f"would erase the personal data of 1 item(s) not published within 12 months ({old})" in out
    assert "1 other message(s)" in out and "jenkins" in everything_about(service, old)

    out = run_cli(config, capsys, "retention", "--apply")
    assert f"1 item(s) anonymised ({old})" in out
    assert "jenkins" not in everything_about(service, old) and JANE not in everything_about(service, old)
    assert item(service, old_public).text == "The fete is on Saturday."
    assert "allotments" in everything_about(service, recent)
    with service.sessions() as session:
        loose = session.scalars(select(Message).where(Message.item_id.is_(None))).all()
        assert [m.raw for m in loose] == [b""]
        assert session.scalars(select(Erasure.reason)).all() == ["retention"]
    assert "nothing to erase" in run_cli(config, capsys, "retention", "--apply")  # done once, not again


def test_retention_runs_every_night_with_the_service(desk):
    config, service = desk
    scheduler = make_scheduler(service.settings, lambda: None, apply_retention=service.apply_retention)
    job = scheduler.get_job(RETENTION_JOB)
    assert job is not None and "hour='3'" in str(job.trigger) and "minute='15'" in str(job.trigger)


def test_retention_months_are_read_from_the_config_and_checked(tmp_path, capsys):
    config = write_config(tmp_path, "sqlite:///x.db", retention={"unpublished_months": 0})
    assert main(["--config", str(config), "retention", "--dry-run"]) == 2
    assert "[retention] unpublished_months" in capsys.readouterr().err


def test_an_erased_database_has_no_open_erasure(desk):
    _config, service = desk
    with service.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM erasures WHERE is_open")).scalar() == 0


def test_acknowledgements_link_the_councils_privacy_notice(tmp_path, sqlite_url):
    notice = "https://www.town.example/privacy-notice"
    council = {"name": "Test Town Council", "timezone": "Europe/London", "privacy_url": notice}
    config = write_config(tmp_path, migrated(sqlite_url), council=council)
    service = Service.build(load(config), template_cache=TEMPLATES)
    try:
        ref = submit(service, JANE, "The fete is on Saturday.")
        ack = mail_to(service, "acknowledgement", JANE, ref)
        review = mail_to(service, "review-request", CLERK, ref)
    finally:
        service.close()
    text = ack.get_body(("plain",)).get_content()
    html = ack.get_body(("html",)).get_content()
    assert f"(privacy notice): {notice}" in text
    assert f'<a href="{notice}">' in html
    assert notice not in review.get_body(("plain",)).get_content()  # it is the drafter's, not the reviewers'


def test_without_a_privacy_notice_the_acknowledgement_promises_none(desk):
    _config, service = desk
    ref = submit(service, JANE, "The fete is on Saturday.")
    assert "privacy notice" not in str(mail_to(service, "acknowledgement", JANE, ref))


def test_a_privacy_notice_that_is_no_web_address_is_a_config_mistake(tmp_path, capsys):
    council = {"name": "Test Town Council", "privacy_url": "see the office"}
    config = write_config(tmp_path, "sqlite:///x.db", council=council)
    assert main(["--config", str(config), "items"]) == 2
    assert "[council] privacy_url" in capsys.readouterr().err
