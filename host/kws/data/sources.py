"""Real-speech sources: Speech Commands v2, MSWC, folders of recorded words, recorded noise,
and your own recordings.

Each loader turns a directory laid out like the real thing into :class:`SourceClip` s with
task labels (task keywords keep their label, every other word becomes the task's unknown
label, background noise becomes silence), speakers, and the source's official split. The
clips then go through :func:`kws.data.ingest.ingest` like the built-in corpus.

``fetch`` downloads an archive with resume (HTTP Range) and a sha256 check, and says
clearly when the network is unreachable.
"""

from __future__ import annotations

import csv
import json
import os
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import soundfile as sf

from kws.audio import write_wav
from kws.data import LOADERS
from kws.data.ingest import SourceClip, sha256_file
from kws.errors import KwsError
from kws.spec import SAMPLE_RATE

SPEECH_COMMANDS_URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
# sha256 of the v0.02 archive as pinned by two independent public loaders.
SPEECH_COMMANDS_SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
BACKGROUND_DIR = "_background_noise_"
# Clips per class of the published Speech Commands v0.02 12-class test set (4,890 clips; the set
# MLPerf Tiny and the published DS-CNN figures are measured on): how its accuracy weighs the classes.
SPEECH_COMMANDS_TEST_SET = {
    "yes": 419,
    "no": 405,
    "up": 425,
    "down": 406,
    "left": 412,
    "right": 396,
    "on": 396,
    "off": 402,
    "stop": 411,
    "go": 402,
    "_unknown_": 408,
    "_silence_": 408,
}
# The public recordings the shipped recipes ingest, by the source name they are given (docs/data.md,
# "Real speakers"), with the credit their licences ask for; model cards print it.
CREDITS = {
    "speech_commands": "Speech Commands v0.02 (Warden 2018, arXiv:1804.03209), CC BY 4.0",
    "fsdd": "Free Spoken Digit Dataset (Jakobovski et al.), CC BY-SA 4.0",
    "mycroft": "Mycroft AI Precise-Community-Data, not-wake-words/en, public domain",
    "picovoice_alexa": "Picovoice wake-word-benchmark recordings, Apache-2.0",
    "picovoice_computer": "Picovoice wake-word-benchmark recordings, Apache-2.0",
    "picovoice_jarvis": "Picovoice wake-word-benchmark recordings, Apache-2.0",
    "recorded_noise": "noise recordings of felixchenfy/Speech-Commands-Classification-by-LSTM-PyTorch, MIT",
    "mswc": "Multilingual Spoken Words Corpus (Mazumder et al. 2021), CC BY 4.0",
    # takes cut by `kws data mine` out of streams of a data set's training speakers: no new
    # recordings, windows of the sources above (the streams' sha256 are in the data set's lineage)
    "mined_windows": "windows cut by kws data mine from streams of the training speakers' takes of the sources above",
}
MINED_SOURCE = "mined_windows"  # the source name `kws data ingest recordings` gives mined takes
AUDIO_EXTS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif")


def test_set_weighted(recall: dict[str, float | None]) -> float | None:
    """Accuracy with each class weighed by its share of the published Speech Commands test set
    (the 12 labels only, every class measured), else None: a held-out split's own class mix
    (few silence clips, say) does not then move the figure quoted beside published ones."""
    if set(recall) != set(SPEECH_COMMANDS_TEST_SET) or any(r is None for r in recall.values()):
        return None
    total = sum(SPEECH_COMMANDS_TEST_SET.values())
    return float(sum(recall[c] * n for c, n in SPEECH_COMMANDS_TEST_SET.items()) / total)


def _map_label(task, word: str) -> str:
    return word if task.is_keyword(word) else task.unknown_label


def _cut_background(
    files: list[Path], task, cache: Path, source: str, *, split_by_file: bool = False
) -> list[SourceClip]:
    """Long background recordings cut into clip-length silence segments (cached on disk). Each
    segment is split on its own (``split_by_file`` False: the Speech Commands habit, test silence
    from other stretches of the same recordings) or with every segment of its file."""
    out = []
    n = int(round(task.clip_seconds * SAMPLE_RATE))
    for f in sorted(files):
        try:
            pcm, rate = sf.read(str(f), dtype="int16", always_2d=False)
        except (sf.LibsndfileError, RuntimeError, ValueError) as e:
            out.append(
                SourceClip(
                    str(f),
                    task.silence_label,
                    f"{source}:bg",
                    source,
                    None,
                    None,
                    {"key": f.name, "file": f.name, "error": str(e)},
                )
            )
            continue
        if pcm.ndim > 1:
            pcm = np.round(pcm.mean(axis=1)).astype(np.int16)
        if rate != SAMPLE_RATE:
            from kws.data.tts import resample_int16

            pcm = resample_int16(pcm, rate, SAMPLE_RATE)
        for i in range(pcm.size // n):
            seg = cache / f"{f.stem}_{i:04d}.wav"
            if not seg.exists():
                seg.parent.mkdir(parents=True, exist_ok=True)
                write_wav(seg, pcm[i * n : (i + 1) * n], SAMPLE_RATE)
            key = f"{f.name}#{i}"
            out.append(
                SourceClip(
                    str(seg),
                    task.silence_label,
                    f"{source}:bg:{f.stem}",
                    source,
                    None,
                    f"{source}:bg:{f.stem}" + ("" if split_by_file else f":{i}"),
                    {"key": key, "file": f.name, "segment": i, "resampled_from": rate if rate != SAMPLE_RATE else None},
                )
            )
    return out


def speech_commands(root: str | Path, task, *, cache: str | Path | None = None) -> list[SourceClip]:
    """Speech Commands v2: ``<root>/<word>/<speaker>_nohash_<n>.wav``, official
    ``validation_list.txt`` / ``testing_list.txt`` splits, ``_background_noise_/`` as silence."""
    root = Path(root)
    if not root.is_dir():
        raise KwsError(f"{root}: not a directory (expected the extracted Speech Commands v2 archive)")
    lists = {}
    for name, split in (("validation_list.txt", "val"), ("testing_list.txt", "test")):
        p = root / name
        if not p.exists():
            raise KwsError(f"{p}: missing; this is not an extracted Speech Commands archive")
        for line in p.read_text().split():
            lists[line.strip()] = split
    clips = []
    for word_dir in sorted(d for d in root.iterdir() if d.is_dir() and d.name != BACKGROUND_DIR):
        for f in sorted(word_dir.glob("*.wav")):
            rel = f"{word_dir.name}/{f.name}"
            speaker = f.name.split("_nohash_")[0]
            clips.append(
                SourceClip(
                    str(f),
                    _map_label(task, word_dir.name),
                    f"sc:{speaker}",
                    "speech_commands",
                    lists.get(rel, "train"),
                    None,
                    {"key": rel, "word": word_dir.name},
                )
            )
    bg = root / BACKGROUND_DIR
    if bg.is_dir():
        cache = Path(cache) if cache else root / ".kws_background_segments"
        clips += _cut_background(list(bg.glob("*.wav")), task, cache, "speech_commands")
    return clips


def mswc(root: str | Path, task, *, language: str = "en") -> list[SourceClip]:
    """Multilingual Spoken Words: ``<root>/<lang>/clips/<word>/<file>.opus`` with the splits
    table ``<root>/<lang>_splits.csv`` (or ``<root>/<lang>/<lang>_splits.csv``), columns
    SET (TRAIN/DEV/TEST), LINK (``<word>/<file>.opus``), WORD, VALID, SPEAKER, GENDER."""
    root = Path(root)
    table = next(
        (p for p in (root / f"{language}_splits.csv", root / language / f"{language}_splits.csv") if p.exists()), None
    )
    if table is None:
        raise KwsError(f"{root}: no {language}_splits.csv; this is not an extracted MSWC language archive")
    clips_dir = root / language / "clips"
    split_of = {"TRAIN": "train", "DEV": "val", "TEST": "test"}
    out = []
    with open(table, newline="") as f:
        reader = csv.DictReader(f)
        need = {"SET", "LINK", "WORD", "SPEAKER"}
        if not need <= set(reader.fieldnames or []):
            raise KwsError(f"{table}: columns {sorted(need)} expected, found {reader.fieldnames}")
        for row in reader:
            if row.get("VALID", "True") not in ("True", "true", "1"):
                continue
            split = split_of.get(row["SET"].upper())
            if split is None:
                raise KwsError(f"{table}: unknown SET {row['SET']!r} for {row['LINK']}")
            out.append(
                SourceClip(
                    str(clips_dir / row["LINK"]),
                    _map_label(task, row["WORD"]),
                    f"mswc:{row['SPEAKER']}",
                    "mswc",
                    split,
                    None,
                    {"key": row["LINK"], "word": row["WORD"], "gender": row.get("GENDER", "")},
                )
            )
    return out


def _audio_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in AUDIO_EXTS and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def words(
    root: str | Path, task, *, label: str | None = None, speaker_field: int | None = None, source: str | None = None
) -> list[SourceClip]:
    """A folder of recorded words or short phrases, every file one clip of ``label`` (default:
    the task's unknown label; a keyword for wake-word recordings). Files of any length and rate:
    the gate fits each to the task's clip around its speech. The speaker is field
    ``speaker_field`` of the file name split on ``_`` (``<digit>_<speaker>_<n>.wav``: 1); without
    it every file is its own speaker (a crowd-sourced set with no speaker ids is split by file,
    and its figures say so). A file that is not audio, or a folder with none, is an error or a
    quarantine entry, never skipped."""
    root = Path(root)
    if not root.is_dir():
        raise KwsError(f"{root}: not a directory (expected a folder of recorded words)")
    label = label or task.unknown_label
    if label not in task.labels:
        raise KwsError(f"--label {label!r} is not a label of task {task.name!r} ({', '.join(task.labels)})")
    source = source or root.name
    files = _audio_files(root)
    if not files:
        raise KwsError(f"{root}: no audio files ({', '.join(AUDIO_EXTS)}) in it or below it")
    out = []
    for f in files:
        rel = f.relative_to(root).as_posix()
        if speaker_field is None:
            speaker = f"{source}:file:{rel}"
        else:
            fields = f.stem.split("_")
            if len(fields) <= speaker_field:
                raise KwsError(f"{f}: file name has no field {speaker_field} (split on '_') to name its speaker")
            speaker = f"{source}:{fields[speaker_field]}"
        out.append(
            SourceClip(
                str(f),
                label,
                speaker,
                source,
                None,
                None,
                {"key": rel, "word": f.parent.name if f.parent != root else label},
            )
        )
    return out


def noise(root: str | Path, task, *, cache: str | Path, source: str | None = None) -> list[SourceClip]:
    """Recorded background noise (any length and rate) cut into the task's silence clips; every
    segment of one recording stays in one split (split by file)."""
    root = Path(root)
    if not root.is_dir():
        raise KwsError(f"{root}: not a directory (expected a folder of noise recordings)")
    files = _audio_files(root)
    if not files:
        raise KwsError(f"{root}: no audio files ({', '.join(AUDIO_EXTS)}) in it or below it")
    return _cut_background(files, task, Path(cache), source or root.name, split_by_file=True)


def recordings(root: str | Path, task) -> list[SourceClip]:
    """Your own clips: ``<root>/<label>/<speaker>_<anything>.<ext>`` (one folder per task label).
    The speaker is the file name up to the first ``_``; name files that way so that your
    speakers stay in one split. Takes cut by ``kws data mine`` (a ``mined.json`` beside the
    folders) are source :data:`MINED_SOURCE` and all go to the training split: they come from
    training speakers' streams only, and a window may hold several speakers' words. Unreadable
    sub-directories are reported, not skipped; hidden ones (``.rejected``, where ``kws record``
    keeps refused takes) are not data."""
    root = Path(root)
    if not root.is_dir():
        raise KwsError(f"{root}: not a directory of label folders")
    mined = (root / "mined.json").is_file()
    split, source = ("train", MINED_SOURCE) if mined else (None, "recordings")
    out = []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise KwsError(
            f"{root}: no label folders in it (expected one folder per label of task {task.name!r}: "
            f"{', '.join(task.labels)}); a folder of words is `kws data ingest words`"
        )
    for d in folders:
        if d.name not in task.labels:
            raise KwsError(
                f"{d}: folder name {d.name!r} is not a label of task {task.name!r} ({', '.join(task.labels)})"
            )
        try:
            items = sorted(d.iterdir())
        except OSError as e:  # reported in the quarantine, the run goes on
            out.append(
                SourceClip(
                    str(d),
                    d.name,
                    f"rec:{d.name}",
                    "recordings",
                    None,
                    None,
                    {"key": f"{d.name}/", "error": f"directory not readable ({e.strerror})"},
                )
            )
            continue
        files = [p for p in items if p.is_file()]
        for sub in (p for p in items if not p.is_file()):  # a folder inside a label folder: recorded, not data
            out.append(
                SourceClip(
                    str(sub),
                    d.name,
                    f"rec:{d.name}",
                    "recordings",
                    None,
                    None,
                    {
                        "key": f"{d.name}/{sub.name}/",
                        "error": "a directory inside a label folder, not "
                        "a clip (its contents are not read: put clips directly in the label folder)",
                    },
                )
            )
        for f in files:
            speaker = f.stem.split("_")[0] if "_" in f.stem else f.stem
            out.append(SourceClip(str(f), d.name, f"rec:{speaker}", source, split, None, {"key": f"{d.name}/{f.name}"}))
    return out


def load(kind: str, root: str | Path, task, out: str | Path, **opts) -> list[SourceClip]:
    """The clips of source ``kind`` (one of :data:`LOADERS`) under ``root``, for a data set at ``out``
    (where long recordings' cut segments are cached); ``opts`` go to the loader."""
    out = Path(out)
    if kind == "speech-commands":
        return speech_commands(root, task, cache=out / "raw" / "background_segments", **opts)
    if kind == "mswc":
        return mswc(root, task, **opts)
    if kind == "words":
        return words(root, task, **opts)
    if kind == "noise":
        return noise(root, task, cache=out / "raw" / "noise_segments", **opts)
    if kind == "recordings":
        return recordings(root, task, **opts)
    raise KwsError(f"source {kind!r}: one of {', '.join(LOADERS)}")


def lineage_input(kind: str, root: str | Path, clips: list[SourceClip]) -> dict:
    """What the lineage records of an ingested source: its kind, root and a hash of its listing; for
    takes cut out of streams by ``kws data mine``, what they were cut from (its ``mined.json``)."""
    from kws.data.manifest import canonical_hash

    out = {
        "source": kind,
        "root": str(Path(root).resolve()),
        "files": len(clips),
        "listing_sha256": canonical_hash(sorted(c.origin.get("key", c.path) for c in clips)),
    }
    mined = Path(root) / "mined.json"
    if kind == "recordings" and mined.is_file():
        try:
            m = json.loads(mined.read_text())
            out["mined"] = {
                "model": m["model"],
                "threshold": m["threshold"],
                "after_ms": m["after_ms"],
                "hours": m["hours"],
                "false_accepts": m["mined"],
                "keyword_windows": sum(m["keyword_windows"].values()),
                "streams": [{"stream": r["stream"], "sha256": r["sha256"]} for r in m["streams"]],
            }
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise KwsError(f"{mined}: not what kws data mine writes ({e})") from e
    return out


def fetch(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    extract_to: str | Path | None = None,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` resuming a partial ``dest.part``; check sha256; extract.

    Raises :class:`KwsError` with a clear message when the host is unreachable or the
    checksum differs (the bad file is kept as ``.part`` for inspection, never used).
    """
    from kws.progress import bar as progress_bar

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists():
        part = dest.with_name(dest.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            resp = urllib.request.urlopen(req, timeout=timeout)
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # already complete
                resp = None
            else:
                raise KwsError(f"download of {url} failed: HTTP {e.code} {e.reason}") from e
        except (urllib.error.URLError, OSError) as e:
            raise KwsError(
                f"cannot reach {url} ({getattr(e, 'reason', e)}): no internet here? Download it "
                f"elsewhere and place it at {dest}"
            ) from e
        if resp is not None:
            if have and resp.status != 206:  # server ignored the range: start over
                have = 0
            total = int(resp.headers.get("Content-Length", 0)) + have
            with (
                open(part, "ab" if have else "wb") as f,
                progress_bar(
                    total=total or None, initial=have, unit="B", unit_scale=True, desc=dest.name, progress=progress
                ) as bar,
            ):
                for block in iter(lambda: resp.read(1 << 20), b""):
                    f.write(block)
                    bar.update(len(block))
        if sha256:
            got = sha256_file(part)
            if got != sha256:
                raise KwsError(f"{part}: sha256 {got} differs from the expected {sha256}; not used")
        os.replace(part, dest)
    elif sha256 and sha256_file(dest) != sha256:
        raise KwsError(f"{dest}: sha256 differs from the expected {sha256}")
    if extract_to:
        extract_to = Path(extract_to)
        extract_to.mkdir(parents=True, exist_ok=True)
        with tarfile.open(dest) as tar:
            tar.extractall(extract_to, filter="data")
    return dest
