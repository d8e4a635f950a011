"""`kws data mix`: one data set from several (the TTS corpus, Speech Commands, recorded words and
noise), each clip keeping its source, speaker and split.

The parts must be data sets of the same task. A speaker (its split key, :func:`kws.data.voices.group_of`)
that lands in two splits across the parts is an error naming it and the parts: a test voice
is never heard in training, whichever part brought it. Clips are copied (write, then rename),
so the mixed data set does not change when a part is edited or rebuilt. Every part's
quarantined files are carried into the mix's ``quarantine.json`` with the part that refused
them. The manifest's ``shares`` and the lineage's ``parts`` record what each source brought
to every split.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from collections import Counter, defaultdict
from pathlib import Path

from kws.data import manifest as mf
from kws.data.voices import group_of
from kws.errors import KwsError
from kws.fsio import write_if_changed


def shares(entries: list[dict]) -> dict:
    """Clips per split and source, and each source's fraction of the split."""
    counts = Counter((e["split"], e["source"]) for e in entries)
    out = {}
    for split in ("train", "val", "test"):
        total = sum(n for (s, _), n in counts.items() if s == split)
        out[split] = {
            src: {"clips": n, "share": round(n / total, 4)} for (s, src), n in sorted(counts.items()) if s == split
        }
    return out


def check_disjoint(parts: dict[str, list[dict]], silence_label: str) -> None:
    """Every speaker (split key) in one split across all parts, else a KwsError naming it. Noise
    (the silence label) has no speaker: its loaders split it by file or by segment."""
    seen: dict[str, tuple[str, str]] = {}
    for part, entries in parts.items():
        for e in entries:
            if e["label"] == silence_label:
                continue
            key = group_of(e["speaker"])
            first = seen.setdefault(key, (e["split"], part))
            if first[0] != e["split"]:
                raise KwsError(
                    f"speaker {key!r} is in split {first[0]!r} in {first[1]} and in {e['split']!r} in "
                    f"{part}: the parts were split apart; a test voice must not be heard in training"
                )


def capped(entries: list[dict], caps: dict[str, int]) -> tuple[list[dict], list[dict]]:
    """(kept, left out): at most ``caps[source]`` clips of a source in each split, the first by
    clip id (a hash: a draw that does not depend on file names or order)."""
    kept, left, seen = [], [], Counter()
    for e in sorted(entries, key=lambda e: e["id"]):
        cap = caps.get(e["source"])
        if cap is not None and seen[(e["source"], e["split"])] >= cap:
            left.append(e)
            continue
        seen[(e["source"], e["split"])] += 1
        kept.append(e)
    return kept, left


def mix(part_dirs: list[str | Path], task, out_dir: str | Path, *, caps: dict[str, int] | None = None) -> dict:
    """Write the mixed data set at ``out_dir``; returns its manifest. ``caps``: at most this many
    clips of a source per split (a source of many clips of few speakers, spoken digits say, would
    otherwise outweigh the rest); what a cap leaves out is counted in the lineage."""
    out = Path(out_dir)
    dirs = [Path(d) for d in part_dirs]
    if len(dirs) < 2:
        raise KwsError("kws data mix needs at least two data sets")
    if out.resolve() in {d.resolve() for d in dirs}:
        raise KwsError(f"{out}: the output is one of the parts; mix into a new directory")
    parts, mans = {}, {}
    for d in dirs:
        m = mf.load(d)
        if m["labels"] != list(task.labels):
            raise KwsError(f"{d}: labels {m['labels']} are not task {task.name!r}'s {list(task.labels)}")
        parts[str(d)], mans[str(d)] = m["entries"], m
    check_disjoint(parts, task.silence_label)
    caps = dict(caps or {})
    unknown = sorted(set(caps) - {e["source"] for es in parts.values() for e in es})
    if unknown:
        raise KwsError(f"caps name sources no part has: {unknown}")
    entries, origin_of = [], {}
    for d in dirs:
        for e in parts[str(d)]:
            if e["id"] in origin_of:
                raise KwsError(
                    f"clip {e['id']} ({e['path']}) is in both {origin_of[e['id']]} and {d}: mix each source once"
                )
            origin_of[e["id"]] = str(d)
            entries.append({**e, "part": d.name})
    entries, left_out = capped(entries, caps)
    out.mkdir(parents=True, exist_ok=True)
    for e in entries:
        _copy(Path(origin_of[e["id"]]) / e["path"], out / e["path"])
    man = mf.build(entries, task)
    man["shares"] = shares(entries)
    mf.save(out, man)
    quarantined = []
    for d in dirs:
        q = d / "quarantine.json"
        if q.exists():
            quarantined += [{**x, "part": str(d)} for x in json.loads(q.read_text())]
    write_if_changed(out / "quarantine.json", mf.dumps(sorted(quarantined, key=lambda q: q["id"])))
    by_part = defaultdict(Counter)
    for e in entries:
        by_part[origin_of[e["id"]]][e["split"]] += 1
    inputs = [
        {
            "source": "data set",
            "root": str(d.resolve()),
            "manifest_hash": mans[str(d)]["hash"],
            "clips": dict(by_part[str(d)]),
            "sources": sorted({e["source"] for e in parts[str(d)]}),
        }
        for d in dirs
    ]
    mf.write_lineage(
        out,
        step="kws data mix",
        task=task,
        manifest=man,
        inputs=inputs,
        extra={
            "parts": len(dirs),
            "shares": man["shares"],
            "quarantined": len(quarantined),
            "caps": caps,
            "left_out_by_caps": dict(Counter(f"{e['source']}/{e['split']}" for e in left_out)),
        },
    )
    return man


def _copy(src: Path, dst: Path) -> None:
    if dst.exists() and filecmp.cmp(src, dst, shallow=False):  # a rebuilt part may change a clip, not its size
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def ingest_and_mix(parts, task, out: str | Path, *, root: str | Path, caps: dict[str, int] | None = None) -> Path:
    """Ingest each part of a recipe and mix them into ``out / 'all'``; returns that directory.
    ``parts``: (data set name, loader, folder under ``root``, loader options), a loader of
    :data:`kws.data.sources.LOADERS`. Ingestion is incremental: a
    rerun rereads nothing that did not change."""
    from kws.data import sources
    from kws.data.ingest import ingest

    out, root = Path(out), Path(root)
    for name, kind, rel, opts in parts:
        clips = sources.load(kind, root / rel, task, out / name, **opts)
        ingest(
            clips,
            task,
            out / name,
            progress=False,
            step=f"kws data ingest {kind}",
            inputs=[sources.lineage_input(kind, root / rel, clips)],
        )
    mix([out / name for name, *_ in parts], task, out / "all", caps=caps)
    return out / "all"
