"""The notes of sends not yet recorded (SQLite): what a killed sender leaves is read back whole or not at all."""

from __future__ import annotations

from intake.delivery.sent_journal import SentJournal


def test_notes_are_read_back_and_a_note_cut_short_by_a_kill_is_no_note(tmp_path):
    journal = SentJournal(tmp_path / "smat.db-sent")
    journal.note(7, {})
    journal.note(8, {"bob@example.org": "550 5.1.1 no such user"})
    with (tmp_path / "smat.db-sent").open("ab") as file:
        file.write(b'[9, {"ali')  # the process died inside its write
    assert SentJournal(tmp_path / "smat.db-sent").read() == {7: {}, 8: {"bob@example.org": "550 5.1.1 no such user"}}
    assert (tmp_path / "smat.db-sent").stat().st_mode & 0o777 == 0o600  # refused addresses are personal data


def test_once_cleared_the_notes_start_again_from_nothing(tmp_path):
    journal = SentJournal(tmp_path / "smat.db-sent")
    journal.note(7, {})
    journal.clear()
    journal.note(9, {})
    assert journal.read() == {9: {}}
    journal.close()
    assert SentJournal(tmp_path / "missing").read() == {}
