"""Phonetic neighbours of a keyword: the words of the word list that sound most like it.

They are the candidates for a task's ``near_misses`` (`kws data near-misses`): words a model
must learn to reject because they share most of the keyword's sounds (margin, marvel, carving
for "marvin"). Pronunciations come from espeak-ng's phonemizer (``--ipa``), split into phonemes
(a letter with its length and other modifier marks; affricates and diphthongs as one), and the
distance is the edit distance over phonemes (rapidfuzz) divided by the longer length.

Homophones (distance 0) are left out: the same sound under two labels is label noise. Words
that say the whole keyword and one sound more ("marvins", but also "note" for "no", which the
commands task uses on purpose) are kept and rank high: whether they belong in ``near_misses``
is the task author's call.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from kws.errors import KwsError

# Two-letter phonemes espeak-ng writes without a tie bar.
_JOINED = ("dʒ", "tʃ", "eɪ", "aɪ", "ɔɪ", "aʊ", "oʊ", "əʊ", "ɪə", "eə", "ʊə", "ɜː", "ɑː", "ɔː", "iː", "uː")
_MODIFIERS = "ːˑʰʲʷˠˤ̩̯̃̊"
_STRESS = "ˈˌ"
_TOKEN = re.compile("|".join(map(re.escape, sorted(_JOINED, key=len, reverse=True))) + f"|.[{_MODIFIERS}]*")


@dataclass(frozen=True)
class Neighbour:
    word: str
    distance: float  # phoneme edit distance / the longer pronunciation's length
    ipa: str


def phonemes(ipa: str) -> tuple[str, ...]:
    """A pronunciation (espeak-ng IPA) as phonemes; stress marks, spaces and hyphens dropped."""
    s = "".join(c for c in ipa if c not in _STRESS and not c.isspace() and c != "-")
    return tuple(_TOKEN.findall(s))


def transcribe(words: list[str], voice: str = "en-us") -> list[str]:
    """espeak-ng's IPA of each word (or phrase), in one call."""
    if any("\n" in w or "." in w for w in words):
        raise KwsError("words to transcribe must not contain newlines or full stops")
    try:
        r = subprocess.run(
            ["espeak-ng", "-q", "--ipa", "-v", voice],
            input="".join(f"{w}.\n" for w in words),
            capture_output=True,
            text=True,
            timeout=600,
        )
    except FileNotFoundError as e:
        raise KwsError("espeak-ng is not installed (Debian package espeak-ng; `make setup` installs it)") from e
    lines = [line.strip() for line in r.stdout.splitlines() if line.strip()]
    if r.returncode != 0 or len(lines) != len(words):
        raise KwsError(
            f"espeak-ng (voice {voice}) gave {len(lines)} pronunciations for {len(words)} words: "
            f"{r.stderr.strip()[:200]}"
        )
    return lines


def neighbours(
    keywords: list[str], words: list[str], *, top: int = 40, voice: str = "en-us"
) -> dict[str, list[Neighbour]]:
    """For each keyword, the ``top`` words of ``words`` nearest to it in sound, nearest first
    (ties by word). One espeak-ng call for all of them."""
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    words = sorted(set(words) - set(keywords))
    ipas = transcribe([*keywords, *words], voice)
    seqs = [phonemes(p) for p in ipas]
    # one character per phoneme, so rapidfuzz compares whole phonemes as vectors of strings
    code: dict[str, str] = {}
    enc = ["".join(code.setdefault(ph, chr(0xE000 + len(code))) for ph in s) for s in seqs]
    kws, ws = enc[: len(keywords)], enc[len(keywords) :]
    for kw, k in zip(keywords, kws):
        if not k:
            raise KwsError(f"espeak-ng gave no pronunciation for {kw!r}")
    dist = cdist(kws, ws, scorer=Levenshtein.distance, workers=-1)
    out = {}
    for i, (kw, k) in enumerate(zip(keywords, kws)):
        found = [
            Neighbour(w, float(dist[i, j]) / max(len(k), len(ws[j])), ipas[len(keywords) + j])
            for j, w in enumerate(words)
            if ws[j] and ws[j] != k
        ]  # no homophones
        found.sort(key=lambda n: (n.distance, n.word))
        out[kw] = found[:top]
    return out
