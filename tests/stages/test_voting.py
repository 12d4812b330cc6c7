"""The per-track vote the faces stage (identities) and the text stages' object mode (plate texts, payloads) share."""

from __future__ import annotations

import numpy as np
import pytest

from vision_desk.stages.voting import TrackVoter


def test_voter_holds_the_majority_name_against_a_flicker():
    voter = TrackVoter(window=5)
    for _ in range(3):
        voter.vote("t", "Ada", 0.8)
    assert voter.vote("t", "unknown", 0.3) == ("Ada", pytest.approx(0.8))
    assert voter.vote("t", "unknown", 0.3)[0] == "Ada"  # 3 against 2
    assert voter.vote("t", "unknown", 0.3)[0] == "unknown"  # the window slid: 2 against 3
    assert voter.vote("other", "Bob", 0.7) == ("Bob", pytest.approx(0.7))


def test_voter_forgets_tracks_gone_for_too_long():
    voter = TrackVoter(window=5, max_age=2)
    voter.vote("t", "Ada", 0.9)
    for _ in range(3):
        voter.next_round()
    assert voter.current("t") is None
    assert voter.vote("t", "unknown", 0.2) == ("unknown", pytest.approx(0.2))


def test_a_plate_text_outvotes_a_confident_single_misread():
    """Reads of one tracked plate as OCR gives them: a misread (8 for B), even scored higher, loses to the majority;
    an equal split goes to the higher mean confidence; without new votes the winner is carried as it stands."""
    voter = TrackVoter(window=7)
    reads = [("AB12", 0.81), ("AB12", 0.78), ("A812", 0.97), ("AB12", 0.80), ("AB12", 0.83)]
    shown = [voter.vote(3, text, score)[0] for text, score in reads]
    assert shown == ["AB12"] * 5
    assert voter.current(3) == ("AB12", pytest.approx(np.mean([0.81, 0.78, 0.80, 0.83])))
    tie = TrackVoter(window=4)
    for text, score in [("XY98", 0.9), ("XV98", 0.4), ("XV98", 0.5), ("XY98", 0.8)]:
        winner, _ = tie.vote("t", text, score)
    assert winner == "XY98"  # two each: the higher mean confidence wins
    assert TrackVoter().current("never seen") is None


def test_readings_may_be_any_hashable_value():
    voter: TrackVoter[tuple[str, bytes]] = TrackVoter(window=3)
    voter.vote(1, ("qr", b"PARCEL-1"), 1.0)
    voter.vote(1, ("qr", b"PARCEL-1"), 1.0)
    assert voter.vote(1, ("ean13", b"4006381333931"), 1.0)[0] == ("qr", b"PARCEL-1")
