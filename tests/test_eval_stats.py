"""Intervals on the stream figures and paired comparisons of two models (kws.evaluate.stats),
against textbook values and on hand-made outcomes whose answer is known."""

import json
import subprocess
import sys

import pytest

from kws.errors import KwsError
from kws.evaluate import stats
from kws.evaluate.scoring import score

R = 16000


def test_frr_interval_is_clopper_pearson():
    # textbook exact binomial intervals: 0 of 10 -> [0, 0.3085]; 5 of 10 -> [0.1871, 0.8129]
    assert stats.frr_interval(0, 10) == pytest.approx([0.0, 0.30850], abs=1e-4)
    assert stats.frr_interval(5, 10) == pytest.approx([0.18709, 0.81291], abs=1e-4)
    assert stats.frr_interval(10, 10)[1] == pytest.approx(1.0)
    assert stats.frr_interval(0, 0) is None


def test_fa_interval_is_the_exact_poisson_one_per_hour():
    # Garwood: 0 events -> [0, 3.689]; 10 events -> [4.795, 18.390]; per hour of audio
    assert stats.rate_interval(0, 1.0) == pytest.approx([0.0, 3.6889], abs=1e-3)
    assert stats.rate_interval(10, 1.0) == pytest.approx([4.7954, 18.3904], abs=1e-3)
    assert stats.rate_interval(10, 24.0) == pytest.approx([4.7954 / 24, 18.3904 / 24], abs=1e-4)
    assert stats.rate_interval(3, 0.0) is None


def test_paired_misses_count_only_the_discordant_occurrences():
    same = stats.paired_misses("1100", "1100")
    assert same == {"only_a": 0, "only_b": 0, "p": 1.0}
    # ten keywords A finds and B misses, none the other way: p = 2 / 2^10
    r = stats.paired_misses("1" * 10 + "0" * 5 + "1" * 20, "0" * 10 + "0" * 5 + "1" * 20)
    assert (r["only_a"], r["only_b"]) == (10, 0) and r["p"] == pytest.approx(2 / 1024)
    assert stats.paired_misses("1010", "0101")["p"] == 1.0  # 2 against 2
    with pytest.raises(ValueError, match="different lengths"):
        stats.paired_misses("101", "10")


def test_by_voice_one_voice_is_one_unit_however_many_keywords_it_says():
    a, b = "1" * 10 + "1" * 20, "0" * 10 + "1" * 20
    one_voice = ["kal"] * 10 + [f"v{i}" for i in range(20)]
    assert stats.paired_misses(a, b)["p"] == pytest.approx(2 / 1024)  # ten keywords: "sure"
    r = stats.paired_misses_by_voice(a, b, one_voice)
    assert r == {"voices": 21, "voices_differing": 1, "p": 1.0}  # one voice: no evidence
    ten_voices = [f"v{i}" for i in range(10)] + [f"w{i}" for i in range(20)]
    assert stats.paired_misses_by_voice(a, b, ten_voices)["p"] == pytest.approx(2 / 1024)  # exact flips
    # a voice where each model finds one the other misses cancels out
    assert stats.paired_misses_by_voice("10", "01", ["x", "x"]) == {"voices": 1, "voices_differing": 0, "p": 1.0}


def test_voice_mean_frr_weighs_every_speaker_the_same():
    # one voice with 8 keywords, all missed; three voices with one keyword each, all found
    hits, voices = "00000000" + "111", ["kal"] * 8 + ["a", "b", "c"]
    assert stats.voice_mean_frr(hits, voices) == pytest.approx(1 / 4)  # pooled FRR would be 8 / 11
    assert stats.voice_mean_frr("0110", ["a", "a", "b", "b"]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        stats.voice_mean_frr("01", ["a"])  # one voice per occurrence


def test_by_voice_samples_flips_for_many_voices_reproducibly():
    n = 24  # above the exact limit: seeded random flips
    a, b, v = "1" * n + "0" * 4, "0" * n + "1" * 4, [f"v{i}" for i in range(n)] + ["x", "x", "y", "z"]
    r = stats.paired_misses_by_voice(a, b, v, draws=20_000)
    assert r["voices_differing"] == n + 3 and r["p"] < 0.01
    assert stats.paired_misses_by_voice(a, b, v, draws=20_000) == r
    with pytest.raises(ValueError, match="different lengths"):
        stats.paired_misses_by_voice("10", "01", ["x"])


def test_false_accept_rates_compared_given_their_hours():
    assert stats.rate_difference(5, 1.0, 5, 1.0) == 1.0
    assert stats.rate_difference(0, 24.0, 0, 24.0) == 1.0
    # 12 against 0 over equal hours: p = 2 / 2^12
    assert stats.rate_difference(12, 24.0, 0, 24.0) == pytest.approx(2 / 4096)
    # the same counts over twice the hours are a lower rate, and no longer equal
    assert stats.rate_difference(10, 1.0, 10, 2.0) < 0.2


def test_score_hits_follow_the_occurrences_start_order():
    truth = [("no", 20 * R, 21 * R), ("yes", 10 * R, 11 * R), ("go", 30 * R, 31 * R)]
    s = score([("no", 20 * R + 5), ("go", 33 * R)], truth, total_samples=3600 * R, rate=R)
    assert s.hits == "010" and s.detected == s.hits.count("1")


def _run(hits_per_threshold, fa_per_threshold, key="k", hours=24.0):
    det = [
        {
            "threshold": t,
            "frr": h.count("0") / len(h),
            "fa_per_hour": fa / hours,
            "false_accepts": fa,
            "hours": hours,
            "occurrences": len(h),
            "hits": h,
        }
        for t, h, fa in zip((0.5, 0.9, 0.99), hits_per_threshold, fa_per_threshold)
    ]
    return {"occurrences_key": key, "det_all": det}


def test_compare_reads_each_curve_at_each_level_and_tests_the_pairs():
    # over 24 h: A at 40 / 10 / 0.5 FA/hr, B at 50 / 40 / 0.04
    a = _run(["1" * 30, "1" * 25 + "0" * 5, "1" * 10 + "0" * 20], [960, 240, 12])
    b = _run(["1" * 30, "0" * 30, "0" * 30], [1200, 960, 1])
    c = stats.compare(a, b, fa_levels=(20, 0.1, 0.01), names=("a", "b"))
    lv = {r["fa_level"]: r for r in c["levels"]}
    assert lv[20]["a"]["threshold"] == 0.9 and lv[20]["b"]["threshold"] == 0.99
    assert lv[20]["misses"]["only_a"] == 25 and lv[20]["misses"]["p"] < 1e-6
    assert lv[20]["a"]["frr_ci95"][0] < 5 / 30 < lv[20]["a"]["frr_ci95"][1]
    assert lv[20]["false_accepts_p"] < 1e-6  # 240 against 1 over the same day
    assert lv[0.1]["a"] is None and lv[0.1]["b"]["false_accepts"] == 1 and "misses" not in lv[0.1]
    assert lv[0.01]["a"] is None and lv[0.01]["b"] is None
    text = stats.format_comparison(c)
    assert "none within" in text and "25 / 0" in text


def test_compare_refuses_other_streams_other_hours_and_old_results():
    a = _run(["1" * 4] * 3, [3, 2, 1])
    with pytest.raises(KwsError, match="not scored on the same keyword occurrences"):
        stats.compare(a, _run(["1" * 4] * 3, [3, 2, 1], key="other"))
    with pytest.raises(KwsError, match="different hours of audio"):
        stats.compare(a, _run(["1" * 4] * 3, [3, 2, 1], hours=12.0))
    old = _run(["1" * 4] * 3, [3, 2, 1])
    for p in old["det_all"]:
        del p["hits"]
    with pytest.raises(KwsError, match="B: no hits in det_all"):
        stats.compare(a, old)


def test_cli_compare_names_a_missing_file(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_run(["1" * 4] * 3, [3, 2, 1])))
    r = subprocess.run(
        [sys.executable, "-m", "kws.cli", "eval", "--compare", str(tmp_path / "a.json"), str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "nope.json: not a readable kws eval result" in r.stderr + r.stdout
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "kws.cli",
            "eval",
            "--compare",
            str(tmp_path / "a.json"),
            str(tmp_path / "a.json"),
            "--names",
            "x,y",
            "--out",
            str(tmp_path / "c.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    got = json.loads((tmp_path / "c.json").read_text())
    assert got["names"] == ["x", "y"] and all(lv["misses"]["p"] == 1.0 for lv in got["levels"] if "misses" in lv)


def _clips(outcomes, voices, key="clips"):
    return {
        "accuracy": outcomes.count("1") / len(outcomes),
        "clip_ids_key": key,
        "outcomes": outcomes,
        "clip_voices": voices,
    }


def test_compare_clips_by_clips_and_by_voices():
    # B gets 12 more clips right than A, all of them one voice's
    voices = ["kal"] * 12 + [f"v{i}" for i in range(40)]
    a = _clips("0" * 12 + "1" * 30 + "0" * 10, voices)
    b = _clips("1" * 12 + "1" * 30 + "0" * 10, voices)
    c = stats.compare_clips(a, b, names=("a", "b"))
    assert c["a"]["accuracy"] == pytest.approx(30 / 52) and c["b"]["accuracy"] == pytest.approx(42 / 52)
    assert c["a"]["accuracy_ci95"][0] < 30 / 52 < c["a"]["accuracy_ci95"][1]
    assert (c["right"]["only_a"], c["right"]["only_b"]) == (0, 12) and c["right"]["p"] < 0.001
    assert c["right"]["by_voice"] == {"voices": 41, "voices_differing": 1, "p": 1.0}
    assert "only b: 12" in stats.format_clip_comparison(c)
    with pytest.raises(KwsError, match="not scored on the same clips"):
        stats.compare_clips(a, _clips(b["outcomes"], voices, key="other"))
    old = dict(a)
    del old["outcomes"]
    with pytest.raises(KwsError, match="A: no per-clip outcomes"):
        stats.compare_clips(old, b)


def test_fa_interval_by_recordings_is_wide_when_one_recording_carries_the_count():
    """50 false accepts in 10 h: all from one of 100 recordings said, the rate for other recordings
    like these may be 0 or double; spread one each over 50 of them, it is about as sure as Poisson."""
    from kws.evaluate.stats import rate_interval, rate_interval_by_takes

    one = rate_interval_by_takes([50] + [0] * 99, 0, 10.0)
    spread = rate_interval_by_takes([1] * 50 + [0] * 50, 0, 10.0)
    poisson = rate_interval(50, 10.0)
    assert one[0] == 0.0 and one[1] >= 10.0  # the one recording drawn 0 times, or twice and more
    assert poisson[0] > 3.0 and poisson[1] < 7.0
    assert 3.5 < spread[0] < 5.0 < spread[1] < 6.5
    # the false accepts on no speech are counted as Poisson events beside the recordings
    only_noise = rate_interval_by_takes([0] * 100, 50, 10.0)
    assert abs(only_noise[0] - poisson[0]) < 0.6 and abs(only_noise[1] - poisson[1]) < 0.6
    assert rate_interval_by_takes([], 3, 1.0) is None and rate_interval_by_takes([1], 0, 0.0) is None
    assert rate_interval_by_takes([50] + [0] * 99, 0, 10.0) == one  # seeded
