"""Figures of a network's predictions on a split: accuracy, class-balanced accuracy, per-class
recall, confusion, and the same per source, per context (how a clip says its word) and per voice —
what `kws train`, `kws quantize`, `kws teach` and `kws eval --clips` report."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kws.data import manifest as mf


def evaluate_logits(logits: np.ndarray, y: np.ndarray, labels, sources=None, contexts=None, voices=None) -> dict:
    """Accuracy, balanced accuracy (mean per-class recall: independent of how many clips each
    class has in the split), per-class recall, confusion matrix (rows true, columns predicted),
    accuracy per source, per context (:func:`contexts`) and per voice (:func:`voice_groups`)."""
    pred = logits.argmax(axis=1)
    out = {
        **_class_figures(pred, y, labels),
        "confusion": _confusion(pred, y, len(labels)).tolist(),
        "labels": list(labels),
    }
    for key, groups in (("per_source", sources), ("per_context", contexts), ("per_voice", voices)):
        if groups is not None:
            out[key] = {
                g: {"accuracy": float(np.mean(pred[groups == g] == y[groups == g])), "n": int(np.sum(groups == g))}
                for g in sorted(set(groups.tolist()))
            }
    if sources is not None:  # recorded sources: the class figures of each, its own confusion too
        for g, rec in out["per_source"].items():
            if not g.startswith("tts:"):
                m = sources == g
                rec.update(
                    _class_figures(pred[m], y[m], labels), confusion=_confusion(pred[m], y[m], len(labels)).tolist()
                )
    return out


def _confusion(pred: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    conf = np.zeros((k, k), dtype=int)
    np.add.at(conf, (y, pred), 1)
    return conf


def _class_figures(pred: np.ndarray, y: np.ndarray, labels) -> dict:
    """Accuracy, per-class recall, class-balanced accuracy and, for the Speech Commands 12-class
    labels, accuracy with the classes weighed as the published test set weighs them."""
    from kws.data.sources import test_set_weighted

    conf = _confusion(pred, y, len(labels))
    recall = {lab: (float(conf[i, i] / conf[i].sum()) if conf[i].sum() else None) for i, lab in enumerate(labels)}
    present = [r for r in recall.values() if r is not None]
    out = {
        "accuracy": float(np.mean(pred == y)) if y.size else 0.0,
        "balanced_accuracy": float(np.mean(present)) if present else 0.0,
        "n": int(y.size),
        "per_class_recall": recall,
    }
    weighted = test_set_weighted(recall)
    if weighted is not None:
        out["test_set_weighted_accuracy"] = weighted
    return out


NO_CONTEXT = "not recorded"


def contexts(data_dir: Path, ids) -> np.ndarray:
    """How each clip says its word: ``keyword alone``, ``keyword first`` / ``keyword last`` in a
    carrier phrase, the same for ``unknown``, ``silence``; ``not recorded`` where the data set
    does not record it (recordings)."""
    by_id = {e["id"]: e.get("origin") or {} for e in mf.load(data_dir)["entries"]}
    return np.array(
        [f"{by_id[i]['kind']} {by_id[i].get('side', '?')}" if "kind" in by_id[i] else NO_CONTEXT for i in ids]
    )


def voice_groups(data_dir: Path, ids) -> np.ndarray:
    """The voice of each clip id: the speaker's timbre (an espeak-ng variant with all its
    accents, a flite / festival / Piper voice, a recorded speaker), the background kind, or for a
    recorded source without speaker ids all its files together."""
    from kws.data.voices import Voice

    def group(speaker: str) -> str:
        engine, _, name = speaker.partition(":")
        if name.startswith("file:"):  # a source with no speaker ids (kws.data.sources.words): its files are one
            return f"{engine}:files"  # group, or hundreds of one-clip "voices" would outweigh the real speakers
        return Voice(engine, name).timbre

    by_id = {e["id"]: e["speaker"] for e in mf.load(data_dir)["entries"]}
    return np.array([group(by_id[i]) for i in ids])


def voice_balanced_accuracy(pred: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """Mean over voices of each voice's accuracy: one odd voice with many clips cannot swing it."""
    return float(np.mean([np.mean(pred[groups == g] == y[groups == g]) for g in np.unique(groups)]))
