"""PDFs and ordinary documents go on to reviewers as they came (issue 9, "Pictures and attachments").

Driven through `Service.ingest` on SQLite and PostgreSQL.  Before this, only pictures were
attached to review requests: a PDF, a .docx, an .odt, a .txt or a .csv was listed as "kept on
the system, not attached".  Now each is decided by its content, sent as it came under the
sender's cleaned name with the extension of what it is, within the per-mail limit; anything
that can carry macros stays withheld, and ready-to-post still carries pictures only.
"""

from __future__ import annotations

import functools
import io
import zipfile
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

import pytest
from samples import TINY_JPEG, draft
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from support import REVIEWERS, queued

from intake.store.models import Attachment, Item

CLERK = "clerk@example.org"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT_TYPE = "application/vnd.oasis.opendocument.text"


# What the rows' properties read (the sent copy, the raw message), loaded before they leave the session.
KEPT = (selectinload(Attachment.sent), selectinload(Attachment.message))


def ooxml(*extra: str, main: str = "word/document.xml") -> bytes:
    """A small Office Open XML package: the members a real .docx has, plus `extra` ones."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr(main, '<?xml version="1.0"?><w:document/>')
        for name in extra:
            archive.writestr(name, b"\x00" * 64)
    return buffer.getvalue()


def odf(*extra: str, mimetype: str = ODT_TYPE) -> bytes:
    """A small OpenDocument file: `mimetype` stored first and uncompressed, as the standard requires."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", '<?xml version="1.0"?><office:document-content/>', zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest/>', zipfile.ZIP_DEFLATED)
        for name in extra:
            archive.writestr(name, "Sub Main\nEnd Sub\n", zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("minutes.pdf", PDF)
    return buffer.getvalue()


def draft_with(*files: tuple[str, str, bytes]) -> bytes:
    """A draft carrying (name, declared type, bytes) files, as a mail client sends them."""
    return draft(subject="Open day notice", body="The open day notice, with the programme attached.", files=files)


@pytest.fixture
def make_service(service_for, database_url):
    return functools.partial(service_for, database_url)


def files_of(mail: EmailMessage) -> dict[str, tuple[str, bytes]]:
    return {p.get_filename(): (p.get_content_type(), p.get_payload(decode=True)) for p in mail.iter_attachments()}


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()


def stored(service, ref: str) -> list[Attachment]:
    with service.sessions() as session:
        item_id = session.scalars(select(Item.id).where(Item.ref == ref)).one()
        rows = session.scalars(
            select(Attachment).where(Attachment.item_id == item_id).order_by(Attachment.id).options(*KEPT)
        ).all()
        session.expunge_all()
        return list(rows)


def reply(service, answering: EmailMessage, body: str, sender: str = CLERK):
    msg = EmailMessage()
    msg["From"] = f"Town Clerk <{sender}>"
    msg["To"] = str(answering["Reply-To"])
    msg["Subject"] = "Re: " + str(answering["Subject"])
    msg["In-Reply-To"] = answering["Message-ID"]
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content(body)
    return service.ingest(msg.as_bytes(policy=SMTP), "smtp", envelope_recipients=[str(answering["Reply-To"])])


def test_pdf_word_opendocument_text_and_csv_reach_each_reviewer_as_they_came(make_service):
    service = make_service()
    docx, odt = ooxml(), odf()
    csv = b"date,event\n2026-12-05,Open day\n"
    letter = "Dear all,\nThe hall opens at 10am — café open.\n".encode("cp1252")
    outcome = service.ingest(
        draft_with(
            ("programme.pdf", "application/pdf", PDF),
            ("flyer.docx", DOCX_TYPE, docx),
            ("notes.odt", "application/octet-stream", odt),  # declared loosely: the content decides
            ("times.csv", "text/csv", csv),
            ("letter.txt", "text/plain", letter),
        ),
        "file",
    )
    requests = queued(service, "review-request")
    assert len(requests) == len(REVIEWERS)
    for mail in requests:
        assert files_of(mail) == {
            "programme.pdf": ("application/pdf", PDF),
            "flyer.docx": (DOCX_TYPE, docx),
            "notes.odt": (ODT_TYPE, odt),
            "times.csv": ("text/csv", csv),
            "letter.txt": ("text/plain", letter),
        }
        text = text_of(mail)
        assert "(0 pictures and 5 documents attached to this email)" in text
        assert "- programme.pdf (application/pdf" in text and "attached as programme.pdf" in text
        assert "A PDF document, sent on as it came." in text
        assert "kept on the system, not attached" not in text
    rows = stored(service, outcome.ref)
    assert [(r.content_format, r.attach, r.withheld, r.prepared_data) for r in rows] == [
        ("PDF", True, False, None),
        ("Word document", True, False, None),
        ("OpenDocument text", True, False, None),
        ("CSV text", True, False, None),
        ("plain text", True, False, None),
    ]


def test_a_document_is_named_by_its_content_and_the_senders_cleaned_name(make_service):
    service = make_service()
    service.ingest(
        draft_with(
            ("..\\..\\Windows\\agenda.txt", "text/plain", PDF),  # a PDF, whatever its name says
            ("report", "application/octet-stream", ooxml(main="xl/workbook.xml")),
        ),
        "file",
    )
    for mail in queued(service, "review-request"):
        assert sorted(files_of(mail)) == ["agenda.pdf", "report.xlsx"]
        assert files_of(mail)["report.xlsx"][0] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    ("name", "declared", "data", "why"),
    [
        ("budget.docx", DOCX_TYPE, ooxml("word/vbaProject.bin"), "macro-enabled Office document"),
        ("minutes.odt", ODT_TYPE, odf("Basic/Standard/Module1.xml"), "ZIP archive"),
        ("minutes.zip", "application/zip", plain_zip(), "ZIP archive"),
        ("minutes.pdf", "application/pdf", b"MZ\x90\x00" + b"\x00" * 200, "Windows program"),
        ("poster.jpg", "image/jpeg", PDF, "Declared as image/jpeg"),
        ("run.txt", "text/plain", b"#!/bin/sh\nrm -rf ~\n", "a script"),
    ],
)
def test_macro_documents_archives_programs_and_claimed_pictures_stay_withheld(make_service, name, declared, data, why):
    service = make_service()
    outcome = service.ingest(draft_with((name, declared, data)), "file")
    for mail in queued(service, "review-request"):
        assert files_of(mail) == {}
        text = text_of(mail)
        assert f"- {name} (" in text and "WITHHELD, never sent on" in text and why in text
    (row,) = stored(service, outcome.ref)
    assert (row.withheld, row.attach, row.prepared_name) == (True, False, None)


def test_a_text_file_named_as_a_script_is_not_forwarded(make_service):
    service = make_service()
    service.ingest(draft_with(("update.vbs", "text/plain", b'MsgBox "hello"\n')), "file")
    for mail in queued(service, "review-request"):
        assert files_of(mail) == {} and "kept on the system, not attached" in text_of(mail)


def test_documents_share_the_per_mail_limit_and_what_does_not_fit_is_kept(make_service):
    service = make_service(limits={"attach_per_mail_bytes": 60_000})
    first = PDF + b"%" + b"a" * 40_000 + b"\n"
    second = PDF + b"%" + b"b" * 40_000 + b"\n"
    outcome = service.ingest(
        draft_with(("one.pdf", "application/pdf", first), ("two.pdf", "application/pdf", second)), "file"
    )
    for mail in queued(service, "review-request"):
        assert files_of(mail) == {"one.pdf": ("application/pdf", first)}
        text = text_of(mail)
        assert "- two.pdf (application/pdf" in text and "kept on the system, not attached" in text
        assert "Kept, not attached: the files of one mail may not exceed 59 KB." in text
    assert [row.attach for row in stored(service, outcome.ref)] == [True, False]


def test_ready_to_post_carries_the_pictures_only_and_a_second_review_request_the_documents_again(make_service):
    service = make_service()
    outcome = service.ingest(
        draft_with(("photo.jpg", "image/jpeg", TINY_JPEG), ("programme.pdf", "application/pdf", PDF)), "file"
    )
    first = next(m for m in queued(service, "review-request") if CLERK in str(m["To"]))
    assert sorted(files_of(first)) == ["picture-1.jpg", "programme.pdf"]
    assert "(1 picture and 1 document attached to this email)" in text_of(first)

    reply(service, first, "EDIT The open day is on Saturday 5 December, 10am to 4pm.")
    again = [m for m in queued(service, "review-request") if CLERK in str(m["To"])]
    assert len(again) == 2
    assert files_of(again[-1]) == files_of(first)
    assert "(1 picture and 1 document attached to this email)" in text_of(again[-1])

    reply(service, again[-1], "APPROVE")
    posts = queued(service, "ready-to-post")
    assert posts and outcome.ref in str(posts[0]["Subject"])
    for mail in posts:
        assert sorted(files_of(mail)) == ["picture-1.jpg"]
