"""A per-track majority vote over recent readings: one flicker or misread does not change a track's label.

Shared by the faces stage (a face track's identity) and the text stages' object mode (a tracked plate's
text, a tracked parcel's code payload).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Hashable
from typing import Generic, TypeVar

import numpy as np

Reading = TypeVar("Reading", bound=Hashable)


class TrackVoter(Generic[Reading]):
    """Per-track majority vote over the last ``window`` readings.

    The winner is the reading with the most votes; ties go to the higher mean
    score (a similarity, a confidence). Its score is the mean over its votes.
    Tracks not voted on for ``max_age`` rounds are forgotten.
    """

    def __init__(self, window: int = 15, max_age: int = 30) -> None:
        self.window = window
        self.max_age = max_age
        self._votes: dict[Hashable, deque[tuple[Reading, float]]] = {}
        self._seen: dict[Hashable, int] = {}
        self._round = 0

    def reset(self) -> None:
        self._votes.clear()
        self._seen.clear()
        self._round = 0

    def next_round(self) -> list[Hashable]:
        """Marks the start of a round (a detection round, a frame) and forgets tracks gone for too long.

        Returns:
            the tracks forgotten now, so a caller can drop what it keeps about them too.
        """
        self._round += 1
        gone = [key for key, seen in self._seen.items() if self._round - seen > self.max_age]
        for key in gone:
            del self._votes[key], self._seen[key]
        return gone

    def vote(self, key: Hashable, reading: Reading, score: float) -> tuple[Reading, float]:
        """Adds one reading for a track and returns the track's current (reading, score)."""
        votes = self._votes.setdefault(key, deque(maxlen=self.window))
        votes.append((reading, float(score)))
        self._seen[key] = self._round
        winner = self.current(key)
        assert winner is not None, "a track just voted on has a winner"
        return winner

    def current(self, key: Hashable) -> tuple[Reading, float] | None:
        """The track's winning (reading, score) without a new vote; None for a track with no votes (or forgotten)."""
        votes = self._votes.get(key)
        if not votes:
            return None
        counts = Counter(r for r, _ in votes)
        mean = {r: float(np.mean([s for q, s in votes if q == r])) for r in counts}
        winner = max(counts, key=lambda r: (counts[r], mean[r]))
        return winner, mean[winner]
