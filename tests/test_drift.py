"""Drift monitoring: the firmware's feature monitor (C, host build) equals its Python twin bit
for bit, halvings included; kws drift flags streams whose gain, noise or spectral tilt changed
and passes unchanged ones (speakers differ); the CLI writes its report. The device side in QEMU
is in test_qemu_stream.py (semihosting) and test_qemu_serial.py (MONITOR over the protocol)."""

import dataclasses
import json

import numpy as np
import pytest
import scipy.signal as ss

from kws.cli import main
from kws.data import tts
from kws.data.noise import background
from kws.errors import KwsError
from kws.reference.monitor import FeatureStats, stats_of
from kws.reference.monitor.drift import Baseline, compare, make_baseline
from kws.reference.native import NativeMonitor

WORDS = "yes no up down left right on off stop go seven marvin house happy bird the weather is nice today".split()
PERIOD = 3000  # frames: 60 s


def _stream(voices, seconds, seed):
    """TTS words from ``voices`` at random levels and gaps over pink noise at -50 dBFS."""
    rng = np.random.default_rng(seed)
    n = seconds * 16000
    x = background("pink", n, 16000, -50, rng).astype(np.float64)
    pos = int(rng.integers(2000, 8000))
    while True:
        w = tts.espeak(str(rng.choice(WORDS)), voice=str(rng.choice(voices)), speed=int(rng.integers(130, 180)))
        w = w * 10 ** (rng.uniform(-6, 0) / 20)
        if pos + w.size >= n:
            return x
        x[pos : pos + w.size] += w
        pos += w.size + int(rng.integers(4000, 24000))


def _pcm(x):
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def streams():
    ref = [_stream(["en+m3", "en+f2", "en-us+m1", "en+klatt2"], 120, s) for s in (1, 2)]
    field = _stream(["en+f4", "en-gb-x-rp+m7", "en+m5", "en-us+f3"], 60, 9)  # other speakers
    return ref, field


@pytest.fixture(scope="module")
def baseline(streams, spec, frontend):
    ref, _ = streams
    feats = [frontend.features(_pcm(a), sample_rate=16000) for a in ref]
    return make_baseline(feats, spec, period_frames=PERIOD, sources=["ref1", "ref2"])


def test_c_monitor_equals_python_including_halvings(spec, frontend, speech, native, rng):
    feats = np.concatenate([frontend.features(x, sample_rate=16000) for x in speech.values()])
    extremes = rng.choice(np.array([-128, -127, -1, 0, 1, 126, 127], np.int8), size=(3000, feats.shape[1]))
    noise = rng.integers(-128, 128, size=(5000, feats.shape[1])).astype(np.int8)
    c = NativeMonitor()
    for f in (feats, extremes, noise, np.concatenate([noise, feats, extremes])):
        for limit in (0, 37, 500):  # 0: the spec's (65535), no halving on these lengths
            mspec = spec.monitor if limit == 0 else dataclasses.replace(spec.monitor, limit=limit)
            py = stats_of(f, mspec)
            dev = c.run(f, limit=limit)
            assert dev.to_bytes() == py.to_bytes()
            if limit == 37:
                assert py.halvings > 10  # the decay path is exercised
            assert py.hist.max() < mspec.limit
    py = stats_of(feats, spec.monitor)
    assert py.frames == feats.shape[0] == py.weight and py.halvings == 0
    assert py.hist.sum(axis=1).tolist() == [feats.shape[0]] * feats.shape[1]
    np.testing.assert_allclose(py.mean(), feats.mean(axis=0))
    np.testing.assert_allclose(py.std(), feats.std(axis=0))


def test_chunked_pushes_equal_one_push(spec, rng):
    from kws.reference.monitor import FeatureMonitor

    f = rng.integers(-60, 60, size=(7000, 13)).astype(np.int8)
    mspec = dataclasses.replace(spec.monitor, limit=200)
    m = FeatureMonitor(mspec, 13)
    pos = 0
    while pos < f.shape[0]:
        k = int(rng.integers(1, 900))
        m.push(f[pos : pos + k])
        pos += k
    assert m.stats.equal(stats_of(f, mspec)) and m.stats.halvings > 0


def test_reports_parse_and_malformed_ones_are_refused(spec, rng):
    st = stats_of(rng.integers(-128, 128, size=(500, 13)).astype(np.int8), spec.monitor)
    raw = st.to_bytes()
    assert len(raw) == 16 + 13 * (16 * 2 + 4 + 8) and FeatureStats.from_bytes(raw).equal(st)
    assert FeatureStats.from_json(json.loads(json.dumps(st.to_json()))).equal(st)
    for bad, why in ((raw[:10], "too short"), (raw[:-1], "bytes"), (raw[:12] + b"\x0d\x03" + raw[14:], "malformed")):
        with pytest.raises(KwsError, match=why):
            FeatureStats.from_bytes(bad, source="dev")
    with pytest.raises(KwsError, match="baseline 13x16"):
        compare(Baseline(st, np.ones(13), np.ones(13), 100, [], "", {}), FeatureStats(12, 16, 65535, frames=500))


def test_drift_flags_gain_noise_and_tilt_but_not_other_speakers(streams, baseline, spec, frontend):
    _, b = streams
    rng = np.random.default_rng(0)

    def check(x):
        return compare(baseline, stats_of(frontend.features(_pcm(x), sample_rate=16000), spec.monitor))

    same = check(b)
    assert same.status == "ok", same.table()
    assert max(c["psi"] for c in same.coeffs) < 0.2
    for name, x, must in (
        ("gain -20 dB", b * 0.1, {0}),
        ("gain +10 dB", b * 3.16, {0}),
        ("white noise", b + rng.normal(0, 200, b.size), {0, 1}),
        ("spectral tilt", ss.lfilter([1, -0.95], [1], b), {1}),
        ("low-pass 2 kHz", ss.lfilter(*ss.butter(4, 2000 / 8000), b), {1, 2}),
    ):
        r = check(x)
        flagged = {c["index"] for c in r.coeffs if c["status"] == "drift"}
        assert r.status == "drift" and must <= flagged, f"{name}: {r.status} {r.reason}"
    short = compare(baseline, stats_of(frontend.features(_pcm(b[: 16000 * 5]), sample_rate=16000), spec.monitor))
    assert short.status == "insufficient"


def test_baseline_needs_two_periods_and_checks_its_front_end(baseline, spec, tmp_path):
    with pytest.raises(KwsError, match="two monitoring periods"):
        make_baseline([np.zeros((100, 13), np.int8)], spec, period_frames=PERIOD, sources=["x"])
    p = baseline.save(tmp_path / "b.json")
    assert Baseline.load(p, spec).stats.equal(baseline.stats)
    d = json.loads(p.read_text())
    d["frontend_hash"] = "0" * 64
    p.write_text(json.dumps(d))
    with pytest.raises(KwsError, match="rebuild it"):
        Baseline.load(p, spec)


def test_cli_check_writes_report_and_fails_on_drift(streams, baseline, tmp_path, capsys):
    from kws.audio import write_wav

    _, b = streams
    base = baseline.save(tmp_path / "baseline.json")
    write_wav(tmp_path / "same.wav", _pcm(b), 16000)
    write_wav(tmp_path / "tilt.wav", _pcm(ss.lfilter([1, -0.95], [1], b)), 16000)
    assert (
        main(
            [
                "drift",
                "check",
                "--baseline",
                str(base),
                "--wav",
                str(tmp_path / "same.wav"),
                "--out",
                str(tmp_path / "r1"),
                "--fail-on",
                "drift",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "drift",
                "check",
                "--baseline",
                str(base),
                "--wav",
                str(tmp_path / "tilt.wav"),
                "--out",
                str(tmp_path / "r2"),
                "--fail-on",
                "drift",
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "drift: ok" in out and "drift: drift: " in out and "| c1 |" in out
    rep = json.loads((tmp_path / "r2" / "drift.json").read_text())
    assert rep["status"] == "drift" and len(rep["coefficients"]) == 13
    assert (tmp_path / "r2" / "drift.png").stat().st_size > 10000
    assert "![drift](drift.png)" in (tmp_path / "r2" / "drift.md").read_text()
    assert main(["drift", "check", "--baseline", str(base), "--stats", str(tmp_path / "nope.bin")]) == 2
