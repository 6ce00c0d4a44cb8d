"""Tests for intake.replies: golden replies in tests/replies (one per mail client) plus focused checks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import inscriptis
import pytest

from intake.commands import default_registry
from intake.message import InboundMessage, parse
from intake.replies import Command, new_text, read_command

REPLIES = Path(__file__).parent / "replies"
EXPECTED: dict[str, dict] = json.loads((REPLIES / "expected.json").read_text(encoding="utf-8"))
GOLDEN = sorted(REPLIES.glob("*.eml"))
WITH_HTML = [p for p in GOLDEN if b"Content-Type: text/html" in p.read_bytes()]

# Lines of the review request we send (templates/review-request): none may survive in new text.
REQUEST_MARKERS = (
    "Dear ",
    "waiting for review by SMAT",
    "approve the draft for posting",
    "REJECT reason",
    "Reply key:",
    "Come along to the fun run",
)
DRAFT = "Come along to the fun run in Biggleswade Park on Sunday!"


def load(name: str) -> InboundMessage:
    """Parse one golden reply by stem."""
    return parse((REPLIES / f"{name}.eml").read_bytes())


def command_of(msg: InboundMessage) -> Command | None:
    """The command the pipeline would read from a message."""
    return read_command(new_text(msg))


def as_dict(command: Command | None) -> dict | None:
    """A command as the golden table spells it."""
    return None if command is None else dataclasses.asdict(command)


def expected(name: str) -> dict | None:
    """The golden table's command for a fixture."""
    entry = EXPECTED[name]
    return None if entry["verb"] is None else {k: entry[k] for k in ("verb", "argument", "body")}


def reply(body: str, content_type: str = "text/plain") -> InboundMessage:
    """A minimal reply with the given body."""
    raw = (
        "From: Sarah Clerk <clerk@example.gov.uk>\nTo: smat.info+key@example.gov.uk\n"
        "Subject: Re: [SMAT-2026-0042] Review draft\nMIME-Version: 1.0\n"
        f"Content-Type: {content_type}; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}"
    )
    return parse(raw.encode("utf-8"))


# --------------------------------------------------------------------------- golden replies


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_parse_reads_the_quoted_review_request_and_its_command_list_from_every_client(path: Path) -> None:
    msg = parse(path.read_bytes())
    assert "approve the draft for posting" in msg.text
    assert "APPROVE" in msg.text and "HELP" in msg.text


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_reply_command_matches_its_golden_expectation(path: Path) -> None:
    assert as_dict(command_of(parse(path.read_bytes()))) == expected(path.stem)


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_new_text_never_holds_the_quoted_review_request(path: Path) -> None:
    text = new_text(parse(path.read_bytes()))
    for marker in REQUEST_MARKERS:
        assert marker not in text, marker
    assert "wrote:" not in text and "Original" not in text and "Sent from" not in text


@pytest.mark.parametrize("path", WITH_HTML, ids=[p.stem for p in WITH_HTML])
def test_html_form_alone_gives_the_same_command(path: Path) -> None:
    msg = parse(path.read_bytes())
    assert msg.html is not None
    html_only = dataclasses.replace(msg, text=inscriptis.get_text(msg.html), text_from_html=True)
    assert as_dict(command_of(html_only)) == expected(path.stem)


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_crlf_line_endings_give_the_same_command(path: Path) -> None:
    raw = path.read_bytes().replace(b"\n", b"\r\n")
    assert as_dict(command_of(parse(raw))) == expected(path.stem)


def test_html_only_fixtures_are_read_from_their_html() -> None:
    for name in EXPECTED:
        assert load(name).text_from_html == name.endswith("_html_only"), name


# --------------------------------------------------------------------------- behaviour, by client


def test_reply_quoted_by_outlook_is_not_a_command() -> None:
    msg = load("outlook_desktop_quoted_only")
    assert new_text(msg) == "Thanks, I'll look at this properly tomorrow morning."
    assert command_of(msg) is None


def test_reply_with_nothing_above_the_quote_is_not_a_command() -> None:
    msg = load("gmail_nothing_written")
    assert new_text(msg) == ""
    assert command_of(msg) is None


def test_prose_mentioning_approve_is_not_an_approval() -> None:
    assert command_of(load("gmail_wont_approve")) is None
    assert read_command("I won't approve this") is None


def test_outlook_unmarked_review_request_below_from_sent_is_cut() -> None:
    assert new_text(load("outlook_desktop")) == "Escalate \u2013 this names a councillor, the Clerk should see it."
    assert new_text(load("outlook_desktop_html_only")) == "Approve"


def test_outlook_original_message_separator_cuts_the_unmarked_quote() -> None:
    command = command_of(load("outlook_desktop_original_message"))
    assert command == Command("QUERY", "Do we have the parents\u2019 consent for the photo?", "Regards\nSarah")


def test_outlook_web_reply_header_cuts_the_quote_in_text_and_html() -> None:
    assert new_text(load("outlook_web")) == "Rejected - the date is wrong, the run is on the 21st."
    assert new_text(load("outlook_web_html_only")) == "HELP"


def test_edit_body_is_exactly_the_new_post_text_not_the_quoted_draft() -> None:
    command = command_of(load("gmail_edit_multiline"))
    assert command is not None and command.verb == "EDIT"
    assert command.argument == "Fun run in Biggleswade Park this Sunday!"
    assert command.body == (
        "Starts 10am at the bandstand.\n\n- 5k and 10k routes\n- Free water stations\n\n"
        "All welcome, bring the family.\nThanks, everyone!\n#Biggleswade"
    )
    assert DRAFT not in command.body


def test_edit_in_an_html_only_apple_reply_keeps_its_paragraphs() -> None:
    assert command_of(load("apple_mail_html_only")) == Command(
        "EDIT", "", "Fun run in Biggleswade Park this Sunday at 10am.\n\nAll welcome!"
    )


def test_thunderbird_bottom_posted_reply_reads_the_text_below_the_quote() -> None:
    for name in ("thunderbird_bottom", "thunderbird_bottom_html"):
        assert new_text(load(name)) == "APPROVE Fine by me.", name
    assert command_of(load("thunderbird_bottom_html_only")) == Command(
        "EDIT", "", "Fun run in Biggleswade Park this Sunday.\n\nEveryone welcome!"
    )


def test_sent_from_my_iphone_and_its_quote_are_cut() -> None:
    assert new_text(load("iphone")) == "Approved!"
    assert command_of(load("iphone")) == Command("APPROVE", "", "")


def test_mobile_sign_offs_are_cut() -> None:
    assert new_text(load("hotmail")).endswith("All welcome \u2013 bring the family!")
    assert new_text(load("android_samsung")).startswith("Reject Not a council event")
    assert "Galaxy" not in new_text(load("android_samsung_html_only"))


def test_yahoo_unmarked_indented_quote_is_cut() -> None:
    assert new_text(load("yahoo")) == "help"
    assert new_text(load("yahoo_html_only")) == "Approve.\nLovely."


def test_quoted_printable_soft_wrapped_reason_is_one_line() -> None:
    raw = (REPLIES / "qp_soft_wrapped.eml").read_bytes()
    assert b"=\n" in raw.split(b"From: Biggleswade")[0]  # the reason really is wrapped on the wire
    command = command_of(parse(raw))
    assert command is not None and command.verb == "REJECT"
    assert command.argument.endswith("please ask Jane for one without faces.")
    assert command.body == ""


# --------------------------------------------------------------------------- behaviour, own rules


def test_signature_after_dash_dash_is_cut() -> None:
    assert new_text(reply("APPROVE looks good\n\n-- \nSarah Clerk\nTown Clerk\n")) == "APPROVE looks good"


def test_short_quote_above_a_bottom_posted_reply_is_skipped() -> None:
    msg = reply("> Reference: SMAT-2026-0042\n\nREJECT no thanks\n")
    assert command_of(msg) == Command("REJECT", "no thanks", "")


def test_interleaved_reply_keeps_only_the_first_block_of_new_text() -> None:
    msg = reply(
        "On 10/06/2026 09:14, SMAT wrote:\n> Dear Town Clerk,\n> line\n> line\n\nEDIT\nNew post text\n\n"
        "> APPROVE [note]          approve the draft for posting\n> more\n> more\n\nlater remark\n"
    )
    assert command_of(msg) == Command("EDIT", "", "New post text")


def test_header_like_lines_in_an_edited_post_are_kept() -> None:
    msg = reply(
        "EDIT\nFun run\nDate: Sunday 14 June\nTo: everyone in town\n\n"
        "On Wed, 10 Jun 2026 at 09:14, SMAT <s@example.gov.uk> wrote:\n> APPROVE [note]\n> x\n"
    )
    assert command_of(msg) == Command("EDIT", "", "Fun run\nDate: Sunday 14 June\nTo: everyone in town")


def test_attribution_in_another_language_still_hides_the_quoted_commands() -> None:
    msg = reply("Merci\n\nLe mer. 10 juin 2026 à 09:14, SMAT <s@example.gov.uk> a écrit :\n> APPROVE [note]\n> x\n")
    assert new_text(msg) == "Merci"
    msg = reply("Am Mi., 10. Juni 2026 um 09:14 Uhr schrieb SMAT <s@example.gov.uk>:\n> APPROVE [note]\n> x\n")
    assert command_of(msg) is None


def test_yahoo_attribution_running_into_the_quote_is_cut() -> None:
    msg = reply(
        "Approve\n\nOn Wednesday, 10 June 2026, 09:14, SMAT <s@example.gov.uk> wrote: Dear Town Clerk, APPROVE\n"
    )
    assert new_text(msg) == "Approve"


def test_unreadable_html_falls_back_to_the_converted_text() -> None:
    msg = dataclasses.replace(reply("APPROVE\n"), html="   ", text_from_html=True)
    assert command_of(msg) == Command("APPROVE", "", "")


def test_html_text_after_a_cited_quote_is_kept() -> None:
    msg = reply('<blockquote type="cite">On x wrote:<br>APPROVE [note]</blockquote>REJECT wrong date', "text/html")
    assert command_of(msg) == Command("REJECT", "wrong date", "")


# --------------------------------------------------------------------------- reading the command


@pytest.mark.parametrize(
    ("text", "verb", "argument", "body"),
    [
        ("Approved!", "APPROVE", "", ""),
        ("approve.", "APPROVE", "", ""),
        ("APPROVE:", "APPROVE", "", ""),
        ("*Approve*", "APPROVE", "", ""),
        ("Approve - nice one", "APPROVE", "nice one", ""),
        ("reject: too political", "REJECT", "too political", ""),
        ("REJECTED \u2013 wrong date", "REJECT", "wrong date", ""),
        ("Escalate", "ESCALATE", "", ""),
        ("query: who took the photo?", "QUERY", "who took the photo?", ""),
        (
            "POSTED @biggleswadetc https://x.com/biggleswadetc/1",
            "POSTED",
            "@biggleswadetc https://x.com/biggleswadetc/1",
            "",
        ),
        ("withdraw", "WITHDRAW", "", ""),
        ("Help?", "HELP", "", ""),
        ("\n\n  APPROVE  \n", "APPROVE", "", ""),
        ("EDIT\nFirst line\n\nSecond paragraph\n", "EDIT", "", "First line\n\nSecond paragraph"),
        ("EDIT: Fun run on Sunday\nAll welcome.", "EDIT", "Fun run on Sunday", "All welcome."),
    ],
)
def test_command_is_the_first_word_whatever_its_case_and_punctuation(
    text: str, verb: str, argument: str, body: str
) -> None:
    assert read_command(text) == Command(verb, argument, body)


@pytest.mark.parametrize(
    "text",
    [
        "I won't approve this",
        "Please approve",
        "Approver",
        "Approve's fine",
        "Approval given",
        "",
        "   \n ",
        "123 approve",
        "> APPROVE",
        "Thanks, approve",
    ],
)
def test_text_not_starting_with_a_command_word_is_none(text: str) -> None:
    assert read_command(text) is None


def test_every_verb_and_alias_in_the_table_is_read() -> None:
    verbs = default_registry().verbs
    for verb in verbs:
        for spelling in (verb.name, *verb.aliases):
            assert read_command(f"{spelling.lower()} note") == Command(verb.name, "note", ""), spelling
    assert [v.name for v in verbs] == [
        "APPROVE",
        "REJECT",
        "EDIT",
        "QUERY",
        "ESCALATE",
        "POSTED",
        "RESPOND",
        "ACTIONED",
        "ASSIGN",
        "KIND",
        "WITHDRAW",
        "HELP",
    ]
