"""Counting old mail left alone in a folder without listing it: one ESEARCH COUNT answer from the server."""

from __future__ import annotations

from imap_tools import BaseMailBox


def count_left_alone(box: BaseMailBox, baseline: int, otherwise: int) -> int:
    """How many undeleted messages are at or below the baseline: counted by the server (ESEARCH), not listed.

    Without ESEARCH, `otherwise` (the folder's MESSAGES less those above the baseline, which counts
    messages flagged deleted as well) is the answer.
    """
    client = box.client
    if "ESEARCH" not in client.capabilities:
        return max(otherwise, 0)
    typ, _ = client.uid("SEARCH", "RETURN", "(COUNT)", "UID", f"1:{baseline}", "UNDELETED")
    _, answers = client.response("ESEARCH")
    for answer in answers or ():
        words = answer.decode("ascii", "replace").split() if isinstance(answer, bytes) else []
        upper = [word.upper() for word in words]
        if typ == "OK" and "COUNT" in upper[:-1]:
            return int(upper[upper.index("COUNT") + 1])
    return max(otherwise, 0)
