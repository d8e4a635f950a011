"""Recorded human speech without a download: the speaker-test voice of Debian's alsa-utils
(``/usr/share/sounds/alsa``: one woman saying "Front Left", "Rear Right", "Side Left", "Front
Center"..., 48 kHz mono, plus a noise burst), made into an evaluation stream in the format of
``kws data streams`` (``<name>.wav``, ``.labels.csv``, ``.words.csv``, ``.json``) so that ``kws
eval`` and the device can be measured on it. Six keywords of the commands task (left and right,
each said last in a two-word phrase) and no wake word: a small sanity check of synthetic-voice
models on a human, not an accuracy figure (docs/evaluation.md, "A human voice").

Word spans were read from the recordings' energy (10 ms frames within 45 dB of each file's peak;
the two words are the speech before and after the longest pause) and are tied to each file's
sha256: a different recording is refused rather than mislabelled.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from kws.audio import read_wav, write_wav
from kws.errors import KwsError
from kws.fsio import write_if_changed
from kws.spec import SAMPLE_RATE

ALSA_DIR = Path("/usr/share/sounds/alsa")
SOURCE_RATE = 48000
VOICE = "alsa:speaker-test"
GAP_S = 1.0  # silence before each recording (the detector's refractory period)
# file: (sha256 prefix of the file, [(word, first sample, end sample) at 48 kHz, in order])
PHRASES = {
    "Front_Center.wav": ("0d61518bcd3f13b0", [("front", 960, 24000), ("center", 37920, 66240)]),
    "Front_Left.wav": ("9f97e8458785da2f", [("front", 960, 23040), ("left", 35520, 66240)]),
    "Front_Right.wav": ("1fdea4d7003f1f7d", [("front", 1920, 30720), ("right", 41760, 70080)]),
    "Noise.wav": ("0d897df3862192ea", []),
    "Rear_Center.wav": ("9343207e3298813f", [("rear", 960, 25440), ("center", 31680, 59520)]),
    "Rear_Left.wav": ("1679e0557701864d", [("rear", 960, 23520), ("left", 39360, 62880)]),
    "Rear_Right.wav": ("12828d125f692faa", [("rear", 1920, 28800), ("right", 43680, 69120)]),
    "Side_Left.wav": ("03dc7c641d782541", [("side", 1440, 29280), ("left", 38880, 65280)]),
    "Side_Right.wav": ("ecdd0329945f3559", [("side", 480, 31680), ("right", 39360, 61440)]),
}


def words() -> set[str]:
    """Every word the recordings say."""
    return {w for _, spans in PHRASES.values() for w, _, _ in spans}


def recordings(alsa_dir: Path = ALSA_DIR, rate: int = SAMPLE_RATE) -> list[tuple[str, np.ndarray, list]]:
    """(file name, int16 PCM at ``rate``, [(word, start, end) at ``rate``]) of every recording,
    resampled with scipy's polyphase filter. Clear errors for a missing package or another
    recording than the one annotated."""
    from kws.data.tts import resample_int16

    out = []
    for name, (sha, words) in PHRASES.items():
        path = Path(alsa_dir) / name
        if not path.is_file():
            raise KwsError(f"{path}: missing (Debian package alsa-utils; `make setup` installs it)")
        if hashlib.sha256(path.read_bytes()).hexdigest()[:16] != sha:
            raise KwsError(f"{path}: not the recording whose words are annotated here (sha256 differs)")
        pcm = resample_int16(read_wav(path, expected_rate=SOURCE_RATE), SOURCE_RATE, rate)
        out.append((name, pcm, [(w, a * rate // SOURCE_RATE, b * rate // SOURCE_RATE) for w, a, b in words]))
    return out


def make_stream(
    out_dir: str | Path, labels, *, name: str = "alsa_voice", rate: int = SAMPLE_RATE, alsa_dir: Path = ALSA_DIR
) -> dict:
    """Write the recordings, each after GAP_S of silence, as one stream with its label and words
    files: words that are a task label (``labels``) are keywords, the others ``_unknown_``."""
    from kws.data.streams import WORDS_HEADER, write_csv

    out_dir = Path(out_dir)
    parts, keywords, words = [], [], []
    pos = 0
    for file, pcm, spans in recordings(alsa_dir, rate):
        gap = np.zeros(int(GAP_S * rate), np.int16)
        parts += [gap, pcm]
        pos += gap.size
        phrase = " ".join(w for w, _, _ in spans)
        for i, (w, a, b) in enumerate(spans):
            side = "first" if i == 0 else "last"
            label = w if w in labels else "_unknown_"
            if label != "_unknown_":
                keywords.append((label, pos + a, pos + b, file, side, VOICE))
            words.append([pos + a, pos + b, label, w, phrase, side, 0, file])
        pos += pcm.size
    pcm = np.concatenate(parts + [np.zeros(int(GAP_S * rate), np.int16)])
    write_wav(out_dir / f"{name}.wav", pcm, rate)
    write_csv(
        out_dir / f"{name}.labels.csv", ("label", "start_sample", "end_sample", "clip_id", "context", "voice"), keywords
    )
    write_csv(out_dir / f"{name}.words.csv", WORDS_HEADER, words)
    summary = {
        "name": name,
        "kind": "positive",
        "source": str(alsa_dir),
        "voices": [VOICE],
        "seconds": pcm.size / rate,
        "keywords": len(keywords),
        "speech_events": len(words),
        "files": {f: s for f, (s, _) in PHRASES.items()},
    }
    write_if_changed(out_dir / f"{name}.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary
