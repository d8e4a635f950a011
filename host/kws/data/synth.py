"""`kws data synth`: the built-in corpus, spoken by every offline TTS engine.

1. **Plan** (deterministic from the task config): for each keyword, ``renders_per_keyword``
   renders, each with an engine (weighted), a speaker of that engine, a tempo and pitch, and
   either the word alone or inside a carrier phrase (keyword first or last, so the clip runs
   into a neighbouring word); ``unknown_renders`` other words, ``near_miss_fraction`` of them
   near-misses and the rest from the system word list; ``silence_clips`` backgrounds.
2. **Render** in worker processes (festival batched per chunk, Piper loaded once per
   worker), each clip cut to ``clip_seconds`` around its speech and written atomically as
   ``raw/<label>/<id>.wav``. Existing clips are skipped: an interrupted run resumes, a rerun
   does no work.
3. The raw clips then go through the same ingestion as every other source (kws.data.ingest).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kws.audio import write_wav
from kws.data import noise, tts
from kws.data.quality import speech_bounds
from kws.data.voices import KOKORO_MIX, Voice, catalogue, check_installed, kokoro_mixes, resolve_pins, split_of
from kws.engine import default_workers, run_map
from kws.fsio import write_if_changed
from kws.spec import SAMPLE_RATE

WORDLIST = Path("/usr/share/dict/american-english")
CHUNK = 24  # renders per worker task


@dataclass(frozen=True)
class Render:
    id: str
    label: str
    kind: str  # keyword | unknown | silence
    text: str
    engine: str  # TTS engine, or "noise"
    voice: str  # TTS voice, or the background kind
    rate_factor: float
    pitch: float
    side: str  # alone | first | last (where the word sits in its phrase)
    speaker: str
    split: str
    level_dbfs: float = 0.0  # silence clips only
    seed: int = 0  # cut offset and noise
    word: str = ""  # the labelled word (inside ``text`` when spoken in a carrier)


def _id(*parts) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:16]


def word_list(exclude: set[str]) -> list[str]:
    """Plain lower-case words of 3-9 letters from the system list (Debian wamerican)."""
    if not WORDLIST.exists():
        from kws.errors import KwsError

        raise KwsError(f"{WORDLIST} not found (Debian package wamerican; `make setup` installs it)")
    words = {w.strip() for w in WORDLIST.read_text(errors="ignore").split()}
    return sorted(
        w for w in words if w.isalpha() and w.islower() and w.isascii() and 3 <= len(w) <= 9 and w not in exclude
    )


def plan(task) -> list[Render]:
    """Every clip of the corpus, deterministic for a task config."""
    sc = task.synth
    rng = np.random.default_rng(sc.seed)
    voices = catalogue(sc.engines, sc.espeak_voices, sc.flite_voices, sc.festival_voices, sc.kokoro_voices)
    pin = resolve_pins(dict(task.split.pin))

    def split(v: Voice) -> str:
        return split_of(v.split_key, val_percent=task.split.val_percent, test_percent=task.split.test_percent, pin=pin)

    if "kokoro" in sc.engines and sc.kokoro_mixes:
        # blends only of the voices of the blends' own split: a test voice is never heard blended
        mix_split = split_of(
            KOKORO_MIX, val_percent=task.split.val_percent, test_percent=task.split.test_percent, pin=pin
        )
        voices += kokoro_mixes(
            [v.name for v in voices if v.engine == "kokoro" and split(v) == mix_split], sc.kokoro_mixes, sc.seed
        )
    by_engine = {e: [v for v in voices if v.engine == e] for e in sc.engines}
    weights = np.array(sc.engine_weights) / np.sum(sc.engine_weights)

    def pick_voice() -> Voice:
        e = sc.engines[rng.choice(len(sc.engines), p=weights)]
        return by_engine[e][rng.integers(len(by_engine[e]))]

    def speech_render(label, kind, word, i) -> Render:
        v = pick_voice()
        rate = float(np.round(rng.uniform(*sc.rate_range), 3))
        pitch = float(np.round(rng.uniform(*sc.pitch_range), 3))
        side, text = "alone", word
        # Keywords and unknown words alike: a neighbouring word must never hint at the label.
        if rng.random() < sc.carrier_fraction:
            if rng.random() < 0.5:
                side, text = (
                    "first",
                    sc.carriers_keyword_first[rng.integers(len(sc.carriers_keyword_first))].format(word),
                )
            else:
                side, text = "last", sc.carriers_keyword_last[rng.integers(len(sc.carriers_keyword_last))].format(word)
        seed = int(rng.integers(2**31))
        rid = _id(task.name, label, i, v.speaker, text, rate, pitch, side)
        return Render(rid, label, kind, text, v.engine, v.name, rate, pitch, side, v.speaker, split(v), 0.0, seed, word)

    out: list[Render] = []
    for kw in task.keywords:
        out += [speech_render(kw, "keyword", kw, i) for i in range(sc.renders_per_keyword)]
    exclude = set(task.keywords) | {"know", "write", "rite", "wright", "two", "too", "to"}
    words = word_list(exclude)
    for i in range(sc.unknown_renders):
        if rng.random() < sc.near_miss_fraction:
            w = sc.near_misses[rng.integers(len(sc.near_misses))]
        else:
            w = words[rng.integers(len(words))]
        out.append(speech_render(task.unknown_label, "unknown", w, i))
    for i in range(sc.silence_clips):
        kind = noise.KINDS[rng.integers(len(noise.KINDS))]
        level = float(np.round(rng.uniform(-70.0, -25.0), 2))
        seed = int(rng.integers(2**31))
        # Backgrounds have no speaker: spread them over the splits by their own hash.
        sp = split_of(f"noise:{i}", val_percent=task.split.val_percent, test_percent=task.split.test_percent)
        rid = _id(task.name, task.silence_label, i, kind, level)
        out.append(
            Render(
                rid,
                task.silence_label,
                "silence",
                "",
                "noise",
                kind,
                1.0,
                0.0,
                "alone",
                f"noise:{kind}",
                sp,
                level,
                seed,
            )
        )
    return out


def cut(
    pcm: np.ndarray,
    side: str,
    n: int,
    rng: np.random.Generator,
    rate: int = SAMPLE_RATE,
    *,
    word_samples: int | None = None,
) -> tuple[np.ndarray, tuple[int, int]]:
    """``n`` samples centred (jittered) on the labelled word, and the word's (start, end)
    sample inside them (for a carrier an estimate, good to a few tens of ms).

    A word alone is the whole speech. In a carrier phrase the word is first or last: its span
    is the phrase's speech start plus ``word_samples`` (the speech length of the same word
    rendered alone by the same voice), or the phrase's end minus it. Centring it keeps the
    neighbouring word partly in the clip, run into the keyword, as a streaming window sees
    it when the keyword is in the middle — the window the detector fires on.
    """
    a, b = speech_bounds(pcm, rate)
    if side in ("first", "last") and word_samples:
        w = min(word_samples, b - a)
        a, b = (a, a + w) if side == "first" else (b - w, b)
    elif side in ("first", "last"):
        raise ValueError(f"a {side!r} carrier cut needs the word's length (word_samples)")
    pad = np.zeros(n, dtype=np.int16)
    x = np.concatenate([pad, pcm.astype(np.int16), pad])
    a, b = a + n, b + n
    slack = n - (b - a)  # < 0: speech longer than the clip, keep its middle
    jitter = int(rng.integers(-(slack // 4), slack // 4 + 1)) if slack > 0 else 0
    start = a - slack // 2 + jitter
    return x[start : start + n].copy(), (max(0, a - start), min(n, b - start))


def _word_len(pcm: np.ndarray) -> int:
    a, b = speech_bounds(pcm, SAMPLE_RATE)
    return b - a


def _render_chunk(items: list, shared: tuple) -> list[str]:
    """Renders a chunk of the plan's items not on disk yet; ``shared``: (out dir, clip samples, babble dir)."""
    out_dir, clip_samples, babble_dir = shared
    todo = [r for r in items if not (Path(out_dir) / r.label / f"{r.id}.wav").exists()]
    if not todo:
        return []
    fest = [r for r in todo if r.engine == "festival"]
    fest_audio = {}
    if fest:
        # the phrase, and for a carrier also its word alone (to find the word inside the phrase)
        jobs = [(r.id, r, r.text) for r in fest] + [(r.id + "/word", r, r.word) for r in fest if r.side != "alone"]
        semis = [2.0 ** (tts.PITCH_SEMITONES * r.pitch / 12.0) for _, r, _ in jobs]
        pcms = tts.festival_batch(
            [(r.voice, text, st / r.rate_factor) for (_, r, text), st in zip(jobs, semis)], rate=SAMPLE_RATE
        )
        fest_audio = {k: tts.speed_perturb(p, st) for (k, _, _), p, st in zip(jobs, pcms, semis)}
    written = []
    for r in todo:
        rng = np.random.default_rng(r.seed)
        span = None
        if r.kind == "silence":
            speech = None
            if r.voice == "babble":
                speech = _babble_sources(babble_dir, r.split)
            clip = noise.background(r.voice, clip_samples, SAMPLE_RATE, r.level_dbfs, rng, speech)
        else:

            def speak(text, key, r=r):
                return (
                    fest_audio[key]
                    if r.engine == "festival"
                    else tts.render(
                        r.engine, r.voice, text, rate_factor=r.rate_factor, pitch=r.pitch, sample_rate=SAMPLE_RATE
                    )
                )

            pcm = speak(r.text, r.id)
            word_len = _word_len(speak(r.word, r.id + "/word")) if r.side != "alone" else None
            clip, span = cut(pcm, r.side, clip_samples, rng, word_samples=word_len)
            span = span if r.side != "alone" else None  # alone: the clip's speech is the word
        path = Path(out_dir) / r.label / f"{r.id}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        if span is not None:  # the word's place in the clip, for stream labels
            write_if_changed(path.with_suffix(".span.json"), json.dumps({"word_span": list(span)}) + "\n")
        write_wav(path, clip, SAMPLE_RATE)  # last: its existence marks the render done
        written.append(r.id)
    return written


_BABBLE: dict[str, list[np.ndarray]] = {}


def _babble_sources(babble_dir: str, split: str) -> list[np.ndarray]:
    """Unknown-word renders of the same split (so test backgrounds use test voices only)."""
    if split not in _BABBLE:
        import soundfile as sf

        plan_rows = [json.loads(line) for line in (Path(babble_dir) / "plan.jsonl").read_text().splitlines()]
        paths = [
            Path(babble_dir) / r["label"] / f"{r['id']}.wav"
            for r in plan_rows
            if r["kind"] == "unknown" and r["split"] == split
        ]
        _BABBLE[split] = [sf.read(str(p), dtype="int16")[0] for p in paths[:200] if p.exists()]
    return _BABBLE[split]


def render_all(task, out_dir: str | Path, *, workers: int | None = None, progress: bool = True) -> dict:
    """Render the task's plan into ``out_dir`` (resumable). Returns counts."""
    from kws.progress import bar as progress_bar

    sc = task.synth
    for engine, voices in (("flite", sc.flite_voices), ("festival", sc.festival_voices), ("kokoro", sc.kokoro_voices)):
        if engine in sc.engines:
            check_installed(engine, voices)  # before anything is written
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = plan(task)
    plan_text = "".join(json.dumps(asdict(r), sort_keys=True) + "\n" for r in items)
    write_if_changed(out_dir / "plan.jsonl", plan_text)
    clip_samples = int(round(task.clip_seconds * SAMPLE_RATE))
    # Speech first (babble backgrounds are made from rendered unknown words), then silence.
    speech = [r for r in items if r.kind != "silence"]
    silence = [r for r in items if r.kind == "silence"]
    workers = workers or default_workers()
    done_before = sum(1 for r in items if (out_dir / r.label / f"{r.id}.wav").exists())
    bar = progress_bar(total=len(items), initial=done_before, desc="synth", unit="clip", progress=progress)
    written = 0
    for group in (speech, silence):
        # Interleave engines across chunks so that festival batches and Piper loads spread out.
        chunks = [group[i : i + CHUNK] for i in range(0, len(group), CHUNK)]
        for ids in run_map(
            _render_chunk,
            chunks,
            shared=(str(out_dir), clip_samples, str(out_dir)),
            workers=workers,
            chunk=1,
            what="a synthesis",
        ):
            written += len(ids)
            bar.update(len(ids))
    bar.close()
    return {"planned": len(items), "rendered": written, "reused": done_before}


def source_clips(task, raw_dir: str | Path) -> list:
    """The rendered corpus as ingestion input (labels, speakers and splits from the plan)."""
    from kws.data.ingest import SourceClip
    from kws.data.voices import Voice

    raw_dir = Path(raw_dir)
    out = []
    for line in (raw_dir / "plan.jsonl").read_text().splitlines():
        r = json.loads(line)
        engine, voice = r["engine"], r["voice"]
        span_file = raw_dir / r["label"] / f"{r['id']}.span.json"
        span = json.loads(span_file.read_text())["word_span"] if span_file.exists() else None
        split_key = Voice(engine, voice).split_key if engine != "noise" else None
        out.append(
            SourceClip(
                path=str(raw_dir / r["label"] / f"{r['id']}.wav"),
                label=r["label"],
                speaker=r["speaker"],
                source=f"tts:{engine}" if engine != "noise" else "noise",
                split=r["split"],
                split_key=split_key,
                origin={
                    "key": r["id"],
                    "text": r["text"],
                    "voice": voice,
                    "rate_factor": r["rate_factor"],
                    "pitch": r["pitch"],
                    "side": r["side"],
                    "kind": r["kind"],
                    "level_dbfs": r["level_dbfs"],
                    **({"word": r["word"], "word_span": span} if span is not None else {}),
                },
            )
        )
    return out


def synth(task, out_dir: str | Path, *, workers: int | None = None, progress: bool = True) -> dict:
    """Render the corpus into ``out_dir/raw`` and ingest it into ``out_dir``. Returns the manifest."""
    from kws.data.ingest import ingest
    from kws.data.manifest import canonical_hash

    out_dir = Path(out_dir)
    counts = render_all(task, out_dir / "raw", workers=workers, progress=progress)
    clips = source_clips(task, out_dir / "raw")
    plan_hash = canonical_hash((out_dir / "raw" / "plan.jsonl").read_text())
    inputs = [
        {
            "source": "tts",
            "root": "raw",
            "plan_sha256": plan_hash,
            **counts,
            "resampling": f"engine rate -> {SAMPLE_RATE} Hz, scipy resample_poly (espeak-ng, Piper 22050 Hz)",
        }
    ]
    return ingest(clips, task, out_dir, workers=workers, progress=progress, step="kws data synth", inputs=inputs)
