"""Reply keys are kept private: only digests at rest, never in a mail body, bound to their member's address."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import make_msgid

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from samples import draft
from sqlalchemy import select
from support import OUR_ADDRESS, TEMPLATES, make_service, settings_for

from intake.replykeys import key_digest, key_from_address
from intake.resources import migrations_dir
from intake.service import Service
from intake.store.db import make_engine, upgrade
from intake.store.models import Event, Item, OutboxMessage, ReplyKey

SAM, DEPUTY, MALLORY = "sam@example.org", "deputy@example.org", "mallory@example.net"


@pytest.fixture
def service(tmp_path, migrated_url):
    service = make_service(tmp_path, migrated_url)  # a copy of the migrated template: no Alembic run per test
    yield service
    service.close()


def requests(service: Service) -> dict[str, EmailMessage]:
    """Each reviewer's review request, parsed, by recipient."""
    with service.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "review-request")).all()
        return {r.recipients[0]: message_from_bytes(r.raw, policy=default) for r in rows}  # type: ignore[misc]


def key_of(request: EmailMessage) -> str:
    key = key_from_address(str(request["Reply-To"]), OUR_ADDRESS)
    assert key is not None
    return key


def reply(service: Service, sender: str, body: str, *, to: str = OUR_ADDRESS, **headers: str):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = "Re: Fwd: Review draft from Jane Resident: Litter pick on Saturday"
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return service.ingest(msg.as_bytes(policy=SMTP), "smtp", envelope_recipients=[to])


def state(service: Service, ref: str) -> tuple[str, list[str], list[list[str]]]:
    """The item's status and approvals, and what each of its keys has been used for."""
    with service.sessions() as session:
        item = session.scalars(select(Item).where(Item.ref == ref)).one()
        uses = [k.used_for for k in session.scalars(select(ReplyKey).where(ReplyKey.item_id == item.id))]
        return item.status, list(item.approvals), uses


def test_the_database_keeps_only_digests_of_the_keys_it_sent(service):
    service.ingest(draft(), "file")
    keys = {key_of(r) for r in requests(service).values()}
    assert len(keys) == 3
    with service.sessions() as session:
        stored = [(k.digest, k.email, k.purpose) for k in session.scalars(select(ReplyKey))]
    assert {digest for digest, _, _ in stored} == {key_digest(k) for k in keys}
    assert not any(key in repr(stored) for key in keys)


def test_a_review_request_body_does_not_carry_its_key(service):
    service.ingest(draft(), "file")
    for request in requests(service).values():
        key = key_of(request)
        bodies = [part.get_content() for part in request.walk() if part.get_content_maintype() == "text"]
        assert len(bodies) == 2  # plain text and HTML
        for body in bodies:
            assert key not in body
            assert "Reply key" not in body
            assert "forwarding this email does not pass on your vote" in " ".join(body.split())


def test_a_forwarded_request_replied_to_by_someone_else_decides_nothing(service):
    ref = service.ingest(draft(), "file").ref
    request = requests(service)[SAM]
    forward_id = make_msgid(domain="example.org")
    thread = f"{request['Message-ID']} {forward_id}"  # what a reply to Sam's forward carries (Thunderbird, Gmail)
    # Mallory and the Deputy Clerk got Sam's forward; each replies to us in that thread,
    # Mallory once more to Sam's plus-address, read off a forward sent as an attachment.
    for outcome in (
        reply(service, MALLORY, "APPROVE", In_Reply_To=forward_id, References=thread),
        reply(service, DEPUTY, "APPROVE", In_Reply_To=forward_id, References=thread),
        reply(service, MALLORY, "APPROVE", to=str(request["Reply-To"])),
        reply(service, DEPUTY, "REJECT: not for us", to=str(request["Reply-To"])),
    ):
        assert (outcome.classification, outcome.ref) == ("reply", ref)  # recorded on the item
    status, approvals, uses = state(service, ref)
    assert (status, approvals) == ("in_review", [])
    assert all(used == [] for used in uses)  # no key spent, not even on a refusal
    with service.sessions() as session:
        item_id = session.scalars(select(Item.id).where(Item.ref == ref)).one()
        decisions = session.scalars(select(Event).where(Event.item_id == item_id, Event.kind == "decision")).all()
    assert [d.data["accepted"] for d in decisions] == [False, False, False, False]
    # Sam's own reply still decides: the forward spent nothing of his key.
    reply(service, SAM, "APPROVE", to=str(request["Reply-To"]))
    assert state(service, ref)[:2] == ("approved", [SAM])


def test_keys_stored_before_the_migration_become_digests_and_still_work(tmp_path, database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    service = Service.build(settings_for(tmp_path, database_url), template_cache=TEMPLATES)
    try:
        ref = service.ingest(draft(), "file").ref
        key = key_of(requests(service)[SAM])
        # Back to 0003, where the key itself was kept, as the service then stored it.
        config = Config()
        config.set_main_option("script_location", str(migrations_dir()))
        config.attributes["engine"] = engine
        command.downgrade(config, "0003")
        keys = sa.table("reply_keys", sa.column("key", sa.String()))
        with engine.begin() as conn:
            conn.execute(keys.update().where(keys.c.key == key_digest(key)).values(key=key))
            assert key in conn.execute(sa.select(keys.c.key)).scalars().all()
        upgrade(engine)
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT digest FROM reply_keys")).scalars().all()
        assert key not in stored and key_digest(key) in stored
        reply(service, SAM, "APPROVE", to=plus(key))
        assert state(service, ref)[:2] == ("approved", [SAM])
    finally:
        service.close()
        engine.dispose()


def plus(key: str) -> str:
    local, domain = OUR_ADDRESS.split("@")
    return f"{local}+{key}@{domain}"
