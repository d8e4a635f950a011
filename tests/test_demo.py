"""The README's main command runs to its report: every stage's figures present, bit-exactness
and device-vs-reference checks passing, the figures written."""

import json

import pytest

from kws.demo import run_demo
from kws.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # not in `make check`


def test_demo_runs_end_to_end_to_its_report(tmp_path, capsys):
    assert run_demo(spec_path=None, out_dir=tmp_path, task="commands") == 0
    # it ends with one line per stage: pass, or a note saying what a demo-sized figure means
    out = capsys.readouterr().out.split("stage by stage:\n")[1].splitlines()[:-1]
    assert len(out) >= 9 and all(ln.split()[0] in ("pass", "note") for ln in out), out
    assert "| --- |" not in "\n".join(out) and sum(ln.split()[0] == "pass" for ln in out) >= 7
    report = (tmp_path / "report.md").read_text()
    for needle in (
        "frames equal",
        "network windows equal",
        "detection events that differ | 0",
        "duty cycle at 64 MHz",
        "kws eval",
        "feature drift",
        "![DET](eval/det.png)",
    ):
        assert needle in report, needle
    for png in ("eval/det.png", "scores.png", "confusion.png", "footprint.png"):
        assert (tmp_path / png).stat().st_size > 5000, png
    r = json.loads((tmp_path / "report.json").read_text())
    assert 0 < r["evaluation"]["device_run"]["duty_cycle_at_64MHz"] < 0.5
    assert r["device"]["windows"]["differ"] == [] and r["bit_exact"]["equal"] == r["bit_exact"]["frames"]
    labels = (tmp_path / "device" / "stream.labels.csv").read_text().splitlines()
    assert sum(",flite/slt:go forward, then stop" in ln for ln in labels) == 2  # both keywords it says
    # the negative stream says only the task's near-misses (no keyword): every false accept heard one or noise
    heard = r["evaluation"]["eval"]["false_accepts_heard"]
    assert heard["words_said"]["near-miss"] > 10 and heard["words_said"]["other word"] == 0
    assert heard["false_accepts"] == r["evaluation"]["eval"]["at_default"]["false_accepts"]
    assert "what the false accepts at the default threshold heard" in report
    # minutes of audio: the figures carry their (wide) 95 % intervals
    d = r["evaluation"]["eval"]["at_default"]
    assert d["frr_ci95"][0] <= d["frr"] <= d["frr_ci95"][1] and d["fa_per_hour_ci95"][1] > d["fa_per_hour"]
    assert f"FRR {d['frr']:.0%} [{d['frr_ci95'][0]:.0%}–{d['frr_ci95'][1]:.0%}]" in report
    # a recorded human voice: the report says what the model found on it, and the firmware equals the host
    h = r["evaluation"]["human_voice"]
    assert h["stream"]["keywords"] == h["at_default_threshold"]["occurrences"] == 6
    assert h["device_qemu"]["windows_equal"] == h["device_qemu"]["windows"] > 250 and h["device_qemu"]["events_equal"]
    assert "a recorded human voice" in report and f"{h['device_qemu']['windows']} windows equal" in report
    assert (REPO_ROOT / "models" / "commands" / "manifest.json").exists()
