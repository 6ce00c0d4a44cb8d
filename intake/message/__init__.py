"""Raw email bytes -> an InboundMessage value: headers, text, HTML and attachments, never a crash.

Pure: no network, no database, no files.  Everything a sender can put in a message degrades
to a recorded defect; only input with nothing to work with raises ParseError.

  model.py      the values: InboundMessage, Address, Attachment, ParseError
  reader.py     parse(): bytes in, a finished message out
  headers.py    header decoding, addresses, ids, the date; one_line, the header-safe sanitiser
  mime.py       the MIME walk: body text, HTML to text, attachments, inline images, forwarded mail
  parts.py      what one MIME part says about itself, read without raising
  tnef.py       Outlook's winmail.dat and its compressed RTF body
  filenames.py  safe display names, and extension_for, the one file-extension chooser
  text.py       charset decoding and text repair
"""

from __future__ import annotations

from intake.message.filenames import extension_for
from intake.message.headers import one_line
from intake.message.model import Address, Attachment, InboundMessage, ParseError
from intake.message.reader import parse

__all__ = ["Address", "Attachment", "InboundMessage", "ParseError", "extension_for", "one_line", "parse"]
