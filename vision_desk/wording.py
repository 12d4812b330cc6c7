"""Small helpers for the words the app and the command line print: counts and sentences."""

from __future__ import annotations


def plural(n: int, word: str) -> str:
    """``1 frame``, ``2 frames``, ``0 frames``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def sentence(text: str) -> str:
    """A message as a sentence: its first letter in capitals (library messages start in lower case)."""
    return text[:1].upper() + text[1:] if text else text
