"""Data-set report: counts per label, split and source, quality histograms, quarantine reasons.

Writes ``report.html`` with ``report_counts.png`` and ``report_quality.png`` beside the manifest.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

from kws.data import manifest as mf
from kws.fsio import write_if_changed


def write_report(data_dir: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    data_dir = Path(data_dir)
    m = mf.load(data_dir)
    q_path = data_dir / "quarantine.json"
    quarantine = json.loads(q_path.read_text()) if q_path.exists() else []
    labels = m["labels"]
    ents = m["entries"]
    splits = ("train", "val", "test")

    fig, ax = plt.subplots(figsize=(10, 4))
    x = np.arange(len(labels))
    for i, s in enumerate(splits):
        ax.bar(x + (i - 1) * 0.27, [m["counts"][s][lab] for lab in labels], 0.27, label=s)
    ax.set_xticks(x, labels, rotation=45, ha="right")
    ax.set_ylabel("clips")
    ax.set_title(f"{m['task']}: clips per label and split")
    ax.legend()
    fig.tight_layout()
    fig.savefig(data_dir / "report_counts.png", dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    speech = [e for e in ents if e["label"] != labels[0]]
    for ax, key, unit in zip(axes, ("snr_db", "speech_ms", "peak_dbfs"), ("dB", "ms", "dBFS")):
        for lab_kind, sel in (
            ("keywords", [e for e in speech if e["label"] in labels[2:]]),
            ("unknown", [e for e in speech if e["label"] == labels[1]]),
        ):
            vals = [e["quality"][key] for e in sel]
            if vals:
                ax.hist(vals, bins=30, alpha=0.6, label=lab_kind)
        ax.set_xlabel(f"{key} ({unit})")
        ax.legend()
    fig.tight_layout()
    fig.savefig(data_dir / "report_quality.png", dpi=90)
    plt.close(fig)

    by_source = Counter((e["source"], e["split"]) for e in ents)
    sources = sorted({e["source"] for e in ents})
    reasons = Counter(r["code"] for q in quarantine for r in q["reasons"])
    esc = html.escape
    rows_src = "".join(
        f"<tr><td>{esc(s)}</td>" + "".join(f"<td>{by_source[(s, sp)]}</td>" for sp in splits) + "</tr>" for s in sources
    )
    rows_q = "".join(f"<tr><td>{esc(k)}</td><td>{v}</td></tr>" for k, v in reasons.most_common())
    rows_qd = "".join(
        f"<tr><td>{esc(q['id'])}</td><td>{esc(q['label'])}</td><td>{esc(q['source'])}</td><td>"
        + "; ".join(esc(f"{r['code']}: {r['detail']}") for r in q["reasons"])
        + "</td></tr>"
        for q in quarantine[:200]
    )
    speakers = {sp: len({e["speaker"] for e in ents if e["split"] == sp}) for sp in splits}
    page = f"""<!doctype html><meta charset="utf-8"><title>{esc(m["task"])} data set</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}td,th{{padding:2px 8px;border-bottom:1px solid #ddd}}</style>
<h1>Data set: {esc(m["task"])}</h1>
<p>manifest hash <code>{m["hash"]}</code>; task config hash <code>{m["task_hash"][:16]}</code>;
{len(ents)} clips accepted, {len(quarantine)} quarantined; speakers per split: {speakers}.</p>
<img src="report_counts.png"><h2>Sources</h2><table><tr><th>source</th><th>train</th><th>val</th><th>test</th></tr>{rows_src}</table>
<h2>Quality</h2><img src="report_quality.png">
<h2>Quarantine</h2><table><tr><th>reason</th><th>clips</th></tr>{rows_q}</table>
<table><tr><th>id</th><th>label</th><th>source</th><th>reasons</th></tr>{rows_qd}</table>
"""
    out = data_dir / "report.html"
    write_if_changed(out, page)
    return out
