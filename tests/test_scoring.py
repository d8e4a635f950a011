"""Scoring rules on hand-made streams with known answers."""

import json

import pytest

from kws.evaluate.scoring import score

R = 16000


def test_detection_window_is_word_start_to_one_second_after_its_end():
    truth = [("yes", 10 * R, 11 * R), ("no", 20 * R, 21 * R)]
    s = score([("yes", 10 * R + 100), ("no", 22 * R - 1)], truth, total_samples=3600 * R, rate=R)
    assert s.detected == 2 and s.frr == 0 and s.false_accepts == 0
    assert s.latencies_ms == pytest.approx([(100 - R) * 1000 / R, (R - 1) * 1000 / R])
    assert s.detection_samples == [10 * R + 100, 22 * R - 1]  # which event each latency is of
    late = score([("no", 22 * R + 1)], truth, total_samples=3600 * R, rate=R)
    assert late.detected == 0 and late.false_accepts == 1 and late.frr == 1.0
    early = score([("yes", 10 * R - 1)], truth, total_samples=3600 * R, rate=R)
    assert early.detected == 0 and early.false_accepts == 1


def test_wrong_keyword_and_repeats_are_false_accepts():
    truth = [("yes", 10 * R, 11 * R)]
    s = score(
        [("no", 10 * R + 500), ("yes", 10 * R + 800), ("yes", 11 * R - 100)], truth, total_samples=3600 * R, rate=R
    )
    assert s.detected == 1
    assert s.false_accepts == 1  # 'no' and the repeat are within 1 s of each other: debounced to one


def test_fa_per_hour_and_debounce():
    events = [("go", k * R) for k in (5, 5.5, 7, 100, 100.2, 100.4)]
    s = score(events, [], total_samples=1800 * R, rate=R)  # half an hour of negatives
    assert s.false_accepts == 3 and s.fa_per_hour == pytest.approx(6.0)
    assert s.frr == 0.0 and s.occurrences == 0


def test_per_keyword_scoring():
    truth = [("yes", 10 * R, 11 * R), ("no", 20 * R, 21 * R)]
    events = [("yes", 10 * R + 1), ("no", 50 * R)]
    assert score(events, truth, total_samples=3600 * R, rate=R, only="yes").frr == 0.0
    s = score(events, truth, total_samples=3600 * R, rate=R, only="no")
    assert s.frr == 1.0 and s.false_accepts == 1


def test_false_accepts_more_than_a_second_apart_count_separately():
    truth = [("yes", 10 * R, 11 * R)]
    s = score(
        [("no", 10 * R + 500), ("yes", 10 * R + 800), ("yes", 11 * R + 900)], truth, total_samples=3600 * R, rate=R
    )
    assert s.detected == 1 and s.false_accepts == 2  # 1.025 s apart: two false accepts


def _word(a, b, label, word, near=False, take=None):
    return {
        "start_sample": a,
        "end_sample": b,
        "label": label,
        "word": word,
        "text": word,
        "near_miss": near,
        "clip_id": take or f"{word}@{a}",
    }


def test_a_false_accept_is_charged_to_the_word_most_inside_its_window():
    from kws.evaluate.triggers import attribute, summarize

    words = [
        _word(2 * R, 3 * R, "_unknown_", "gown", near=True),
        _word(int(3.2 * R), int(3.6 * R), "_unknown_", "table"),
        _word(10 * R, int(10.5 * R), "down", "down"),
        _word(20 * R, 21 * R, "_unknown_", "of", near=True),
        _word(21 * R, 22 * R, "_unknown_", "table"),
    ]
    events = [
        ("down", int(3.1 * R)),  # window [2.1, 3.1) s: 0.9 s of 'gown'
        ("down", int(3.9 * R)),  # window [2.9, 3.9) s: 0.1 s of 'gown', 0.4 s of 'table'
        ("up", int(10.6 * R)),  # a keyword said, another one fired
        ("off", 15 * R),  # nothing said within the second before it
        ("off", int(21.5 * R)),
    ]  # 0.5 s of 'of', 0.5 s of 'table': the later word
    recs = attribute(events, words, R)
    assert [(r["kind"], r["said"]) for r in recs] == [
        ("near-miss", "gown"),
        ("other word", "table"),
        ("keyword", "down"),
        ("no speech", None),
        ("other word", "table"),
    ]
    s = summarize(recs, words)
    assert s["false_accepts"] == 5 and s["by_kind"] == {"near-miss": 1, "other word": 2, "keyword": 1, "no speech": 1}
    assert s["words_said"] == {"near-miss": 2, "other word": 2, "keyword": 1}
    assert s["per_100_words"] == {"near-miss": 50.0, "other word": 100.0, "keyword": 100.0}
    assert s["top"][0] == {"fired": "down", "said": "gown", "count": 1} and len(s["top"]) == 4
    assert s["takes"]["said"] == 5 and s["takes"]["fired"] == 4 and s["takes"]["top5_share"] == 1.0


def test_false_accepts_are_traced_to_the_takes_a_stream_repeats():
    """A long stream says a few recordings many times: the summary names the takes that fired, how
    often each was said, and how much of the total the top five carry."""
    from kws.evaluate.triggers import attribute, describe, summarize

    words, events = [], []
    for i in range(40):  # 40 sayings: takes a and b alternate (15 each), then 10 other takes once each
        take = ("a", "b")[i % 2] if i < 30 else f"t{i}"
        words.append(_word(i * 2 * R, i * 2 * R + R // 2, "_unknown_", "five" if take == "a" else "wow", take=take))
        if take == "a" or i == 35:  # take a fires on every repeat, one other take once
            events.append(("on", i * 2 * R + R // 2))
    s = summarize(attribute(events, words, R), words)
    t = s["takes"]
    assert t["said"] == 12 and t["fired"] == 2
    assert t["top"][0] == {"fired": "on", "said": "five", "take": "a", "count": 15, "times_said": 15}
    assert t["top"][1]["take"] == "t35" and t["top"][1]["count"] == 1
    assert t["top5_share"] == 1.0
    assert "2 of 12 takes fired" in describe(s)
    assert summarize([], words)["takes"] == {
        "said": 12,
        "fired": 0,
        "top": [],
        "top5_share": None,
        "fa_per_hour_ci95": None,  # no hours given
    }
    # given the hours: an interval with the recordings as units, that holds the rate measured
    lo, hi = summarize(attribute(events, words, R), words, hours=2.0)["takes"]["fa_per_hour_ci95"]
    assert lo <= 16 / 2.0 <= hi
    assert f"(FA/hr with the takes as units: 95 % {lo:.1f}–{hi:.1f})" in describe(
        summarize(attribute(events, words, R), words, hours=2.0)
    )


def test_false_accepts_on_no_speech_are_split_by_the_background_under_them():
    """Where no word was said, the false accept is charged to the bed that covers most of its
    window, and each kind's rate is per hour of that kind (babble is speech the words file omits)."""
    from kws.evaluate.triggers import attribute, describe, summarize

    words = [_word(100 * R, 101 * R, "_unknown_", "table")]
    beds = [(0, 10 * R, "white"), (10 * R, 30 * R, "babble"), (30 * R, 3600 * R, "recorded")]
    events = [
        ("on", int(10.3 * R)),  # window [9.3, 10.3) s: 0.7 s of white noise, 0.3 s of babble
        ("on", int(10.7 * R)),  # 0.3 s white, 0.7 s babble
        ("up", 20 * R),
        ("go", int(100.5 * R)),  # a word was said: charged to it, the bed only noted
    ]
    recs = attribute(events, words, R, beds)
    assert [(r["kind"], r["bed"]) for r in recs] == [
        ("no speech", "white"),
        ("no speech", "babble"),
        ("no speech", "babble"),
        ("other word", "recorded"),
    ]
    assert attribute(events, words, R)[0]["bed"] is None  # a stream without a beds file
    seconds = {"white": 10.0, "babble": 20.0, "recorded": 3570.0}
    by_bed = summarize(recs, words, hours=1.0, bed_seconds=seconds)["no_speech_by_bed"]
    assert {k: v["false_accepts"] for k, v in by_bed.items()} == {"babble": 2, "recorded": 0, "white": 1}
    assert by_bed["babble"]["fa_per_hour"] == pytest.approx(2 / (20 / 3600))
    assert by_bed["recorded"]["fa_per_hour"] == 0.0
    assert "on no speech, by background: babble 2 (360.0/hr of it), white 1 (360.0/hr of it)" in describe(
        summarize(recs, words, hours=1.0, bed_seconds=seconds)
    )
    assert summarize(recs, words)["no_speech_by_bed"] is None  # no beds known


def test_beds_files_are_read_with_clear_errors(tmp_path):
    from kws.data.streams import BEDS_HEADER, read_beds
    from kws.errors import KwsError

    p = tmp_path / "s.beds.csv"
    head = ",".join(BEDS_HEADER)
    p.write_text(head + "\n100,200,hum\n0,100,white\n")
    assert read_beds(p) == [(0, 100, "white"), (100, 200, "hum")]
    p.write_text(head + "\n0,x,white\n")
    with pytest.raises(KwsError, match=r"s.beds.csv:2: .*integers"):
        read_beds(p)
    p.write_text(head + "\n100,100,white\n")
    with pytest.raises(KwsError, match=r"s.beds.csv:2: a bed needs a kind and an end after its start"):
        read_beds(p)
    p.write_text("start_sample,end_sample\n1,2\n")
    with pytest.raises(KwsError, match="s.beds.csv: header must contain"):
        read_beds(p)


def test_only_counted_false_accepts_are_charged():
    """The debounced repeats of one false accept are not charged twice; detections are not charged."""
    truth = [("yes", 10 * R, 11 * R)]
    s = score(
        [("yes", 10 * R + 800), ("go", 30 * R), ("go", int(30.5 * R)), ("go", 40 * R)],
        truth,
        total_samples=3600 * R,
        rate=R,
    )
    assert s.false_accept_events == [("go", 30 * R), ("go", 40 * R)] and s.false_accepts == 2


def test_words_files_are_read_with_clear_errors(tmp_path):
    from kws.data.streams import WORDS_HEADER, read_words
    from kws.errors import KwsError

    p = tmp_path / "s.words.csv"
    head = ",".join(WORDS_HEADER)
    p.write_text(head + "\n200,300,_unknown_,of,turn of,last,1,c2\n10,90,yes,yes,yes,alone,0,c1\n")
    w = read_words(p)
    assert [(r["start_sample"], r["word"], r["near_miss"]) for r in w] == [(10, "yes", False), (200, "of", True)]
    p.write_text(head + "\n10,x,yes,yes,yes,alone,0,c1\n")
    with pytest.raises(KwsError, match=r"s.words.csv:2: .*integers"):
        read_words(p)
    p.write_text(head + "\n90,10,yes,yes,yes,alone,0,c1\n")
    with pytest.raises(KwsError, match=r"s.words.csv:2: end 10 must follow start 90"):
        read_words(p)
    p.write_text("start_sample,end_sample\n1,2\n")
    with pytest.raises(KwsError, match="s.words.csv: header must contain"):
        read_words(p)


@pytest.mark.slow
def test_eval_end_to_end_on_a_small_stream(tmp_path, spec):
    """kws eval on a generated stream: DET points per keyword, monotone FA/hr in the threshold,
    calibrated thresholds chosen from the sweep, a DET plot."""
    import numpy as np

    from kws.audio import write_wav
    from kws.data import tts
    from kws.evaluate.run import SWEEP, evaluate
    from kws.paths import REPO_ROOT

    model = REPO_ROOT / "models" / "commands"
    if not (model / "model.tflite").exists():
        pytest.skip("no released commands model")
    rng = np.random.default_rng(5)
    parts, truth, pos = [], [], 0
    for w, v, ctx in [
        ("yes", "en+m3", "alone"),
        ("stop", "en+f2", "alone"),
        ("left", "en-us+m1", "last"),
        ("no", "en+f4", "first"),
        ("marvin", "en+m1", ""),
    ]:
        gap = np.zeros(int(rng.integers(8000, 20000)), np.int16)
        clip = tts.espeak(w, voice=v)
        parts += [gap, clip]
        pos += gap.size
        nz = np.nonzero(np.abs(clip) > 200)[0]
        if w != "marvin":
            truth.append(f"{w},{pos + nz[0]},{pos + nz[-1]},x,{ctx},espeak:{v}")
        pos += clip.size
    x = np.concatenate(parts + [np.zeros(16000, np.int16)])
    write_wav(tmp_path / "s.wav", x, 16000)
    (tmp_path / "s.labels.csv").write_text(
        "label,start_sample,end_sample,clip_id,context,voice\n" + "\n".join(truth) + "\n"
    )
    (tmp_path / "s.words.csv").write_text(
        "start_sample,end_sample,label,word,text,context,near_miss,clip_id\n"
        + "".join(f"{a},{b},{w},{w},{w},{c},0,x\n" for w, a, b, _, c, _ in (t.split(",") for t in truth))
    )
    # a keyword-free stream that says one recording of another word twelve times
    take = tts.espeak("table", voice="en+m2")
    gap = np.zeros(8000, np.int16)
    write_wav(tmp_path / "n.wav", np.concatenate([gap] + [take, gap] * 12), 16000)
    (tmp_path / "n.labels.csv").write_text("label,start_sample,end_sample,clip_id,context,voice\n")
    step = take.size + gap.size
    (tmp_path / "n.words.csv").write_text(
        "start_sample,end_sample,label,word,text,context,near_miss,clip_id\n"
        + "".join(
            f"{gap.size + i * step},{gap.size + i * step + take.size},_unknown_,table,table,,0,t1\n" for i in range(12)
        )
    )
    r = evaluate(spec, model, tmp_path, tmp_path / "out", target_fa_per_hour=100.0)
    assert r["negative_takes"] == {"takes": 1, "sayings": 12, "repeats_median": 12, "repeats_max": 12}
    assert set(r["det"]) == set(r["calibrated_thresholds"]) and len(r["det"]["yes"]) == len(SWEEP)
    fa = [p["fa_per_hour"] for p in r["det"]["yes"]]
    assert all(a >= b for a, b in zip(fa, fa[1:]))  # higher threshold, never more false accepts
    # the whole model's curve (one threshold for all keywords): fewer detections as it rises
    frr = [p["frr"] for p in r["det_all"]]
    assert len(frr) == len(SWEEP) and all(a <= b for a, b in zip(frr, frr[1:]))
    assert r["det_all"][list(SWEEP).index(0.7)]["frr"] == r["at_default_threshold"]["frr"]
    assert r["at_default_threshold"]["occurrences"] == 4
    # misses by context: every occurrence in one context, the misses adding up to the total
    ctx = r["by_context"]["at_default_threshold"]
    assert {c: m["occurrences"] for c, m in ctx.items()} == {"alone": 2, "first": 1, "last": 1}
    assert round(sum(m["frr"] * m["occurrences"] for m in ctx.values())) == round(4 * r["at_default_threshold"]["frr"])
    assert (tmp_path / "out" / "det.png").stat().st_size > 1000
    # every counted false accept is charged to something (here: 'marvin' is in no words row)
    for key in ("at_default_threshold", "at_calibrated"):
        heard = r["false_accepts_heard"][key]
        assert sum(heard["by_kind"].values()) == heard["false_accepts"] == r[key]["false_accepts"]
    assert r["false_accepts_heard"]["streams"] == ["n.wav", "s.wav"]
    assert r["false_accepts_heard"]["at_default_threshold"]["takes"]["said"] == 2  # x (the keywords) and t1
    # the command says which thresholds each row is at, and that these seconds fit none worth releasing
    import subprocess
    import sys

    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "kws.cli",
            "eval",
            "--model",
            str(model),
            "--streams",
            str(tmp_path),
            "--out",
            str(tmp_path / "cli"),
        ],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr
    rows = [ln.split(" FA/hr")[0].strip() for ln in cli.stdout.splitlines() if " FA/hr " in ln and "latency" in ln]
    assert rows == ["default 0.7", "released", "fitted here"]
    assert "fitted to 0 min of negatives" in cli.stderr and "no calibration for a release" in cli.stderr
    # each keyword's share of the 1 FA/hr target is resolved only by hours of negatives: 1 h per keyword here
    assert f"needs {len(r['calibrated_thresholds']):g} h to resolve one false accept" in cli.stderr
    # and that its negatives are one recording said again and again, not hours of independent speech
    assert "say 1 distinct recordings, each about 12 times" in cli.stderr
    slow = evaluate(spec, model, tmp_path, tmp_path / "tflm", target_fa_per_hour=100.0, engine="tflm")
    assert slow["det"] == r["det"] and slow["calibrated_thresholds"] == r["calibrated_thresholds"]
    # every total carries its intervals and, for paired comparisons, each occurrence's outcome
    for p in r["det_all"] + [r["at_default_threshold"], r["at_calibrated"]]:
        assert len(p["hits"]) == 4 and p["hits"].count("0") == round(p["frr"] * 4)
        assert p["frr_ci95"][0] <= p["frr"] <= p["frr_ci95"][1]
        assert p["fa_per_hour_ci95"][0] <= p["fa_per_hour"] < p["fa_per_hour_ci95"][1]
    # the same streams through another model (the wake word finds none of these keywords), compared
    from kws.evaluate.stats import compare

    ww = evaluate(spec, REPO_ROOT / "models" / "wakeword", tmp_path, tmp_path / "ww", target_fa_per_hour=100.0)
    assert ww["occurrences_key"] == r["occurrences_key"] and ww["at_default_threshold"]["hits"] == "0000"
    # its eval.json runs a device or kws listen at those thresholds (kws.release.thresholds), for that model only

    from kws.errors import KwsError
    from kws.release.thresholds import threshold_overrides
    from kws.released import ReleasedModel

    man = ReleasedModel.load(model)
    assert threshold_overrides(man, file=tmp_path / "out" / "eval.json") == r["calibrated_thresholds"]
    with pytest.raises(KwsError, match="calibrated for another model"):
        threshold_overrides(man, file=tmp_path / "ww" / "eval.json")
    assert r["occurrence_voices"] == ["espeak:en+m3", "espeak:en+f2", "espeak:en-us+m1", "espeak:en+f4"]
    bv = r["by_voice"]["at_default_threshold"]
    assert sorted(bv) == sorted(r["occurrence_voices"]) and all(m["occurrences"] == 1 for m in bv.values())
    # one keyword per voice: every voice weighing the same is the plain FRR
    assert r["at_default_threshold"]["frr_voice_mean"] == pytest.approx(r["at_default_threshold"]["frr"])
    assert sum(m["missed"] for m in bv.values()) == r["at_default_threshold"]["hits"].count("0")
    lv = compare(r, ww, fa_levels=(1e9,))["levels"][0]
    found = lv["a"]["occurrences"] - round(lv["a"]["frr"] * 4)
    assert lv["misses"]["only_a"] == found and lv["misses"]["only_b"] == 0
    assert lv["misses"]["by_voice"]["voices_differing"] == found  # one keyword per voice here
    assert compare(r, slow, fa_levels=(1e9,))["levels"][0]["misses"] == {
        "only_a": 0,
        "only_b": 0,
        "p": 1.0,
        "by_voice": {"voices": 4, "voices_differing": 0, "p": 1.0},
    }


def test_native_engine_equals_the_reference_pipeline_in_parallel_chunks(spec):
    """The fast engine (C front end, streaming C network, split over threads) gives the features
    and every window's logits of the Python front end + TFLM, on a stream long enough to split."""
    import numpy as np

    from kws.data import tts
    from kws.evaluate.run import NativeEngine, TflmEngine
    from kws.paths import REPO_ROOT
    from kws.reference.detector import window_ends
    from kws.reference.pipeline import ReferencePipeline

    pipe = ReferencePipeline(spec, REPO_ROOT / "models" / "commands")
    rng = np.random.default_rng(9)
    x = np.concatenate(
        [
            np.concatenate(
                [rng.integers(-300, 300, int(rng.integers(3000, 9000))).astype(np.int16), tts.espeak(w, voice="en+f2")]
            )
            for w in ("go", "off", "up", "right", "seven")
        ]
    )
    fast, ref = NativeEngine(pipe), TflmEngine(pipe)
    fast.threads = 3  # uneven chunks on purpose
    feats = ref.features(x)
    np.testing.assert_array_equal(fast.features(x), feats)
    ends = window_ends(feats.shape[0], spec)
    assert len(ends) > 12
    np.testing.assert_array_equal(fast.logits(feats, ends), ref.logits(feats, ends))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_detector_equals_the_streaming_detector(spec, seed):
    """The sweep's vectorized detector makes exactly the streaming detector's decisions."""
    import numpy as np

    from kws.reference import detector as det

    rng = np.random.default_rng(seed)
    # logits that sometimes favour a keyword for a few runs in a row, like real speech
    logits = rng.integers(-40, 20, (3000, 12)).astype(np.int8)
    for at in rng.choice(2900, 80, replace=False):
        logits[at : at + int(rng.integers(1, 6)), int(rng.integers(2, 12))] = int(rng.integers(40, 127))
    d = spec.detector
    lut = det.exp_lut(0.1983, d.posterior_frac_bits)
    samples = np.arange(3000) * 1280 + 15840
    for thr_value in (0.3, 0.7, 0.95):
        thr = {i: det.threshold_q(thr_value if i % 3 else 0.5, d.posterior_frac_bits) for i in range(12)}
        ref = det.Detector(d, keyword_classes=list(range(2, 12)), lut=lut, thresholds_q=thr, refractory=13)
        want = [e for e in (ref.push(lg, s) for lg, s in zip(logits, samples)) if e is not None]
        got = det.BatchDetector(d, logits, keyword_classes=list(range(2, 12)), lut=lut, refractory=13).events(
            thr, samples
        )
        assert got == want and len(want) > 5


def test_calibrated_thresholds_reach_the_device_tables_and_its_identity(spec):
    """A model manifest's calibrated thresholds become the generated detector table, and the
    detector hash of the handshake changes with them (a device built with other thresholds
    fires differently and must be refused); without them the spec's default and hash stand."""
    from kws.codegen import model as cgm
    from kws.paths import REPO_ROOT
    from kws.reference.detector import class_thresholds_q, detector_hash32, threshold_q

    d = spec.detector
    labels = ["_silence_", "_unknown_", "yes", "no"]
    assert class_thresholds_q(d, labels) == [0, 0] + [threshold_q(d.threshold, d.posterior_frac_bits)] * 2
    cal = {"yes": 0.99, "no": 0.5}
    assert class_thresholds_q(d, labels, cal) == [0, 0, threshold_q(0.99, 15), threshold_q(0.5, 15)]
    assert detector_hash32(d) == int(d.hash[:8], 16)
    assert detector_hash32(d, cal) != detector_hash32(d) and detector_hash32(d, cal) != detector_hash32(
        d, {"yes": 0.98, "no": 0.5}
    )
    blob = (REPO_ROOT / "models" / "commands" / "model.tflite").read_bytes()
    all_labels = json.loads((REPO_ROOT / "models" / "commands" / "manifest.json").read_text())["labels"]
    cal12 = {lab: 0.9 for lab in all_labels[2:]}
    text = cgm.render(blob, frontend_hash32=1, spec=spec, labels=all_labels, thresholds=cal12)
    assert f"0x{detector_hash32(d, cal12):08x}u" in text["kws_det_config.h"]
    q = threshold_q(0.9, d.posterior_frac_bits)
    assert ", ".join(["0u", "0u"] + [f"{q}u"] * 10) in text["kws_net.c"]


def test_the_device_posterior_table_stops_where_exp_rounds_to_zero(spec):
    """The generated kws_det_exp_lut holds the Python LUT up to its last non-zero entry, and
    everything past it that the firmware's detector reads as 0 is 0 in the Python LUT too (the
    events and scores staying equal is the QEMU tests' job)."""
    import re

    import numpy as np

    from kws.codegen import model as cgm
    from kws.paths import REPO_ROOT
    from kws.reference.detector import exp_lut
    from kws.reference.tflite_model import TFLiteModel

    for name in ("commands", "wakeword"):
        blob = (REPO_ROOT / "models" / name / "model.tflite").read_bytes()
        labels = json.loads((REPO_ROOT / "models" / name / "manifest.json").read_text())["labels"]
        m = TFLiteModel.from_bytes(blob)
        full = exp_lut(float(m.tensors[m.outputs[0]].scale[0]), spec.detector.posterior_frac_bits)
        text = cgm.render(blob, frontend_hash32=1, spec=spec, labels=labels)
        n = int(re.search(r"#define KWS_DET_EXP_LEN\s+(\d+)", text["kws_det_config.h"]).group(1))
        body = re.search(r"kws_det_exp_lut\[(\d+)\] = \{([^}]*)\}", text["kws_net.c"])
        table = [int(v) for v in re.findall(r"(\d+)u", body.group(2))]
        assert int(body.group(1)) == n == len(table) < 256 and table[-1] > 0
        np.testing.assert_array_equal(np.asarray(table), full[:n])
        assert not full[n:].any()
