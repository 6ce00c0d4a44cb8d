"""Two decisions arriving together make one decision, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from email import message_from_bytes
from email.policy import default

from samples import draft
from sqlalchemy import select
from support import TEMPLATES, make_service

from intake.service import Service
from intake.store.models import Event, Item, OutboxMessage


def test_two_approvals_at_once_make_one_decision(tmp_path, database_url):
    # Two services on one database, as two instances would be.
    first = make_service(tmp_path, database_url)
    second = Service.build(first.settings, template_cache=TEMPLATES)
    try:
        for round_ in range(3):
            made = first.ingest(draft(subject=f"Round {round_}"), "file")
            with first.sessions() as session:
                item_id = session.scalars(select(Item.id).where(Item.ref == made.ref)).one()
                requests = {
                    r.recipients[0]: message_from_bytes(r.raw, policy=default)
                    for r in session.scalars(
                        select(OutboxMessage).where(
                            OutboxMessage.item_id == item_id, OutboxMessage.purpose == "review-request"
                        )
                    )
                }
            replies = [
                (
                    first,
                    draft(sender="clerk@example.org", subject="Re: review", body="APPROVE"),
                    requests["clerk@example.org"]["Reply-To"],
                ),
                (
                    second,
                    draft(sender="deputy@example.org", subject="Re: review", body="Approved!"),
                    requests["deputy@example.org"]["Reply-To"],
                ),
            ]
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def send(service, raw, reply_to, barrier=barrier, errors=errors):
                try:
                    barrier.wait(timeout=10)
                    service.ingest(raw, "smtp", envelope_recipients=[reply_to])
                except BaseException as exc:  # noqa: BLE001 - surfaced below
                    errors.append(exc)

            threads = [threading.Thread(target=send, args=reply) for reply in replies]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert errors == []

            with first.sessions() as session:
                item = session.get(Item, item_id)
                decisions = session.scalars(
                    select(Event).where(Event.item_id == item_id, Event.kind == "decision").order_by(Event.id)
                ).all()
                ready = session.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.item_id == item_id, OutboxMessage.purpose == "ready-to-post"
                    )
                ).all()
            assert item.status == "approved"
            outcomes = [(e.data["command"], e.data["accepted"]) for e in decisions]
            assert sorted(outcomes) == [("APPROVE", False), ("APPROVE", True)]
            loser = next(e for e in decisions if not e.data["accepted"])
            winner = next(e for e in decisions if e.data["accepted"])
            assert f"already been approved by {winner.actor}" in loser.data["reason"]
            assert (item.decided_by, item.approvals) == (winner.actor, [winner.actor])  # the typed state: one winner
            assert len(ready) == 3  # one ready-to-post per SMAT member, not two rounds of them
    finally:
        first.close()
        second.close()


def test_one_key_used_twice_at_once_makes_one_query(tmp_path, database_url):
    # The key is found before the item is locked; its uses must be read again once it is.
    first = make_service(tmp_path, database_url)
    second = Service.build(first.settings, template_cache=TEMPLATES)
    try:
        for round_ in range(3):
            made = first.ingest(draft(subject=f"Query round {round_}"), "file")
            with first.sessions() as session:
                item_id = session.scalars(select(Item.id).where(Item.ref == made.ref)).one()
                [request] = [
                    r
                    for r in session.scalars(
                        select(OutboxMessage).where(
                            OutboxMessage.item_id == item_id, OutboxMessage.purpose == "review-request"
                        )
                    )
                    if r.recipients == ["clerk@example.org"]
                ]
            reply_to = message_from_bytes(request.raw, policy=default)["Reply-To"]
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def send(service, question, barrier=barrier, errors=errors, reply_to=reply_to):
                try:
                    raw = draft(sender="clerk@example.org", subject="Re: review", body=f"QUERY {question}")
                    barrier.wait(timeout=10)
                    service.ingest(raw, "smtp", envelope_recipients=[reply_to])
                except BaseException as exc:  # noqa: BLE001 - surfaced below
                    errors.append(exc)

            threads = [threading.Thread(target=send, args=(s, q)) for s, q in ((first, "Who?"), (second, "When?"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert errors == []
            with first.sessions() as session:
                decisions = session.scalars(
                    select(Event).where(Event.item_id == item_id, Event.kind == "decision").order_by(Event.id)
                ).all()
                queries = session.scalars(
                    select(OutboxMessage).where(OutboxMessage.item_id == item_id, OutboxMessage.purpose == "query")
                ).all()
            assert sorted(e.data["accepted"] for e in decisions) == [False, True]
            assert "already been used to query" in next(e.data["reason"] for e in decisions if not e.data["accepted"])
            assert len(queries) == 1  # the drafter is asked once
    finally:
        first.close()
        second.close()


def test_two_instances_taking_in_the_same_message_make_one_item(tmp_path, database_url):
    first = make_service(tmp_path, database_url)
    second = Service.build(first.settings, template_cache=TEMPLATES)
    try:
        for round_ in range(3):
            raw = draft(subject=f"Seen by both instances {round_}")
            barrier = threading.Barrier(2)
            outcomes, errors = [], []

            def take(service, raw=raw, barrier=barrier, outcomes=outcomes, errors=errors, round_=round_):
                try:
                    barrier.wait(timeout=10)
                    outcomes.append(service.ingest(raw, "imap", f"imap:shared-mailbox:1:{round_}"))
                except BaseException as exc:  # noqa: BLE001 - surfaced below
                    errors.append(exc)

            threads = [threading.Thread(target=take, args=(s,)) for s in (first, second)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert errors == []
            assert sorted(o.duplicate for o in outcomes) == [False, True]
            with first.sessions() as session:
                items = session.scalars(select(Item).where(Item.subject == f"Seen by both instances {round_}")).all()
                assert len(items) == 1
                assert (
                    len(session.scalars(select(OutboxMessage).where(OutboxMessage.item_id == items[0].id)).all()) == 4
                )
    finally:
        first.close()
        second.close()
