"""`kws data mine`: a model's false accepts over streams, cut out as `_unknown_` takes to train on.

A model trained on 1 s clips centred on their word has never seen most of what a streaming
window holds: the end of one word and the start of the next, half a word, a word over noise.
Those windows are where it fires on speech that holds no keyword. Mining collects them: the host
reference (the firmware's front end and network, kws.evaluate.run.NativeEngine) and the detector
run over keyword-free speech, every keyword event at ``threshold`` (lower than a release's
calibrated thresholds, so that the near-misses are caught too) is a false accept, and the 1 s the
network heard when it fired is written as a take of the task's unknown label.

The output is a recordings folder (``<out>/<unknown label>/<stream>_<keyword>_<sample>.wav``, the
stream's name as the speaker) that ``kws data ingest recordings`` validates into a data set and
``kws adapt`` fine-tunes a released model on (docs/training.md, "Streaming windows, mined"), and
``mined.json``: the model, the threshold, every stream's sha256 and what it gave.

Streams with keywords (``kws data streams --kind positive``) give the other half: the windows the
detector should fire on. For every labelled occurrence, the windows that end ``after_ms`` after the
word (0, 80, 160, 240 and 320 ms by default: the network runs that end with it, 80 ms apart, the word whole inside) are
written as takes of its keyword. Trained on beside the false accepts, they keep the network firing
on keywords as the streaming window holds them, soon after the word ends (docs/results.md,
"Experiments: streaming windows, mined").

Mining again, with the model trained on what an earlier round mined, finds some of the same
windows: ``exclude`` names the data sets already holding that round's takes, and a window whose
samples equal one of their clips is counted (``already_held``) instead of written again, so that
``kws data mix`` can take both rounds.

Streams made by ``kws data streams`` say whose speakers speak in them: only the training split's
may be mined, since anything mined is trained on and held-out speakers must stay unheard. Events
that overlap a labelled keyword occurrence are not false accepts of the window's content and are
left out. Streams without a ``.json`` (a user's own recording of the room the device listens in)
are taken as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np

from kws.audio import read_wav
from kws.data.streams import read_labels
from kws.errors import KwsError
from kws.fsio import write_if_changed


def _stream_split(wav: Path) -> str | None:
    meta = wav.with_suffix(".json")
    if not meta.exists():
        return None
    try:
        return json.loads(meta.read_text()).get("split")
    except (json.JSONDecodeError, AttributeError) as e:
        raise KwsError(f"{meta}: not a stream description ({e})") from e


def _clear_of_keywords(sample: int, span: int, truth: list[tuple[str, int, int]]) -> bool:
    """The window ending at ``sample`` shares no sample with a labelled occurrence."""
    return all(end < sample - span or start >= sample for _, start, end in truth)


def _write_wav(path: Path, pcm: np.ndarray, rate: int) -> None:
    import soundfile as sf

    tmp = path.with_name(path.name + ".tmp")
    sf.write(tmp, pcm, rate, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)


def _pcm_sha256(pcm: np.ndarray) -> str:
    """The sha256 a data set's manifest gives a clip's samples (``pcm_sha256``)."""
    return hashlib.sha256(np.asarray(pcm).astype("<i2").tobytes()).hexdigest()


def _held_pcm(data_sets: tuple[str | Path, ...]) -> set[str]:
    """The ``pcm_sha256`` of every clip of these data sets (clear errors on a missing one)."""
    held: set[str] = set()
    for d in data_sets:
        man = Path(d) / "manifest.json"
        if not man.exists():
            raise KwsError(f"{d}: no manifest.json; --exclude names data sets (kws data ingest recordings)")
        try:
            held.update(e["pcm_sha256"] for e in json.loads(man.read_text())["entries"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise KwsError(f"{man}: not a data set manifest ({e})") from e
    return held


AFTER_MS = (0, 80, 160, 240, 320)  # keyword windows: ends after the word's end (network runs are 80 ms apart)


def mine(
    spec,
    model_dir: str | Path,
    streams_dir: str | Path,
    out_dir: str | Path,
    *,
    threshold: float = 0.5,
    after_ms: tuple[int, ...] = AFTER_MS,
    exclude: tuple[str | Path, ...] = (),
) -> dict:
    """Mine ``model_dir``'s false accepts over the ``.wav`` streams of ``streams_dir`` into
    ``out_dir``, and the keyword windows of its labelled occurrences (``after_ms``), leaving out the
    windows the data sets ``exclude`` already hold; returns (and writes to ``out_dir/mined.json``)
    what was mined."""
    from kws.evaluate.run import NativeEngine, batch_detector, detect, stream_logits
    from kws.reference.pipeline import ReferencePipeline

    model_dir, streams_dir, out_dir = Path(model_dir), Path(streams_dir), Path(out_dir)
    if not 0 < threshold < 1:
        raise KwsError(f"--threshold {threshold}: a posterior between 0 and 1")
    if any(not 0 <= a < 1000 for a in after_ms):
        raise KwsError(f"--after-ms {','.join(map(str, after_ms))}: milliseconds from 0 to 999 after the word's end")
    if not streams_dir.is_dir():
        raise KwsError(f"{streams_dir}: no such directory of streams")
    streams = sorted(streams_dir.glob("*.wav"))
    if not streams:
        raise KwsError(f"{streams_dir}: no .wav streams (make them with `kws data streams --split train`)")
    for wav in streams:
        split = _stream_split(wav)
        if split not in (None, "train"):
            raise KwsError(
                f"{wav}: a stream of the {split!r} split's speakers; what is mined is trained on, so mine "
                "streams of the training speakers only (`kws data streams --split train`)"
            )
    if out_dir.exists() and any(out_dir.iterdir()):
        raise KwsError(f"{out_dir}: exists and is not empty; mine into a new directory")
    held = _held_pcm(exclude)

    pipe = ReferencePipeline(spec, model_dir)
    eng = NativeEngine(pipe)
    rate = spec.frontend.sample_rate_hz
    span = rate  # the network's window: 1 s of audio ending where the event fires
    unknown = pipe.labels[1]
    keywords = pipe.labels[2:]
    takes_dir = out_dir / unknown
    takes_dir.mkdir(parents=True, exist_ok=True)
    per_keyword: Counter = Counter()
    windows: Counter = Counter()
    rows = []
    for wav in streams:
        logits, samples, n = stream_logits(pipe, wav, eng)
        events = detect(pipe, batch_detector(pipe, logits), samples, {k: threshold for k in keywords})
        labels_csv = wav.with_name(wav.stem + ".labels.csv")
        truth = read_labels(labels_csv) if labels_csv.exists() else []
        pcm = read_wav(wav, expected_rate=rate)
        tag = re.sub(r"[^A-Za-z0-9]", "", wav.stem) or "stream"
        kept: Counter = Counter()
        already = 0
        for label, sample in events:
            if sample < span or not _clear_of_keywords(sample, span, truth):
                continue
            if _pcm_sha256(pcm[sample - span : sample]) in held:
                already += 1
                continue
            _write_wav(takes_dir / f"{tag}_{label}_{sample}.wav", pcm[sample - span : sample], rate)
            kept[label] += 1
        per_keyword.update(kept)
        kw_windows: Counter = Counter()
        for label, start, end in truth:
            for a in after_ms:
                s_end = end + a * rate // 1000
                if label in keywords and span <= s_end <= pcm.size and s_end - span <= start:
                    if _pcm_sha256(pcm[s_end - span : s_end]) in held:
                        already += 1
                        continue
                    (out_dir / label).mkdir(exist_ok=True)
                    _write_wav(out_dir / label / f"{tag}_{s_end}.wav", pcm[s_end - span : s_end], rate)
                    kw_windows[label] += 1
        windows.update(kw_windows)
        rows.append(
            {
                "stream": wav.name,
                "sha256": hashlib.sha256(wav.read_bytes()).hexdigest(),
                "hours": n / rate / 3600.0,
                "events": len(events),
                "mined": sum(kept.values()),
                "per_keyword": dict(sorted(kept.items())),
                "keyword_windows": sum(kw_windows.values()),
                "already_held": already,
            }
        )
    hours = sum(r["hours"] for r in rows)
    result = {
        "model": {"name": pipe.model.name, "sha256": pipe.model.sha256},
        "threshold": threshold,
        "label": unknown,
        "streams": rows,
        "hours": hours,
        "mined": sum(per_keyword.values()),
        "per_hour": sum(per_keyword.values()) / hours if hours else 0.0,
        "per_keyword": {k: per_keyword.get(k, 0) for k in keywords},
        "after_ms": list(after_ms),
        "keyword_windows": {k: windows.get(k, 0) for k in keywords},
        "excluded": [str(d) for d in exclude],
        "already_held": sum(r["already_held"] for r in rows),
    }
    write_if_changed(out_dir / "mined.json", json.dumps(result, indent=1) + "\n")
    return result
