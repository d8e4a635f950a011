"""`kws record`: enrollment recordings of your keywords, other words and background from the
microphone, checked on the spot by the data pipeline's own quality gates.

Each take is captured for ``seconds`` (longer than a clip, for reaction time), cut to the task's
clip length around the detected speech, and measured (kws.data.quality with the task's
``[validate]`` thresholds: SNR >= 20 dB, speech duration, clipping, DC offset, level). A take
that fails, or whose speech touches the edge of the capture (cut off), is reported with its
reason and recorded again, up to ``max_attempts``. Good takes are written as
``<out>/<label>/<speaker>_<n>.wav``, exactly the layout ``kws data ingest recordings`` reads;
refused takes are kept under ``<out>/.rejected/`` with their reasons (nothing is lost; the
ingest skips hidden folders).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kws.audio import write_wav
from kws.data import quality
from kws.errors import KwsError
from kws.spec import SAMPLE_RATE

RATE = SAMPLE_RATE
SPEAKER_RE = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass
class TakeResult:
    label: str
    prompt: str
    path: str | None  # the accepted clip, or None when every attempt failed
    attempts: int
    rejected: list[dict] = field(default_factory=list)
    quality: dict | None = None


def plan(
    task, *, words: list[str] | None, takes: int, negatives: list[str], negative_takes: int, silence_takes: int
) -> list[tuple[str, str]]:
    """[(label, what to say)] in recording order."""
    kws_ = words or list(task.keywords)
    bad = [w for w in kws_ if not task.is_keyword(w)]
    if bad:
        raise KwsError(f"not keywords of task {task.name!r}: {bad} (keywords: {', '.join(task.keywords)})")
    items = [(w, w) for w in kws_ for _ in range(takes)]
    items += [(task.unknown_label, negatives[i % len(negatives)]) for i in range(negative_takes)] if negatives else []
    items += [(task.silence_label, "(stay quiet: background only)")] * silence_takes
    return items


def cut(pcm: np.ndarray, samples: int, *, speech: bool) -> tuple[np.ndarray, str | None]:
    """The clip: ``samples`` long, centred on the speech; a reason when the speech was cut off."""
    if not speech:
        return pcm[:samples], None
    lo, hi = quality.speech_bounds(pcm, RATE)
    guard = RATE // 100  # a 10 ms frame
    if lo < guard or hi > pcm.size - guard:
        return pcm[:samples], "speech touches the edge of the recording (spoke too early or too late)"
    if hi - lo > samples:
        return pcm[
            lo : lo + samples
        ], f"speech lasts {(hi - lo) / RATE:.2f} s, longer than a {samples / RATE:.2f} s clip"
    start = max(0, min(pcm.size - samples, (lo + hi) // 2 - samples // 2))
    return pcm[start : start + samples], None


def _next_index(d: Path, speaker: str) -> int:
    n = [int(m.group(1)) for p in d.glob(f"{speaker}_*.wav") if (m := re.match(rf"{speaker}_(\d+)$", p.stem))]
    return max(n, default=-1) + 1


def record_session(
    task,
    out_dir: str | Path,
    *,
    speaker: str,
    items: list[tuple[str, str]],
    seconds: float,
    capture: Callable[[int], np.ndarray],
    say: Callable[[str], None] = print,
    ready: Callable[[], None] | None = None,
    countdown: int = 3,
    max_attempts: int = 3,
) -> list[TakeResult]:
    """Records ``items``; ``capture(n)`` returns n int16 samples from the microphone."""
    if not SPEAKER_RE.match(speaker):
        raise KwsError(
            f"speaker {speaker!r}: use letters, digits and '-' only (the file name up to '_' is the "
            "speaker, which decides the split)"
        )
    clip = int(round(task.clip_seconds * RATE))
    n = int(round(seconds * RATE))
    if n < clip:
        raise KwsError(f"--seconds {seconds} is shorter than the task's {task.clip_seconds} s clips")
    out = Path(out_dir)
    rej_dir = out / ".rejected"
    results = []
    for i, (label, prompt) in enumerate(items):
        is_speech = task.is_speech(label)
        kind = "keyword" if task.is_keyword(label) else "unknown" if is_speech else "silence"
        res = TakeResult(label, prompt, None, 0)
        while res.attempts < max_attempts:
            res.attempts += 1
            say(
                f"[{i + 1}/{len(items)}] {label}: say \u201c{prompt}\u201d"
                if is_speech
                else f"[{i + 1}/{len(items)}] {label}: {prompt}"
            )
            if ready:
                ready()
            for k in range(countdown, 0, -1):
                say(f"  {k}...")
                time.sleep(1)
            say("  recording")
            pcm = np.asarray(capture(n), dtype=np.int16)
            clipped, edge = cut(pcm, clip, speech=is_speech)
            q = quality.measure(clipped, RATE)
            problems = [
                f"{code}: {detail}" for code, detail in quality.violations(q, label_kind=kind, cfg=task.validate)
            ]
            if edge:
                problems.insert(0, f"cut_off: {edge}")
            if not problems:
                d = out / label
                d.mkdir(parents=True, exist_ok=True)
                path = d / f"{speaker}_{_next_index(d, speaker):04d}.wav"
                write_wav(path, clipped, RATE)
                res.path, res.quality = str(path), q.as_dict()
                say(f"  ok (SNR {q.snr_db:.0f} dB, speech {q.speech_ms:.0f} ms, peak {q.peak_dbfs:.0f} dBFS) -> {path}")
                break
            d = rej_dir / label
            d.mkdir(parents=True, exist_ok=True)
            path = d / f"{speaker}_{_next_index(d, speaker):04d}.wav"
            write_wav(path, pcm, RATE)
            res.rejected.append({"path": str(path), "problems": problems, "quality": q.as_dict()})
            say("  again, please: " + "; ".join(problems))
        else:
            say(f"  giving up on this one after {max_attempts} attempts (kept in {rej_dir})")
        results.append(res)
    _log(out, speaker, results)
    return results


def _log(out: Path, speaker: str, results: list[TakeResult]) -> None:
    """Appends the session to <out>/.rejected/sessions.jsonl (what was refused and why)."""
    d = out / ".rejected"
    d.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {"speaker": speaker, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "takes": [r.__dict__ for r in results]}
    )
    with open(d / "sessions.jsonl", "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def mic_capture(device, *, rate: int = RATE) -> Callable[[int], np.ndarray]:
    """capture(n) from a microphone: a fresh stream per take (no stale buffered audio)."""
    from kws.live.mic import open_input, read_block

    def capture(n: int) -> np.ndarray:
        with open_input(device, rate=rate, block=0) as stream:
            pcm, overflowed = read_block(stream, n)
        if overflowed:
            raise KwsError("audio input overflowed during the take: the host dropped samples")
        return pcm

    return capture
