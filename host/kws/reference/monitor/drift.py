"""Drift detection: the device's feature statistics against a baseline.

A **baseline** is the feature statistics of audio in the reference condition (what the model
was trained and evaluated on, in deployment form: the data pipeline's streams built from the
training split, or the user's own recordings with the reference microphone), plus per-coefficient
alarm levels calibrated on that same audio: it is cut into pieces of one monitoring period and
each piece's PSI against the whole is measured; a level is never below the spec's
(``[monitor] psi_warn``/``psi_alarm``) nor below what unchanged audio of that length shows
(warn: the largest piece, alarm: twice that). Comparing with the training *clips* directly
would flag every device: one-second clips are mostly speech, an always-on stream is mostly not
(measured: population stability index 1.1 on c0 for unchanged audio).

The comparison per coefficient: PSI (population stability index, symmetric) and KL(field ||
baseline) of the histograms (counts + 1/2 smoothing), mean and standard deviation. Status per
coefficient and overall: ok, shift (above warn) or drift (above alarm); too few frames is
``insufficient`` rather than a guess.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kws.errors import KwsError
from kws.reference.monitor import FeatureStats, stats_of

FORMAT = "kws-feature-baseline/1"
STATUS_ORDER = ("ok", "shift", "drift")


def _dist(st: FeatureStats) -> np.ndarray:
    h = st.hist.astype(np.float64) + 0.5
    return h / h.sum(axis=1, keepdims=True)


def psi(base: FeatureStats, field: FeatureStats) -> np.ndarray:
    p, q = _dist(base), _dist(field)
    return ((q - p) * np.log(q / p)).sum(axis=1)


def kl(base: FeatureStats, field: FeatureStats) -> np.ndarray:
    p, q = _dist(base), _dist(field)
    return (q * np.log(q / p)).sum(axis=1)


@dataclass
class Baseline:
    stats: FeatureStats
    warn: np.ndarray  # PSI per coefficient
    alarm: np.ndarray
    period_frames: int
    sources: list[str]
    frontend_hash: str
    monitor: dict

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "frontend_hash": self.frontend_hash,
            "monitor": self.monitor,
            "period_frames": self.period_frames,
            "sources": self.sources,
            "warn": [round(float(v), 6) for v in self.warn],
            "alarm": [round(float(v), 6) for v in self.alarm],
            "stats": self.stats.to_json(),
        }

    @classmethod
    def load(cls, path: str | Path, spec=None) -> Baseline:
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise KwsError(f"{path}: cannot read the feature baseline ({e})") from e
        if d.get("format") != FORMAT:
            raise KwsError(f"{path}: not a feature baseline ({FORMAT})")
        if spec is not None and d["frontend_hash"] != spec.frontend.hash:
            raise KwsError(
                f"{path}: baseline made for front end {d['frontend_hash'][:8]}, this spec is "
                f"{spec.frontend.hash[:8]}: rebuild it with `kws drift baseline`"
            )
        return cls(
            FeatureStats.from_json(d["stats"]),
            np.asarray(d["warn"]),
            np.asarray(d["alarm"]),
            int(d["period_frames"]),
            list(d["sources"]),
            d["frontend_hash"],
            d["monitor"],
        )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        os.replace(tmp, path)
        return path


def make_baseline(features: list[np.ndarray], spec, *, period_frames: int, sources: list[str]) -> Baseline:
    """Baseline from int8 features [frames, coeffs] of reference-condition audio (one array per
    recording; pieces never straddle two recordings)."""
    allf = np.concatenate(features)
    if allf.shape[0] < 2 * period_frames:
        raise KwsError(
            f"baseline: {allf.shape[0]} frames of reference audio, need at least two monitoring periods "
            f"({2 * period_frames} frames, {2 * period_frames * spec.frontend.hop_samples / spec.frontend.sample_rate_hz:.0f} s)"
        )
    whole = stats_of(allf, spec.monitor)
    pieces = [
        stats_of(f[i : i + period_frames], spec.monitor)
        for f in features
        for i in range(0, f.shape[0] - period_frames + 1, period_frames)
    ]
    seg = np.max([psi(whole, s) for s in pieces], axis=0)
    m = spec.monitor
    return Baseline(
        whole,
        np.maximum(m.psi_warn, seg),
        np.maximum(m.psi_alarm, 2 * seg),
        period_frames,
        sources,
        spec.frontend.hash,
        {"bin_shift": m.bin_shift, "limit": m.limit},
    )


def wav_features(spec, path: str | Path) -> np.ndarray:
    """int8 features of a 16 kHz mono WAV, as the device computes them."""
    from kws.audio import read_wav
    from kws.frontend import Frontend

    rate = spec.frontend.sample_rate_hz
    return Frontend(spec.frontend).features(read_wav(path, expected_rate=rate), sample_rate=rate, source=str(path))


def baseline_from_wavs(spec, wavs: list[str | Path], *, period_s: float) -> Baseline:
    feats = [wav_features(spec, w) for w in wavs]
    period = int(round(period_s * spec.frontend.sample_rate_hz / spec.frontend.hop_samples))
    return make_baseline(feats, spec, period_frames=period, sources=[Path(w).name for w in wavs])


def reference_streams(task, data_dir: str | Path, work_dir: str | Path, *, minutes: float) -> list[Path]:
    """A negative and a positive stream from the data set's training split: the reference
    condition in deployment form."""
    from kws.data.streams import make_stream

    work = Path(work_dir)
    return [
        work
        / f"{make_stream(data_dir, task, work, kind=k, minutes=minutes, split='train', name=f'baseline_{k}_train')['name']}.wav"
        for k in ("negative", "positive")
    ]


@dataclass
class DriftReport:
    status: str
    frames: int
    coeffs: list[dict]
    reason: str

    def to_json(self) -> dict:
        return {"status": self.status, "frames": self.frames, "reason": self.reason, "coefficients": self.coeffs}

    def table(self) -> str:
        rows = [
            "| coeff | PSI | warn | alarm | KL | mean base → field | std base → field | status |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in self.coeffs:
            rows.append(
                f"| c{c['index']} | {c['psi']:.3f} | {c['warn']:.3f} | {c['alarm']:.3f} | {c['kl']:.3f} | "
                f"{c['mean_base']:.1f} → {c['mean_field']:.1f} | {c['std_base']:.1f} → {c['std_field']:.1f} | "
                f"{c['status']} |"
            )
        return "\n".join(rows)


def compare(base: Baseline, field: FeatureStats, *, min_fraction: float = 0.25) -> DriftReport:
    b = base.stats
    if (field.coeffs, field.bins) != (b.coeffs, b.bins):
        raise KwsError(
            f"device statistics are {field.coeffs}x{field.bins}, the baseline {b.coeffs}x{b.bins}: "
            "firmware and baseline come from different specs"
        )
    ps, kls = psi(b, field), kl(b, field)
    mb, mf, sb, sf = b.mean(), field.mean(), b.std(), field.std()
    coeffs: list[dict] = []
    for i in range(b.coeffs):
        st = "drift" if ps[i] > base.alarm[i] else "shift" if ps[i] > base.warn[i] else "ok"
        coeffs.append(
            {
                "index": i,
                "psi": float(ps[i]),
                "kl": float(kls[i]),
                "warn": float(base.warn[i]),
                "alarm": float(base.alarm[i]),
                "mean_base": float(mb[i]),
                "mean_field": float(mf[i]),
                "std_base": float(sb[i]),
                "std_field": float(sf[i]),
                "status": st,
            }
        )
    need = int(min_fraction * base.period_frames)
    if field.weight < need:
        return DriftReport(
            "insufficient",
            field.frames,
            coeffs,
            f"{field.weight} frames in the statistics, at least {need} needed (a quarter of the "
            f"{base.period_frames}-frame period the alarm levels were calibrated for)",
        )
    worst = max(coeffs, key=lambda c: (STATUS_ORDER.index(c["status"]), c["psi"] / c["alarm"]))
    status = worst["status"]
    flagged = [f"c{c['index']}" for c in coeffs if c["status"] != "ok"]
    reason = (
        "every coefficient within its calibrated range"
        if status == "ok"
        else f"{', '.join(flagged)} moved (largest: c{worst['index']} PSI {worst['psi']:.2f} > "
        f"{worst['alarm' if status == 'drift' else 'warn']:.2f})"
    )
    return DriftReport(status, field.frames, coeffs, reason)


def plot(base: Baseline, field: FeatureStats, report: DriftReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = base.stats.coeffs
    cols = 5
    rows = (n + cols - 1) // cols + 1
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.2 * rows))
    axes = axes.ravel()
    edges = np.arange(base.stats.bins + 1) * (256 // base.stats.bins) - 128
    pb, pf = _dist(base.stats), _dist(field)
    colors = {"ok": "tab:green", "shift": "tab:orange", "drift": "tab:red"}
    for i in range(n):
        ax = axes[i]
        ax.stairs(pb[i], edges, label="baseline", color="0.4")
        ax.stairs(pf[i], edges, label="device", color=colors[report.coeffs[i]["status"]])
        ax.set_title(f"c{i}: PSI {report.coeffs[i]['psi']:.2f}", fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    for ax in axes[n:]:
        ax.axis("off")
    ax = axes[-cols]
    ax.axis("on")
    ps = [c["psi"] for c in report.coeffs]
    ax.bar(range(n), ps, color=[colors[c["status"]] for c in report.coeffs])
    ax.step(np.arange(n + 1) - 0.5, list(base.alarm) + [base.alarm[-1]], where="post", color="tab:red", lw=0.8)
    ax.set_yscale("log")
    ax.set_title("PSI per coefficient (line: alarm)", fontsize=9)
    fig.suptitle(f"feature drift: {report.status} ({report.frames} frames)")
    fig.tight_layout()
    tmp = path.with_name(path.stem + f".tmp{os.getpid()}.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    os.replace(tmp, path)


def write_report(
    base: Baseline, field: FeatureStats, report: DriftReport, out_dir: str | Path, *, source: str
) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "drift.json", "md": out / "drift.md", "png": out / "drift.png"}
    doc = {
        "source": source,
        "baseline_sources": base.sources,
        **report.to_json(),
        "field_sha256": hashlib.sha256(field.to_bytes()).hexdigest(),
    }
    for key, text in (
        ("json", json.dumps(doc, indent=1) + "\n"),
        (
            "md",
            f"# Feature drift: {report.status}\n\nDevice/recording: {source}  \nBaseline: "
            f"{', '.join(base.sources)}  \nFrames: {report.frames}  \n{report.reason}\n\n"
            f"{report.table()}\n\n![drift](drift.png)\n",
        ),
    ):
        tmp = files[key].with_name(files[key].name + f".tmp{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, files[key])
    plot(base, field, report, files["png"])
    return files
