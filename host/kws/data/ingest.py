"""Ingestion: any source's clips -> validated 16 kHz int16 mono clips, quarantine, manifest.

Every clip of every source (TTS, Speech Commands, MSWC, your recordings) goes through the
same gate. Conversions are allowed but recorded in the clip's entry and in the lineage:
float or 24/32-bit PCM to int16, multi-channel to mono (mean), any rate to 16 kHz (scipy's
polyphase resampler). Clips that break a rule of the task's ``[validate]`` table, cannot be
read, are empty, exceed the size limit, duplicate another clip, or carry a label that
conflicts with an identical clip are copied into ``quarantine/`` and listed with their
reasons in ``quarantine.json`` — never silently dropped, never deleted.

Output directory::

    clips/<label>/<id>.wav     accepted clips
    quarantine/<id><ext>       copies of refused source files
    quarantine.json            [{id, source_path, label, reasons: [{code, detail}]}]
    manifest.json              entries + the data set's hash (kws.data.manifest)
    lineage.json               inputs, config hash, code and tool versions, conversions
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from kws.audio import wav_declared_samples, write_wav
from kws.data import manifest as mf
from kws.data.quality import measure, violations
from kws.data.tts import resample_int16
from kws.data.voices import resolve_pins, split_of
from kws.engine import default_workers, run_map
from kws.errors import KwsError
from kws.fsio import write_if_changed
from kws.spec import SAMPLE_RATE

FIT_HOP = 160  # 10 ms: the grain at which fit_clip looks for a take's loudest stretch
FIT_MIN_ENERGY = 0.8  # share of a keyword take's energy its clip must hold


@dataclass(frozen=True)
class SourceClip:
    """One clip offered by a source."""

    path: str
    label: str
    speaker: str
    source: str  # tts:<engine>, speech_commands, mswc, recordings, ...
    split: str | None = None  # the source's official split, else decided by speaker
    split_key: str | None = None  # what the split is decided on (default: speaker)
    origin: dict = field(default_factory=dict)  # source-specific facts (text, voice, word, ...)

    @property
    def id(self) -> str:
        return hashlib.sha1(f"{self.source}|{self.origin.get('key', self.path)}".encode()).hexdigest()[:16]


@dataclass
class Checked:
    clip: SourceClip
    source_sha256: str
    pcm: np.ndarray | None = None
    conversions: list[str] = field(default_factory=list)
    quality: dict | None = None
    reasons: list[tuple[str, str]] = field(default_factory=list)


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_any(path: str, max_bytes: float) -> tuple[np.ndarray | None, list[str], list[tuple[str, str]]]:
    """Read an audio file into 16 kHz int16 mono. Returns (pcm or None, conversions, reasons)."""
    try:
        size = os.path.getsize(path)
    except OSError as e:
        return None, [], [("unreadable", f"cannot stat: {e.strerror}")]
    if size > max_bytes:
        return None, [], [("too_large", f"{size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB")]
    if size == 0:
        return None, [], [("empty", "zero-length file")]
    truncated: list[str] = []
    try:
        info = sf.info(path)
        if info.frames == 0:
            return None, [], [("empty", "no audio frames")]
        if info.format == "WAV" and info.subtype == "PCM_16" and info.channels == 1:
            declared = wav_declared_samples(Path(path))
            if declared is not None and declared > info.frames:
                truncated = [f"truncated file: its header says {declared} samples, it holds {info.frames} (kept those)"]
        if info.subtype in ("PCM_16",):
            data, rate = sf.read(path, dtype="int16", always_2d=True)
            pcm2 = data.astype(np.int32)
            conv = []
        else:
            data, rate = sf.read(path, dtype="float64", always_2d=True)
            if not np.all(np.isfinite(data)):
                return None, [], [("not_finite", f"{info.subtype} samples contain NaN or infinity")]
            peak = float(np.abs(data).max())
            if peak > 1.0:
                return None, [], [("out_of_range", f"{info.subtype} samples reach {peak:.3f}, beyond full scale")]
            pcm2 = np.round(data * 32767.0).astype(np.int32)
            conv = [f"requantize {info.subtype} -> PCM_16"]
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        return None, [], [("unreadable", f"not readable as audio ({e})")]
    if pcm2.shape[1] > 1:
        conv.append(f"downmix {pcm2.shape[1]} channels -> mono (mean)")
        pcm = np.round(pcm2.mean(axis=1)).astype(np.int16)
    else:
        pcm = pcm2[:, 0].astype(np.int16)
    if rate != SAMPLE_RATE:
        conv.append(f"resample {rate} -> {SAMPLE_RATE} Hz (scipy resample_poly)")
        pcm = resample_int16(pcm, rate, SAMPLE_RATE)
    if pcm.size == 0:
        return None, conv, [("empty", "no samples after conversion")]
    return pcm, truncated + conv, []


def _label_kind(task, label: str) -> str:
    if label == task.silence_label:
        return "silence"
    return "keyword" if task.is_keyword(label) else "unknown"


def _check_one(clip: SourceClip, shared: tuple) -> Checked:
    """One offered clip through the gate; ``shared``: (task, the earlier run's entries by id)."""
    task, previous = shared
    sha = sha256_file(clip.path) if os.path.isfile(clip.path) else ""
    prev = previous.get(clip.id)
    if prev is not None and prev.get("source_sha256") == sha and sha:
        return Checked(clip, sha, quality=prev["quality"], conversions=prev.get("conversions", []))
    if not sha:
        return Checked(
            clip, sha, reasons=[("unreadable", clip.origin.get("error", "file missing or not a regular file"))]
        )
    pcm, conv, reasons = read_any(clip.path, task.validate.for_source(clip.source).max_file_mb * 1e6)
    if pcm is None:
        return Checked(clip, sha, conversions=conv, reasons=reasons)
    kind = _label_kind(task, clip.label)
    taken = pcm.size
    pcm, fit_conv, fit_reasons = fit_clip(pcm, int(round(task.clip_seconds * SAMPLE_RATE)), kind)
    if fit_reasons:
        return Checked(clip, sha, conversions=conv + fit_conv, reasons=fit_reasons)
    # the fitted clip's figures, but the take's own duration: the duration rules judge the recording
    q = replace(measure(pcm, SAMPLE_RATE), duration_s=taken / SAMPLE_RATE)
    return Checked(
        clip,
        sha,
        pcm=pcm,
        conversions=conv + fit_conv,
        quality=q.as_dict(),
        reasons=violations(q, label_kind=kind, cfg=task.validate.for_source(clip.source)),
    )


def fit_clip(pcm: np.ndarray, n: int, kind: str) -> tuple[np.ndarray, list[str], list[tuple[str, str]]]:
    """A recording of any length as the task's clip of ``n`` samples: the clip-long stretch that
    holds the most energy (a take's word is its loudest part; an energy detector's span is not
    robust to takes padded with digital silence, whose floor is then -120 dB), centred on that
    stretch's energy, padded with digital silence where the take is shorter. A keyword whose
    loudest stretch holds less than :data:`FIT_MIN_ENERGY` of the take's energy is refused (its
    speech does not fit the window); other words keep their loudest part. Noise and clips of
    exactly ``n`` samples are kept as they are (long noise is cut into clips by its loader)."""
    if pcm.size == n or kind == "silence":
        return pcm, [], []
    x = pcm.astype(np.float64)
    e = (
        np.convolve(x * x, np.ones(FIT_HOP), mode="valid")[::FIT_HOP]
        if x.size >= FIT_HOP
        else np.array([np.sum(x * x)])
    )
    w = max(1, min(e.size, n // FIT_HOP))
    sums = np.convolve(e, np.ones(w), mode="valid")
    k = int(np.argmax(sums))
    total = float(e.sum())
    share = float(sums[k] / total) if total > 0 else 1.0
    if kind == "keyword" and share < FIT_MIN_ENERGY:
        return (
            pcm,
            [],
            [
                (
                    "speech_too_long",
                    f"the loudest {n / SAMPLE_RATE:g} s holds {share:.0%} of the take's energy "
                    f"(< {FIT_MIN_ENERGY:.0%}): the word does not fit the clip",
                )
            ],
        )
    seg = e[k : k + w]
    centre = int(round((k + (np.sum(np.arange(seg.size) * seg) / seg.sum() if seg.sum() > 0 else w / 2)) * FIT_HOP))
    start = centre - n // 2
    if pcm.size > n:
        start = min(max(start, 0), pcm.size - n)
    out = np.zeros(n, dtype=np.int16)
    lo, hi = max(0, start), min(pcm.size, start + n)
    out[lo - start : hi - start] = pcm[lo:hi]
    return out, [f"fit {pcm.size} -> {n} samples from {start} (loudest stretch, {share:.0%} of the energy)"], []


def ingest(
    clips: list[SourceClip],
    task,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    progress: bool = True,
    step: str = "kws data ingest",
    inputs: list[dict] | None = None,
) -> dict:
    """Validate ``clips`` into the data set at ``out_dir``; returns the manifest dict.

    Re-running on the same inputs rewrites nothing and yields the same manifest hash; clips
    whose source bytes are unchanged are not re-analysed.
    """
    from kws.progress import bar

    if not clips:
        raise KwsError(f"{step}: the source offered no clips: nothing to ingest into {out_dir}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    old = mf.load(out) if (out / mf.MANIFEST).exists() else None
    # entries of an earlier run are reused for unchanged source files of the same task config only
    previous = {e["id"]: e for e in old["entries"]} if old and old.get("task_hash") == task.data_hash else {}
    unknown_labels = {c.label for c in clips} - set(task.labels)
    if unknown_labels:
        raise KwsError(f"labels not in task {task.name!r}: {sorted(unknown_labels)} (task labels: {list(task.labels)})")

    workers = workers or default_workers()
    checked = list(
        bar(
            run_map(_check_one, clips, shared=(task, previous), workers=workers, chunk=32, what="a validation"),
            total=len(clips),
            desc="validate",
            unit="clip",
            progress=progress,
        )
    )

    # Duplicates and label conflicts, by content of the converted audio (or the reused entry).
    def content_hash(c: Checked) -> str | None:
        if c.reasons:
            return None
        if c.pcm is not None:
            return hashlib.sha256(c.pcm.astype("<i2").tobytes()).hexdigest()
        return previous[c.clip.id]["pcm_sha256"]

    groups: dict[str, list[Checked]] = defaultdict(list)
    hashes = {}
    for c in checked:
        h = content_hash(c)
        hashes[c.clip.id] = h
        if h:
            groups[h].append(c)
    for group in groups.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda c: c.clip.id)
        labels = sorted({c.clip.label for c in group})
        if len(labels) > 1:
            for c in group:
                c.reasons.append(("label_conflict", f"identical audio appears under labels {labels}"))
        else:
            for c in group[1:]:
                c.reasons.append(("duplicate", f"same audio as clip {group[0].clip.id}"))

    pin = resolve_pins(dict(task.split.pin))
    entries, quarantined = [], []
    (out / "clips").mkdir(exist_ok=True)
    for c in checked:
        clip = c.clip
        if c.reasons:
            dst = _quarantine_copy(
                clip, c.source_sha256, out / "quarantine", task.validate.for_source(clip.source).max_file_mb * 1e6
            )
            size = os.path.getsize(clip.path) if os.path.isfile(clip.path) else None
            quarantined.append(
                {
                    "id": clip.id,
                    "source_path": clip.path,
                    "label": clip.label,
                    "source": clip.source,
                    "bytes": size,
                    "quarantine_path": str(dst.relative_to(out)) if dst else None,
                    "reasons": [{"code": k, "detail": d} for k, d in c.reasons],
                }
            )
            continue
        split = clip.split or split_of(
            clip.split_key or clip.speaker,
            val_percent=task.split.val_percent,
            test_percent=task.split.test_percent,
            pin=pin,
        )
        rel = Path("clips") / clip.label / f"{clip.id}.wav"
        dst = out / rel
        # written when new or when its source changed (a file replaced at the same path keeps its id)
        stale = previous.get(clip.id, {}).get("pcm_sha256") != hashes[clip.id]
        if c.pcm is not None and (stale or not dst.exists()):
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not c.conversions and Path(clip.path).suffix.lower() == ".wav" and _is_plain_wav(clip.path):
                _copy(clip.path, dst)  # a copy: editing the source later cannot change the data set
            else:
                write_wav(dst, c.pcm, SAMPLE_RATE)
        entries.append(
            {
                "id": clip.id,
                "path": rel.as_posix(),
                "label": clip.label,
                "speaker": clip.speaker,
                "source": clip.source,
                "split": split,
                "quality": c.quality,
                "conversions": c.conversions,
                "source_sha256": c.source_sha256,
                "pcm_sha256": hashes[clip.id],
                "origin": {k: v for k, v in clip.origin.items() if k != "key"},
            }
        )

    man = mf.build(entries, task)
    mf.save(out, man)
    write_if_changed(out / "quarantine.json", mf.dumps(sorted(quarantined, key=lambda q: q["id"])))
    conv = Counter(x.split(" ")[0] for e in entries for x in e["conversions"])
    mf.write_lineage(
        out,
        step=step,
        task=task,
        manifest=man,
        inputs=inputs or [],
        extra={
            "conversions": dict(conv),
            "quarantined": len(quarantined),
            "quarantine_reasons": dict(Counter(r["code"] for q in quarantined for r in q["reasons"])),
        },
    )
    return man


def _is_plain_wav(path: str) -> bool:
    try:
        info = sf.info(path)
    except Exception:  # noqa: BLE001
        return False
    return info.format == "WAV" and info.subtype == "PCM_16" and info.channels == 1 and info.samplerate == SAMPLE_RATE


def _copy(src: str, dst: Path) -> None:
    """``src`` to ``dst`` by a copy into a temporary name and a rename: never half a file."""
    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _quarantine_copy(clip: SourceClip, sha: str, qdir: Path, max_bytes: float) -> Path | None:
    """A refused source file kept under ``quarantine/`` (atomically: a killed run leaves no partial
    copy for the next to keep), unless it is no regular file or larger than the gate reads: then
    only its path, size and reasons are recorded. An existing copy of other bytes is replaced."""
    if not os.path.isfile(clip.path) or os.path.getsize(clip.path) > max_bytes:
        return None
    qdir.mkdir(exist_ok=True)
    dst = qdir / f"{clip.id}{Path(clip.path).suffix}"
    if not dst.exists() or sha256_file(dst) != sha:
        _copy(clip.path, dst)
    return dst
