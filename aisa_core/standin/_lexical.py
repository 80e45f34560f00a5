"""Lexical meaning for the stand-in: text features, embeddings built from them, rerank scores,
and the sentence of a context that best answers a question. Pure and deterministic.

A text's features are its words (stop words weigh little) and the character trigrams of its
content words (so "rivers" still meets "river"). An embedding hashes the features into the
model's real number of dimensions with random signs, Matryoshka-style: each feature lands once
in every nested segment (``[0, 32)``, ``[32, 64)``, ``[64, 128)`` ...), so a prefix of the
vector, renormalised, still holds every feature (that is how ``dimensions`` shortens a vector,
as the real models do). Cosine similarity of two vectors then follows the words the texts
share, and offline retrieval finds the right document. Rerank scores are the exact cosine of
the feature weights, between 0 and 1.
"""

from __future__ import annotations

import functools
import math
import re
import zlib
from collections import defaultdict

__all__ = ["best_sentence", "embed", "features", "similarity"]

_WORD = re.compile(r"[^\W_]+")
_STOP_WORDS = """
a an and are as at be been but by can could did do does for from had has have how i if in
into is it its me my no not of on or our so than that the their them then there these they
this to was we were what when where which who whom why will with would you your about
above after again all am any because before being below between both during each few
further here just more most other over own same should some such too under until up very
while
"""
_STOP = frozenset(_STOP_WORDS.split())
_STOP_WEIGHT = 0.1
_GRAM_WEIGHT = 0.25
_FIRST_SEGMENT = 32


def features(text: str) -> dict[str, float]:
    """Weighted features of ``text``: words, and trigrams of its content words."""
    found: dict[str, float] = defaultdict(float)
    for word in _WORD.findall(text.lower()):
        if word in _STOP:
            found[word] += _STOP_WEIGHT
            continue
        found[word] += 1.0
        padded = f"<{word}>"
        for i in range(len(padded) - 2):
            found["#" + padded[i : i + 3]] += _GRAM_WEIGHT
    return found


def similarity(a: dict[str, float], b: dict[str, float]) -> float:
    """Cosine of two feature weightings (0 when either is empty)."""
    if len(a) > len(b):
        a, b = b, a
    dot = sum(weight * b[name] for name, weight in a.items() if name in b)
    norm = math.sqrt(sum(w * w for w in a.values()) * sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


@functools.lru_cache(maxsize=32)
def _segments(size: int) -> tuple[tuple[int, int], ...]:
    """``[0, 32)``, ``[32, 64)``, ``[64, 128)``, ... up to ``size``."""
    found = []
    low, high = 0, min(size, _FIRST_SEGMENT)
    while low < size:
        found.append((low, high))
        low, high = high, min(size, high * 2)
    return tuple(found)


def embed(text: str, size: int, keep: int | None = None) -> list[float]:
    """The unit vector of ``text`` in ``size`` dimensions; ``keep`` shortens it to its first
    ``keep`` dimensions, renormalised."""
    vector = [0.0] * size
    weights = features(text) or {text: 1.0}
    for name, weight in weights.items():
        base = zlib.crc32(name.encode())
        for n, (low, high) in enumerate(_segments(size)):
            mixed = (base * 2_654_435_761 + n * 40_503) & 0xFFFFFFFF
            sign = 1.0 if mixed & 0x10000 else -1.0
            vector[low + (mixed >> 7) % (high - low)] += sign * weight
    vector = vector[:keep] if keep is not None else vector
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


_FENCE = re.compile(r"^\s*-{3,}\s*$", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_METADATA_LINE = re.compile(r"^[a-z_]+:\s*\S")


def best_sentence(question: str, context: str) -> tuple[str, float]:
    """The sentence of ``context`` that shares the most with ``question``, and its score
    (the first one on a tie; metadata lines such as ``file_path: ...`` are skipped)."""
    asked = features(question)
    best, score = "", 0.0
    for raw in _SENTENCE_END.split(context):
        sentence = raw.strip()
        if not sentence or _FENCE.match(sentence) or _METADATA_LINE.match(sentence):
            continue
        value = similarity(asked, features(sentence))
        if value > score:
            best, score = sentence, value
    return best, score
