"""Forged or repeated mail does not turn the service into an amplifier (issue 7 item 8).

Acknowledgements to a sender off the roster are capped (three an hour, then one note a day);
repeats of a draft are recorded on its item; automatic mail in a thread is recorded, never
forwarded; a greeting never echoes a display name nobody vouched for.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import make_msgid

import pytest
from samples import auto_reply, draft
from sqlalchemy import func, select, update
from support import OUR_ADDRESS, REVIEWERS, make_service, queued

from intake.service import Service
from intake.store.models import Event, Item, Message, OutboxMessage

VICTIM = "victim@example.net"
CLLR = "cllr.jones@example.org"


@pytest.fixture
def service(tmp_path, database_url):
    # The hour's share and its note, on their own: the day's cap is tests/test_autoresponder.py's.
    service = make_service(tmp_path, database_url, intake={"automatic_replies_per_day": 100})
    yield service
    service.close()


def forged(n: int, sender: str = VICTIM, name: str = "Victim Name", **headers: str) -> bytes:
    return draft(sender=sender, name=name, subject=f"Please post this {n}", body=f"Attack number {n}", **headers)


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return " ".join(body.get_content().split())


def kinds(service: Service, ref: str) -> list[str]:
    with service.sessions() as session:
        item_id = session.scalars(select(Item.id).where(Item.ref == ref)).one()
        return list(session.scalars(select(Event.kind).where(Event.item_id == item_id).order_by(Event.id)))


def count(service: Service, model: type) -> int:
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def an_hour_passes(service: Service) -> None:
    """Every item so far arrived 61 minutes earlier than it did (the history itself cannot be changed)."""
    with service.sessions() as session, session.begin():
        for item in session.scalars(select(Item)):
            item.received_at -= timedelta(minutes=61)


def test_a_flood_of_forged_drafts_gives_the_victim_three_acknowledgements_and_one_note(service):
    refs = [service.ingest(forged(n), "smtp").ref for n in range(10)]
    assert len(set(refs)) == 10  # each is still an item of its own, sent for review
    acks = queued(service, "acknowledgement")
    assert [a["To"].addresses[0].addr_spec for a in acks] == [VICTIM] * 4
    assert ["will not acknowledge each one" in text_of(a) for a in acks] == [False, False, False, True]
    assert "We have received 4 messages from you today" in text_of(acks[3])
    assert len(queued(service, "review-request")) == 3 * 10
    # Every held-back acknowledgement is on its item, for the digest to report.
    held = ["acknowledgement_held" in kinds(service, ref) for ref in refs]
    assert held == [False] * 3 + [True] * 7
    assert ["acknowledged" in kinds(service, ref) for ref in refs] == [True] * 4 + [False] * 6


def test_a_sub_address_tag_does_not_get_past_the_cap(service):
    for n in range(6):
        service.ingest(forged(n, sender=f"victim+{n}@example.net"), "smtp")
    assert len(queued(service, "acknowledgement")) == 4


def test_the_cap_is_per_hour_and_the_note_comes_once(service):
    for n in range(5):
        service.ingest(forged(n), "smtp")
    assert len(queued(service, "acknowledgement")) == 4
    an_hour_passes(service)
    later = [service.ingest(forged(n), "smtp").ref for n in range(5, 8)]
    acks = queued(service, "acknowledgement")
    assert len(acks) == 7  # a new hour: three more, one by one
    assert not any("will not acknowledge each one" in text_of(a) for a in acks[4:])
    assert all("acknowledged" in kinds(service, ref) for ref in later)


def test_the_cap_is_configurable(tmp_path, database_url):
    service = make_service(tmp_path, database_url, overrides={"intake": {"acknowledgements_per_hour": 1}})
    try:
        for n in range(3):
            service.ingest(forged(n), "smtp")
        acks = queued(service, "acknowledgement")
        assert ["will not acknowledge each one" in text_of(a) for a in acks] == [False, True]
    finally:
        service.close()


def test_a_councillor_sending_five_drafts_in_an_hour_hears_about_each(service):
    for n in range(5):
        service.ingest(draft(sender=CLLR, name="Somebody Else", subject=f"Post {n}", body=f"Draft {n}"), "smtp")
    acks = queued(service, "acknowledgement")
    assert len(acks) == 5
    assert all(text_of(a).startswith("Dear Cllr Jones,") for a in acks)  # the roster's name, not the display name


def test_an_acknowledgement_does_not_echo_an_unauthenticated_display_name(service):
    service.ingest(forged(1, name="Victim Name"), "smtp")
    [ack] = queued(service, "acknowledgement")
    assert text_of(ack).startswith("Hello,")
    assert "Victim Name" not in ack.as_string()
    assert ack["To"].addresses[0].display_name == ""


# --------------------------------------------------------------------------- repeats


def message_id(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=default)["Message-ID"])


def test_a_draft_in_the_thread_of_the_senders_earlier_draft_is_recorded_on_it(service):
    raw = draft()
    first_id = message_id(raw)
    first = service.ingest(raw, "smtp")
    mails = count(service, OutboxMessage)
    again = service.ingest(
        draft(subject="Re: Litter pick (with photo)", body="And here it is again", In_Reply_To=first_id), "smtp"
    )
    assert again.ref == first.ref
    assert count(service, Item) == 1
    # No acknowledgement and no new review requests; the new wording reaches each reviewer once.
    relayed = queued(service, "query")
    assert count(service, OutboxMessage) == mails + len(relayed) and len(relayed) == len(REVIEWERS)
    assert all("wrote again about" in text_of(m) and "And here it is again" in text_of(m) for m in relayed)
    assert kinds(service, first.ref).count("repeat_received") == 1
    with service.sessions() as session:
        assert session.scalars(select(func.count(Message.id)).where(Message.item_id == Item.id)).one() == 2


def test_the_same_subject_within_the_hour_is_folded_into_one_item(service):
    refs = {
        service.ingest(draft(subject=s), "smtp").ref for s in ("Litter pick", "Re: Litter pick", "FWD: litter  PICK")
    }
    assert len(refs) == 1
    assert len(queued(service, "review-request")) == 3  # one draft's worth
    assert queued(service, "query") == []  # the same words again: nothing for reviewers to read
    assert kinds(service, refs.pop()).count("repeat_received") == 2


def test_another_senders_draft_or_a_new_subject_is_a_new_item(service):
    first = service.ingest(draft(), "smtp").ref
    assert service.ingest(draft(sender="someone@example.com"), "smtp").ref != first
    assert service.ingest(draft(subject="Something else"), "smtp").ref != first


def test_a_repeat_after_an_hour_or_after_a_decision_is_a_new_item(service):
    first = service.ingest(draft(), "smtp").ref
    an_hour_passes(service)
    second = service.ingest(draft(), "smtp").ref
    assert second != first
    with service.sessions() as session, session.begin():
        session.execute(update(Item).where(Item.ref == second).values(status="approved"))
    assert service.ingest(draft(subject="Re: Litter pick on Saturday"), "smtp").ref not in (first, second)


def test_a_thread_of_someone_elses_draft_is_not_a_repeat(service):
    raw = draft()
    first_id = message_id(raw)
    first = service.ingest(raw, "smtp").ref
    other = service.ingest(draft(sender="mallory@example.net", subject="Hijack", In_Reply_To=first_id), "smtp")
    assert other.ref != first


# --------------------------------------------------------------------------- automatic mail in a thread


def test_out_of_office_replies_in_a_thread_are_recorded_and_never_forwarded(service):
    ref = service.ingest(draft(), "smtp").ref
    requests = queued(service, "review-request")
    [ack] = queued(service, "acknowledgement")
    mails, items = count(service, OutboxMessage), count(service, Item)
    for _ in range(3):
        for request in requests:  # each reviewer's out-of-office, to the plus-address and in the thread
            reply_to = str(request["Reply-To"])
            away = auto_reply(sender=request["To"].addresses[0].addr_spec)
            away = away.replace(b"To: " + OUR_ADDRESS.encode(), b"To: " + reply_to.encode())
            outcome = service.ingest(away, "smtp", envelope_recipients=[reply_to])
            assert (outcome.classification, outcome.ref) == ("automatic", ref)
        # The drafter's autoresponder answering the acknowledgement, marked only by its subject.
        msg = EmailMessage()
        msg["From"] = "jane@example.com"
        msg["To"] = OUR_ADDRESS
        msg["Subject"] = f"Out of office: {ack['Subject']}"
        msg["In-Reply-To"] = ack["Message-ID"]
        msg["Message-ID"] = make_msgid(domain="example.com")  # each a message of its own, not a copy
        msg.set_content("I am away until Monday.")
        outcome = service.ingest(msg.as_bytes(policy=SMTP), "smtp")
        assert (outcome.classification, outcome.ref, outcome.duplicate) == ("automatic", ref, False)
    assert (count(service, OutboxMessage), count(service, Item)) == (mails, items)
    assert kinds(service, ref).count("automatic_mail_received") == 3 * (len(requests) + 1)
