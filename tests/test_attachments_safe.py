"""Files dressed as pictures never leave with our mail; real pictures leave only as clean copies (issue 7 item 2).

Driven through `Service.ingest`: a draft carries a Windows program, an HTML page, a macro
document and an SVG with script, each declared as an image, beside a phone photo with GPS
data.  Every mail we queue (review requests, then ready-to-post after the Clerk approves)
is opened and its files checked: only re-encoded pictures under our names, no location.
"""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

import pytest
from PIL import Image
from samples import draft
from sqlalchemy import select
from support import OUR_ADDRESS, REVIEWERS, make_service, queued

from intake.store.models import Attachment, Item

GPS_IFD = 0x8825
CLERK = REVIEWERS[0]


def gps_photo() -> bytes:
    """A phone photo: real JPEG pixels, with where it was taken and the camera's serial number."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 12.0, 30.5), "W", (1.0, 4.0, 7.25)
    exif.get_ifd(0x8769)[0xA431] = "SN-4471-XYZ"
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def macro_document() -> bytes:
    """A Word document with macros: a ZIP whose members name the VBA project."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/vbaProject.bin", b"\x00VBA AutoOpen Shell payroll.exe")
    return buffer.getvalue()


# name, declared type, bytes, the words the review request gives as the reason
DANGEROUS = [
    (
        "payroll.exe",
        "image/jpeg",
        b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200 + b"This program cannot be run",
        "program",
    ),
    ("notice.png", "image/png", b"<!DOCTYPE html><html><body><script>steal()</script></body></html>", "web page"),
    ("agenda.gif", "image/gif", macro_document(), "macro-enabled Office document"),
    (
        "logo.svg",
        "image/svg+xml",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>',
        "SVG",
    ),
]


def draft_with_files(files: list[tuple[str, str, bytes]]) -> bytes:
    return draft(subject="Photos from the fun day", body="Could these go up on Facebook? Thank you!", files=files)


def files_of(mail: EmailMessage) -> list[tuple[str, str, bytes]]:
    return [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in mail.iter_attachments()]


def assert_only_clean_pictures(mails: list[EmailMessage], originals: list[bytes]) -> None:
    """Every file in every mail is one of our re-encoded JPEGs: named by us, no GPS, none of the originals."""
    assert mails
    for mail in mails:
        files = files_of(mail)
        assert [(name, ctype) for name, ctype, _ in files] == [("picture-1.jpg", "image/jpeg")]
        for _, _, data in files:
            assert data not in originals
            with Image.open(io.BytesIO(data)) as im:
                assert im.format == "JPEG" and im.size == (640, 480)
                assert not im.getexif().get_ifd(GPS_IFD) and GPS_IFD not in im.getexif()
        raw = mail.as_bytes()
        for name, *_ in DANGEROUS:
            assert f'filename="{name}"'.encode() not in raw


@pytest.fixture
def service(tmp_path, database_url):
    svc = make_service(tmp_path, database_url)
    yield svc
    svc.engine.dispose()


def test_files_dressed_as_pictures_never_reach_reviewers_or_posting(service):
    photo = gps_photo()
    files = [(name, declared, data) for name, declared, data, _ in DANGEROUS] + [("IMG_2041.jpg", "image/jpeg", photo)]
    outcome = service.ingest(draft_with_files(files), "file")
    originals = [data for _, _, data in files]

    requests = queued(service, "review-request")
    assert len(requests) == len(REVIEWERS)
    assert_only_clean_pictures(requests, originals)
    text = requests[0].get_body(("plain",)).get_content()
    lines = text.splitlines()
    for name, declared, _, words in DANGEROUS:
        at = next(n for n, line in enumerate(lines) if f"- {name} ({declared}" in line)
        assert lines[at].endswith("WITHHELD, never sent on"), lines[at]
        assert words in lines[at + 1], lines[at + 1]  # the reason, on the line below
    assert "- IMG_2041.jpg (image/jpeg" in text and "attached as picture-1.jpg" in text
    assert "Prepared for posting as picture-1.jpg (JPEG, 640×480). Removed: location (GPS)" in text
    assert "Declared as image/jpeg but is a Windows program." in text

    # The originals are kept exactly as received; only the prepared copy is beside them.
    with service.sessions() as session:
        item = session.scalars(select(Item).where(Item.ref == outcome.ref)).one()
        rows = session.scalars(select(Attachment).where(Attachment.item_id == item.id).order_by(Attachment.id)).all()
        assert [row.data for row in rows] == originals
        assert [row.withheld for row in rows] == [True, True, True, True, False]
        assert [row.prepared_name for row in rows] == [None, None, None, None, "picture-1.jpg"]

    # The Clerk approves: the ready-to-post mail carries the same clean copy, and says what was removed.
    reply_to = str(next(m for m in requests if CLERK in str(m["To"]))["Reply-To"])
    approve = EmailMessage()
    approve["From"] = f"Town Clerk <{CLERK}>"
    approve["To"] = reply_to
    approve["Subject"] = f"Re: [{outcome.ref}] Photos from the fun day"
    approve["Message-ID"] = make_msgid(domain="example.org")
    approve.set_content("APPROVE")
    service.ingest(approve.as_bytes(policy=SMTP), "smtp", envelope_recipients=[reply_to])
    ready = queued(service, "ready-to-post")
    assert len(ready) == len(REVIEWERS)
    assert_only_clean_pictures(ready, originals)
    posting = ready[0].get_body(("plain",)).get_content()
    assert "picture-1.jpg: Prepared for posting as picture-1.jpg (JPEG, 640×480). Removed: location (GPS)" in posting


def test_a_picture_inside_a_forwarded_mail_goes_on_only_as_its_clean_copy(service):
    inner = EmailMessage()
    inner["From"] = "Mary Resident <mary@example.com>"
    inner["Subject"] = "Bench photo"
    inner.set_content("Here is the photo.")
    inner.add_attachment(gps_photo(), maintype="image", subtype="jpeg", filename="bench.jpg")
    inner.add_attachment(DANGEROUS[0][2], maintype="image", subtype="jpeg", filename="payroll.exe")
    outer = EmailMessage()
    outer["From"] = "Jane Resident <jane@example.com>"
    outer["To"] = OUR_ADDRESS
    outer["Subject"] = "Fwd: Bench photo"
    outer["Message-ID"] = make_msgid(domain="example.com")
    outer.set_content("Resident's photo below.")
    outer.add_attachment(inner)
    service.ingest(outer.as_bytes(policy=SMTP), "file")
    requests = queued(service, "review-request")
    assert_only_clean_pictures(requests, [gps_photo(), DANGEROUS[0][2]])
