"""The SMAT roster and the account register in the database (policy 6.2), through the real pipeline.

A roster command by email changes nothing until the keyed CONFIRM comes back from the
asker's roster address; a forged From, a copied key or a plain "CONFIRM" change nothing;
a removed member's keys stop working; the Deputy's changes wait for the Clerk's review in
the digest; POSTED must name a registered account; every change is audited.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

import pytest
from samples import draft
from sqlalchemy import select
from support import OUR_ADDRESS, ROSTER, migrated, queued, write_config

from intake import cli
from intake.digest_mail import preview_digest
from intake.service import Service
from intake.store import roster
from intake.store.models import AuditLine, Member, OutboxMessage
from intake.store.unit import transaction

CLERK, DEPUTY, SAM, JO = "clerk@example.org", "deputy@example.org", "sam@example.org", "jo.bloggs@example.org"
NAMES = {p["email"]: p["name"] for p in ROSTER}


def mail(sender: str, body: str, *, to: str = OUR_ADDRESS, subject: str = "Roster", answering=None) -> bytes:
    """A message from `sender` as a mail client sends it; a reply when `answering` one of our mails."""
    msg = EmailMessage()
    msg["From"] = f"{NAMES.get(sender, 'Someone')} <{sender}>"
    msg["To"] = str(answering["Reply-To"]) if answering is not None else to
    msg["Subject"] = f"Re: {answering['Subject']}" if answering is not None else subject
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    if answering is not None:
        msg["In-Reply-To"] = answering["Message-ID"]
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def members(service: Service) -> dict[str, Member]:
    with service.sessions() as session:
        return {m.email: m for m in session.scalars(select(Member))}


def audit_lines(service: Service) -> list[tuple[str, str, str]]:
    with service.sessions() as session:
        return [(a.action, a.actor, a.subject) for a in session.scalars(select(AuditLine).order_by(AuditLine.id))]


def to(service: Service, purpose: str, address: str) -> list[EmailMessage]:
    return [m for m in queued(service, purpose) if address in str(m["To"])]


def confirmed(service: Service, sender: str, command: str) -> EmailMessage:
    """Send a roster command as `sender` and CONFIRM it through the confirmation mail they were sent."""
    service.ingest(mail(sender, command), "smtp")
    confirmation = to(service, "roster-confirmation", sender)[-1]
    service.ingest(mail(sender, "CONFIRM", answering=confirmation), "smtp")
    return confirmation


def test_an_emailed_add_changes_nothing_until_the_clerk_confirms_by_the_keyed_mail(service_for, database_url):
    service = service_for(database_url)
    service.ingest(mail(CLERK, f"ADD SMAT Jo Bloggs <{JO}>\n\nJo starts on Monday."), "smtp")
    assert JO not in members(service)  # asked, not done
    [confirmation] = to(service, "roster-confirmation", CLERK)
    assert "add Jo Bloggs <jo.bloggs@example.org> to SMAT" in str(confirmation["Subject"])
    assert str(confirmation["Reply-To"]).startswith("smat.info+")
    body = confirmation.get_body(("plain",)).get_content()
    assert "Nothing has changed yet" in body and "CONFIRM" in body

    service.ingest(mail(CLERK, "CONFIRM\n\nThanks", answering=confirmation), "smtp")
    jo = members(service)[JO]
    assert (jo.name, jo.role, jo.active, jo.awaiting_review) == ("Jo Bloggs", "smat", True, False)
    [answer] = to(service, "roster", CLERK)
    assert "Done: add Jo Bloggs <jo.bloggs@example.org> to SMAT" in str(answer["Subject"])
    # the new member is on the desk at once: the next draft's review request goes to them
    service.ingest(draft(), "smtp")
    assert len(to(service, "review-request", JO)) == 1
    actions = [(action, subject) for action, _, subject in audit_lines(service) if subject == JO]
    assert actions == [("requested", JO), ("confirmed", JO), ("added", JO)]


def test_a_forged_from_never_changes_the_roster(service_for, database_url):
    service = service_for(database_url)
    # Someone writes as the Clerk: the confirmation goes to the Clerk's roster address, not to them.
    service.ingest(mail(CLERK, "ADD SMAT Mallory <mallory@evil.example>"), "smtp")
    [confirmation] = to(service, "roster-confirmation", CLERK)
    assert confirmation["To"].addresses[0].addr_spec == CLERK
    assert "If you did not ask for this, do nothing" in confirmation.get_body(("plain",)).get_content()
    # a CONFIRM without the key (a new mail, or to our plain address) is no confirmation
    service.ingest(mail(CLERK, "CONFIRM"), "smtp")
    # the key, copied, sent from another address: refused
    service.ingest(mail("mallory@evil.example", "CONFIRM", answering=confirmation), "smtp")
    assert "mallory@evil.example" not in members(service)
    refusals = [(actor, subject) for action, actor, subject in audit_lines(service) if action == "refused"]
    assert ("mallory@evil.example", "add Mallory <mallory@evil.example> to SMAT") in refusals
    assert not to(service, "roster", "mallory@evil.example")  # a stranger's From is not answered
    # and a stranger asking is refused outright, no confirmation sent anywhere
    service.ingest(mail("mallory@evil.example", f"REMOVE SMAT {SAM}"), "smtp")
    assert members(service)[SAM].active
    assert len(queued(service, "roster-confirmation")) == 1


def test_only_the_clerk_and_deputy_may_ask_and_the_answer_says_why_not(service_for, database_url):
    service = service_for(database_url)
    service.ingest(mail(SAM, f"ADD SMAT Jo Bloggs <{JO}>"), "smtp")
    assert not queued(service, "roster-confirmation")
    [answer] = to(service, "roster", SAM)
    assert "Not done" in str(answer["Subject"])
    assert "only the Town Clerk and the Deputy Town Clerk" in answer.get_body(("plain",)).get_content()
    service.ingest(mail(CLERK, "REMOVE SMAT nobody@example.org"), "smtp")
    assert "is not an active member" in to(service, "roster", CLERK)[-1].get_body(("plain",)).get_content()


def test_a_removed_member_loses_every_reply_key_at_once(service_for, database_url):
    service = service_for(database_url)
    service.ingest(draft(), "smtp")
    [request] = to(service, "review-request", SAM)
    confirmed(service, CLERK, f"REMOVE SMAT {SAM}")
    assert not members(service)[SAM].active
    assert "Every reply address they were sent has stopped working" in (
        to(service, "roster", CLERK)[-1].get_body(("plain",)).get_content()
    )
    service.ingest(mail(SAM, "APPROVE", answering=request), "smtp")
    out = service.pipeline
    with service.sessions() as session:
        from intake.store.models import Item

        item = session.scalars(select(Item)).one()
        assert item.status == "in_review"
        assert any(e.kind == "decision" and "no longer an active member" in e.detail for e in item.events)
    assert out.settings.person(SAM) is not None and not out.settings.person(SAM).active
    service.ingest(draft(subject="Another one"), "smtp")
    assert len(to(service, "review-request", SAM)) == 1  # no new requests either


def test_the_deputys_urgent_change_awaits_the_clerks_review_in_the_digest(service_for, database_url):
    service = service_for(database_url)
    confirmed(service, DEPUTY, f"ADD SMAT Jo Bloggs <{JO}>")
    assert members(service)[JO].active and members(service)[JO].awaiting_review
    digest = preview_digest(service.settings, service.sessions).as_text()
    assert "Roster changes awaiting your review (1)" in digest
    assert f"Jo Bloggs <{JO}> added to SMAT by Deputy Clerk (Deputy Town Clerk)" in digest
    [review] = to(service, "roster-confirmation", CLERK)
    assert "urgent change" in review.get_body(("plain",)).get_content()
    # the Deputy cannot clear their own change; the Clerk's CONFIRM does
    service.ingest(mail(DEPUTY, "CONFIRM", answering=review), "smtp")
    assert members(service)[JO].awaiting_review
    service.ingest(mail(CLERK, "CONFIRM", answering=review), "smtp")
    assert not members(service)[JO].awaiting_review
    assert "Roster changes awaiting your review (0)" in preview_digest(service.settings, service.sessions).as_text()
    assert ("reviewed", CLERK, JO) in audit_lines(service)


def test_a_confirmation_works_once(service_for, sqlite_url):
    service = service_for(sqlite_url)
    confirmation = confirmed(service, CLERK, f"ADD SMAT Jo Bloggs <{JO}>")
    service.ingest(mail(CLERK, "CONFIRM", answering=confirmation), "smtp")
    assert "already been confirmed" in to(service, "roster", CLERK)[-1].get_body(("plain",)).get_content()


def test_an_out_of_office_answering_a_confirmation_confirms_nothing(service_for, sqlite_url):
    service = service_for(sqlite_url)
    service.ingest(mail(CLERK, f"ADD SMAT Jo Bloggs <{JO}>"), "smtp")
    [confirmation] = to(service, "roster-confirmation", CLERK)
    raw = mail(CLERK, "CONFIRM", answering=confirmation).replace(
        b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:"
    )
    outcome = service.ingest(raw, "smtp")
    assert outcome.classification == "automatic"
    assert JO not in members(service)


# --------------------------------------------------------------------------- POSTED and the register


def approved(service: Service) -> EmailMessage:
    service.ingest(draft(), "smtp")
    service.ingest(mail(SAM, "APPROVE", answering=to(service, "review-request", SAM)[0]), "smtp")
    return to(service, "ready-to-post", SAM)[0]


def test_posted_must_name_a_registered_account(service_for, database_url):
    service = service_for(database_url)
    ready = approved(service)
    service.ingest(mail(SAM, "POSTED Twitter https://x.com/someone/1", answering=ready), "smtp")
    [help_mail] = to(service, "help", SAM)
    text = help_mail.get_body(("plain",)).get_content()
    assert "names none of the council's registered accounts" in text
    assert "facebook testham (https://facebook.com/testham)" in text
    service.ingest(mail(SAM, "POSTED https://facebook.com/testham/posts/1", answering=ready), "smtp")
    with service.sessions() as session:
        from intake.store.models import Item

        assert session.scalars(select(Item.status)).one() == "posted"


def test_posted_is_refused_when_the_account_is_removed_from_the_register(service_for, sqlite_url):
    service = service_for(sqlite_url, overrides={})
    ready = approved(service)
    with transaction(service.sessions) as session:
        from intake.store import accounts

        accounts.remove_account(session, "facebook", "testham", "clerk@example.org")
    service.ingest(mail(SAM, "POSTED Facebook", answering=ready), "smtp")
    assert "no social media accounts are registered" in to(service, "help", SAM)[0].get_body(("plain",)).get_content()


# --------------------------------------------------------------------------- the command line


def run(config, *args: str) -> int:
    return cli.main(["--config", str(config), *args])


def test_roster_and_accounts_from_the_command_line(tmp_path, database_url, capsys):
    url = migrated(database_url)
    config = write_config(tmp_path, url)
    assert run(config, "roster", "add", "Jo Bloggs", "Jo@Town.example", "--by", "admin") == 0
    assert run(config, "roster", "remove", "comms@town.example", "--by", "admin") == 0
    assert run(config, "roster", "remove", "comms@town.example") == 1  # already gone: one sentence
    url_x = "https://x.com/TestTownTC"
    assert run(config, "accounts", "add", "x", "@TestTownTC", "--url", url_x, "--admin", "Comms") == 0
    assert run(config, "accounts", "remove", "facebook", "testham") == 0
    capsys.readouterr()
    assert run(config, "roster", "list") == 0
    listing = capsys.readouterr().out
    assert "Jo Bloggs <jo@town.example>  SMAT member  active  (added" in listing
    assert "Comms Officer <comms@town.example>  SMAT member  removed" in listing and "by admin" in listing
    assert run(config, "accounts", "list") == 0
    assert capsys.readouterr().out.strip() == "x @TestTownTC  https://x.com/TestTownTC  administered by Comms"
    assert run(config, "roster", "remove", "comms@town.example") == 1
    assert "not an active member of the roster" in capsys.readouterr().err
    settings = cli.config.load(config)
    service = Service.build(settings)
    try:
        with service.sessions() as session:
            people = {p.email: p for p in roster.roster_settings(session, settings).people}
            lines = [(a.area, a.action, a.subject) for a in session.scalars(select(AuditLine).order_by(AuditLine.id))]
        assert people["jo@town.example"].is_reviewer and not people["comms@town.example"].active
        assert ("roster", "added", "jo@town.example") in lines and ("roster", "removed", "comms@town.example") in lines
        assert ("accounts", "removed", "facebook testham") in lines and ("accounts", "added", "x @TestTownTC") in lines
        assert sum(1 for area, action, _ in lines if (area, action) == ("roster", "seeded")) == 5
    finally:
        service.close()


def test_init_seeds_the_roster_once_and_the_database_copy_rules_after(tmp_path, capsys):
    config = write_config(tmp_path)
    assert run(config, "init") == 0
    assert "seeded the roster with 5 people" in capsys.readouterr().out
    assert run(config, "roster", "remove", "comms@town.example", "--by", "admin") == 0
    assert run(config, "init") == 0  # the config still lists comms@: it does not come back
    capsys.readouterr()
    assert run(config, "roster", "list", "--json") == 0
    listed = {m["email"]: m for m in __import__("json").loads(capsys.readouterr().out)}
    assert listed["comms@town.example"]["active"] is False
    assert listed["clerk@town.example"]["role"] == "clerk"


def test_the_audit_log_cannot_be_changed(service_for, database_url):
    service = service_for(database_url)
    service.ingest(draft(), "smtp")  # seeds the roster: audited
    with pytest.raises(Exception, match="append-only"):
        with transaction(service.sessions) as session:
            session.execute(AuditLine.__table__.delete())
    with service.sessions() as session:
        assert session.scalars(select(OutboxMessage)).first() is not None


def test_a_config_roster_edited_after_seeding_is_reported_as_drift_not_obeyed(tmp_path, sqlite_url):
    config = write_config(tmp_path, migrated(sqlite_url))
    assert run(config, "init") == 0
    assert run(config, "roster", "remove", "comms@town.example", "--by", "admin") == 0
    settings = cli.config.load(config)  # still lists comms@ as an active SMAT member
    service = Service.build(settings)
    try:
        with service.sessions() as session:
            assert roster.drift(session, settings) == ("comms@town.example",)  # what `run` logs at start
            assert not roster.roster_settings(session, settings).person("comms@town.example").active
    finally:
        service.close()
