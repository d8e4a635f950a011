"""Long evaluation streams with ground truth, from held-out voices.

Two kinds, both reproducible from the task's ``[streams]`` seed:

- ``negative``: a background bed (white/pink/brown noise, hum, babble of held-out voices and,
  where the split has them, its recorded noise clips, changing every 5-20 s, at ``background_dbfs``) with non-keyword speech of the split's
  speakers covering ``speech_fraction`` of the time — and no keyword at all. For FA/hr.
- ``positive``: the same kind of bed with the split's keyword clips inserted every
  ``keyword_gap_s`` (unknown words in between). The label file gives each keyword's exact
  speech start and end sample (for a keyword inside a carrier phrase, the keyword's own span
  recorded at synthesis). For FRR and latency.

Files: ``<name>.wav`` (16 kHz int16 mono, written block by block so hours fit in memory),
``<name>.labels.csv`` (``label,start_sample,end_sample,clip_id,context,voice``: context is how the clip
says its keyword, ``alone`` or ``first`` / ``last`` in a carrier phrase; voice is the speaker's
split key, ``kws.data.voices.group_of``: paired comparisons group keywords by it), ``<name>.words.csv``
(everything said in the stream, keywords and other words: ``start_sample,end_sample`` of the clip's
speech, its ``label``, the labelled ``word``, the whole ``text`` spoken, ``context``, ``near_miss``
— 1 when the word is one of the task's near-misses — and ``clip_id``; ``kws eval`` names what
each false accept heard with it), ``<name>.beds.csv`` (``start_sample,end_sample,kind`` of each
background bed: what a false accept heard where no word was said), ``<name>.json`` (lineage).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from kws.data import manifest as mf
from kws.data import noise
from kws.data.quality import speech_bounds
from kws.data.voices import group_of
from kws.errors import KwsError
from kws.fsio import write_if_changed
from kws.spec import SAMPLE_RATE

RATE = SAMPLE_RATE
BLOCK_S = 60
SYNTHETIC_NOISE = ("noise",)  # the built-in corpus's generated silence (kws.data.synth): not a recording


def _load(data_dir: Path, entries: list[dict]) -> list[tuple[dict, np.ndarray]]:
    return [(e, sf.read(str(data_dir / e["path"]), dtype="int16")[0]) for e in entries]


def make_stream(
    data_dir: str | Path,
    task,
    out_dir: str | Path,
    *,
    kind: str,
    minutes: float,
    split: str = "test",
    name: str | None = None,
    part: int = 0,
) -> dict:
    """Write one stream; returns its summary (duration, keywords, lineage)."""
    if kind not in ("negative", "positive"):
        raise KwsError(f"stream kind must be negative or positive, got {kind!r}")
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    man = mf.load(data_dir)
    sc = task.streams
    ents = [e for e in man["entries"] if e["split"] == split]
    words = _load(data_dir, [e for e in ents if e["label"] == task.unknown_label])
    keywords = _load(data_dir, [e for e in ents if task.is_keyword(e["label"])])
    if not words or (kind == "positive" and not keywords):
        raise KwsError(
            f"{data_dir}: split {split!r} has no {'keyword' if words else 'unknown-word'} clips for a {kind} stream"
        )
    # ``part`` > 0: another stream of the same kind and length (long evaluations in pieces)
    rng = np.random.default_rng(
        [sc.seed, 0 if kind == "negative" else 1, int(minutes * 1000)] + ([part] if part else [])
    )
    total = int(minutes * 60 * RATE)
    name = name or f"{kind}_{split}_{minutes:g}min"
    babble_src = [p for _, p in words[:200]]
    # recorded noise of the split (real rooms, streets, music): one more kind of bed where there is some
    recorded = [
        p
        for e, p in _load(
            data_dir, [e for e in ents if e["label"] == task.silence_label and e["source"] not in SYNTHETIC_NOISE]
        )
        if np.any(p)
    ]
    kinds = noise.KINDS + (("recorded",) if recorded else ())

    # Events: (start sample, clip entry, pcm, is keyword)
    events = []
    t = int(rng.uniform(0.5, 2.0) * RATE)
    while t < total:
        if kind == "positive":
            e, p = keywords[rng.integers(len(keywords))]
            events.append((t, e, p, True))
            gap = rng.uniform(*sc.keyword_gap_s)
            # unknown words between keywords, away from the keyword's 1 s scoring window
            u = t + p.size + int(1.2 * RATE)
            while rng.random() < sc.speech_fraction and u + RATE < t + p.size + gap * RATE:
                e2, p2 = words[rng.integers(len(words))]
                events.append((u, e2, p2, False))
                u += p2.size + int(rng.uniform(0.2, 1.0) * RATE)
            t += p.size + int(gap * RATE)
        else:
            e, p = words[rng.integers(len(words))]
            events.append((t, e, p, False))
            mean_gap = p.size * (1.0 / max(sc.speech_fraction, 1e-3) - 1.0)
            t += p.size + int(rng.exponential(mean_gap) if mean_gap > 0 else 0)

    labels = []
    wav = out_dir / f"{name}.wav"
    tmp = out_dir / f".{name}.wav.tmp{os.getpid()}"
    with sf.SoundFile(str(tmp), "w", samplerate=RATE, channels=1, subtype="PCM_16", format="WAV") as f:
        bed_kind, bed_left, bed_level = None, 0, 0.0
        beds = []  # (start, end, kind) of each background bed: what a false accept on no speech heard
        first = 0  # events are sorted by start
        for b0 in range(0, total, BLOCK_S * RATE):
            n = min(BLOCK_S * RATE, total - b0)
            block = np.zeros(n, dtype=np.float64)
            pos = 0
            while pos < n:  # background bed, changing every 5-20 s
                if bed_left <= 0:
                    bed_kind = kinds[rng.integers(len(kinds))]
                    bed_left = int(rng.uniform(5, 20) * RATE)
                    bed_level = rng.uniform(*sc.background_dbfs)
                    beds.append((b0 + pos, min(b0 + pos + bed_left, total), bed_kind))
                m = min(bed_left, n - pos)
                block[pos : pos + m] = noise.background(bed_kind, m, RATE, bed_level, rng, babble_src, recorded)
                pos += m
                bed_left -= m
            while first < len(events) and events[first][0] + events[first][2].size <= b0:
                first += 1
            for start, _e, p, _is_kw in events[first:]:
                if start >= b0 + n:
                    break
                if start + p.size <= b0:
                    continue
                a, b = max(start, b0), min(start + p.size, b0 + n)
                block[a - b0 : b - b0] += p[a - start : b - start]
            f.write(np.clip(np.round(block), -32768, 32767).astype(np.int16))
    os.replace(tmp, wav)
    for start, e, p, is_kw in events:
        if is_kw and start + p.size <= total:
            # a keyword spoken in a carrier phrase: the keyword's own span, not the phrase's
            span = e.get("origin", {}).get("word_span")
            s0, s1 = span if span else speech_bounds(p, RATE)
            labels.append(
                (
                    e["label"],
                    start + s0,
                    start + s1,
                    e["id"],
                    e.get("origin", {}).get("side", ""),
                    group_of(e["speaker"]),
                )
            )
    lab_path = out_dir / f"{name}.labels.csv"
    lines = ["label,start_sample,end_sample,clip_id,context,voice"] + [",".join(map(str, row)) for row in labels]
    write_if_changed(lab_path, "\n".join(lines) + "\n")
    near = set(task.synth.near_misses)
    words_rows = []
    for start, e, p, _is_kw in events:
        s0, s1 = speech_bounds(p, RATE)
        if start + s0 < total:  # the stream's last word may be cut short
            o = e.get("origin", {})
            word = o.get("word") or o.get("text") or e["label"]
            words_rows.append(
                [
                    start + s0,
                    min(start + s1, total),
                    e["label"],
                    word,
                    o.get("text", word),
                    o.get("side", ""),
                    int(word in near),
                    e["id"],
                ]
            )
    write_csv(out_dir / f"{name}.words.csv", WORDS_HEADER, words_rows)
    write_csv(out_dir / f"{name}.beds.csv", BEDS_HEADER, beds)
    summary = {
        "name": name,
        "kind": kind,
        "split": split,
        "seconds": total / RATE,
        "keywords": len(labels),
        "speech_events": len(events),
        "data_manifest_hash": man["hash"],
        "task_hash": task.hash,
        "seed": sc.seed,
        "code": mf.code_version(),
        "voices": sorted({e["speaker"] for _, e, _, _ in events}),
    }
    write_if_changed(out_dir / f"{name}.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


def read_labels(path: str | Path) -> list[tuple[str, int, int]]:
    """(label, start_sample, end_sample) rows of a stream label file; clear errors on bad rows."""
    path = Path(path)
    rows = []
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"label", "start_sample", "end_sample"} <= set(reader.fieldnames):
                raise KwsError(f"{path}: header must contain label,start_sample,end_sample")
            for i, r in enumerate(reader, start=2):
                try:
                    a, b = int(r["start_sample"]), int(r["end_sample"])
                except (TypeError, ValueError) as e:
                    raise KwsError(f"{path}:{i}: start/end must be integers, got {r}") from e
                if b <= a or a < 0:
                    raise KwsError(f"{path}:{i}: end {b} must follow start {a} >= 0")
                rows.append((r["label"], a, b))
    except OSError as e:
        raise KwsError(f"{path}: cannot read label file ({e.strerror})") from e
    return rows


WORDS_HEADER = ("start_sample", "end_sample", "label", "word", "text", "context", "near_miss", "clip_id")
BEDS_HEADER = ("start_sample", "end_sample", "kind")


def write_csv(path: Path, header, rows) -> None:
    """A CSV file with its header, written only when its bytes change (then atomically)."""
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    write_if_changed(path, buf.getvalue())


def _int_rows(path: Path, header: tuple[str, ...], ints: tuple[str, ...], what: str) -> list[tuple[int, dict]]:
    """(line, row) of a CSV whose header holds ``header``, the ``ints`` columns made integers;
    clear errors naming the file (and line) when it cannot be read or a row is not numbers."""
    out = []
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not set(header) <= set(reader.fieldnames):
                raise KwsError(f"{path}: header must contain {','.join(header)}")
            for i, r in enumerate(reader, start=2):
                try:
                    out.append((i, {**r, **{k: int(r[k]) for k in ints}}))
                except (TypeError, ValueError) as e:
                    raise KwsError(f"{path}:{i}: {', '.join(ints)} must be integers, got {r}") from e
    except OSError as e:
        raise KwsError(f"{path}: cannot read {what} file ({e.strerror})") from e
    return out


def read_words(path: str | Path) -> list[dict]:
    """Rows of a stream's ``.words.csv`` (what was said where), sorted by start; clear errors
    naming the file and line on bad rows."""
    path = Path(path)
    out = []
    for i, r in _int_rows(path, WORDS_HEADER, ("start_sample", "end_sample", "near_miss"), "words"):
        a, b = r["start_sample"], r["end_sample"]
        if b <= a or a < 0:
            raise KwsError(f"{path}:{i}: end {b} must follow start {a} >= 0")
        out.append({**r, "near_miss": bool(r["near_miss"])})
    return sorted(out, key=lambda r: r["start_sample"])


def read_beds(path: str | Path) -> list[tuple[int, int, str]]:
    """Rows of a stream's ``.beds.csv`` (which background played where) as (start, end, kind),
    sorted by start; clear errors naming the file and line on bad rows."""
    path = Path(path)
    out = []
    for i, r in _int_rows(path, BEDS_HEADER, ("start_sample", "end_sample"), "beds"):
        a, b = r["start_sample"], r["end_sample"]
        if b <= a or a < 0 or not r["kind"]:
            raise KwsError(f"{path}:{i}: a bed needs a kind and an end after its start >= 0, got {r}")
        out.append((a, b, r["kind"]))
    return sorted(out)


def read_contexts(path: str | Path) -> list[str]:
    """The context column of a label file, one per row of :func:`read_labels` ("" where the file
    has no such column: streams made before it, or by hand)."""
    return read_column(path, "context")


def read_column(path: str | Path, column: str) -> list[str]:
    """One optional column of a label file (``context``, ``voice``), one value per row of
    :func:`read_labels`; "" where the file has no such column."""
    with open(path, newline="") as f:
        return [r.get(column) or "" for r in csv.DictReader(f)]
