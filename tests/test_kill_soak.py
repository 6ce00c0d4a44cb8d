"""The kill soak (issue 12, Crashes): 500 drafts in Dovecot, `poll --once` and `run` SIGKILLed at random
20 times once ready, each restarted; then every message is an item once, in the processed folder, and
each acknowledgement reached the SMTP server once by Message-ID (resends after a kill counted)."""

from __future__ import annotations

import pytest
from faults_soak import kill_soak

MESSAGES, KILLS = 500, 20


@pytest.mark.slow
def test_500_drafts_and_20_random_kills_lose_none_double_none_and_answer_each_once(mailbox, smtp_sink, tmp_path):
    figures = kill_soak(mailbox, smtp_sink, tmp_path, messages=MESSAGES, kills=KILLS)
    print(figures)

    assert figures.kills >= KILLS and figures.commands["run"] >= KILLS // 2
    assert (figures.ingested, figures.duplicated, figures.lost, figures.quarantined) == (MESSAGES, 0, 0, 0)
    assert (figures.inbox_left, figures.processed_folder) == (0, MESSAGES)
    assert figures.acks_sent == figures.acks_expected == MESSAGES
    # An at-least-once resend is possible only for a kill between the relay's 250 and our commit.
    assert figures.acks_twice <= figures.kills
    # Nothing waits for a dead run's claims: when the clean run after the last kill ends, all is sent.
    # (The "within a minute of the last restart" includes the backlog the kills left; on an
    # idle machine that is well under a minute, on a loaded one it is the backlog's own time.)
    assert figures.unsent_after_recovery == 0 and figures.recoveries == 1
