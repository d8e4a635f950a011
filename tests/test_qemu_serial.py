"""The keyword spotter over the serial protocol, in QEMU (USART1 bridged to a loopback socket,
opened with pyserial's socket://): what it reports equals the host reference; bad frames get
ERROR replies and counters, and the device keeps working; a mismatched device is refused."""

import json

import numpy as np
import pytest

from kws.device import protocol as p
from kws.device.link import DeviceMismatch
from kws.device.qemu import Sim
from kws.paths import REPO_ROOT
from kws.reference.pipeline import ReferencePipeline
from kws.released import ReleasedModel

pytestmark = pytest.mark.slow  # not in `make check`

ELF = REPO_ROOT / "build" / "qemu" / "kws_serial.elf"
MODEL = REPO_ROOT / "models" / "commands"


@pytest.fixture(scope="module")
def image(qemu_images):
    return qemu_images / "kws_serial.elf"


@pytest.fixture(scope="module")
def audio():
    from kws.data import tts

    parts = [
        np.zeros(3000, np.int16),
        tts.espeak("left", voice="en+m3"),
        np.zeros(5000, np.int16),
        tts.espeak("no", voice="en+f2"),
        np.zeros(9000, np.int16),
    ]
    return np.concatenate(parts)


def test_serial_stream_equals_host_reference(image, audio, spec):
    ref_logits, ref_events = ReferencePipeline(spec, MODEL).run(audio)
    with Sim(image) as sim, sim.link() as link:
        from kws.device.connect import expected_hashes

        # the detector hash covers the model's calibrated thresholds, which the device was built with
        hello = link.handshake(logits=True, expect=expected_hashes(spec, ReleasedModel.load(MODEL)))
        assert hello.sample_rate == spec.frontend.sample_rate_hz and hello.classes == ref_logits.shape[1]
        before = link.stats()  # counted since boot: a boot's stray bytes are not the stream's
        r = link.stream(audio)
        stats = link.stats()
    assert r.errors == []
    assert r.samples_acked == audio.size
    got = np.frombuffer(b"".join(r.logits), dtype=np.int8).reshape(-1, ref_logits.shape[1])
    np.testing.assert_array_equal(got, ref_logits)
    assert r.events == [(e.label, e.score_q, e.sample) for e in ref_events]
    assert stats["runs"] == ref_logits.shape[0] and stats["bad_crc"] == before["bad_crc"] and stats["rx_lost"] == 0


def test_bad_frames_get_errors_and_the_device_goes_on(image, audio):
    with Sim(image) as sim, sim.link() as link:
        link.handshake()
        bad = bytearray(p.encode(p.AUDIO, link.seq, b"\x01\x02"))
        bad[2] ^= 0x20  # corrupted: CRC fails
        link.ser.write(bytes(bad))
        link.seq += 1
        e1 = link.wait_for(p.ERROR)
        link.seq += 5  # frames lost on the way
        link.send(p.AUDIO, b"\x01\x02\x03")  # odd length: not int16 audio
        errs = [link.wait_for(p.ERROR), link.wait_for(p.ERROR)]
        link.send(0x55)  # unknown message type
        e4 = link.wait_for(p.ERROR)
        link.ser.write(b"\x07garbage-without-delimiter-then-one\x00")
        hello = link.handshake()  # still answering
        stats = link.stats()
    codes = [p.ERRORS[e1.payload[0]], *(p.ERRORS[e.payload[0]] for e in errs), p.ERRORS[e4.payload[0]]]
    assert codes[0] == "bad_crc"
    assert set(codes[1:3]) == {"seq_gap", "bad_audio_size"}
    assert codes[3] == "unknown_type"
    assert hello.classes == 12
    assert stats["bad_crc"] >= 1 and stats["seq_gaps"] >= 1 and stats["bad_frames"] >= 1


def test_a_board_reset_mid_stream_voids_the_stream_and_a_new_handshake_recovers(image, audio, spec):
    """QEMU's system_reset mid-stream (the reset button): the device announces its start, the
    host ends the stream with the counts so far instead of mixing two sessions' sample indices,
    and after a new handshake the device is bit-exact again."""
    import re
    import threading
    import time

    from kws.device.link import DeviceReset

    long = np.tile(audio, 8)
    with Sim(image) as sim, sim.link() as link:
        link.handshake()
        timer = threading.Timer(2.0, sim.reset)
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(DeviceReset, match="restarted mid-session") as err:
            link.stream(long)
        took = time.monotonic() - t0
        timer.join()
        assert link.hello is None  # the session is gone with it
        link.handshake(logits=True)
        r = link.stream(audio)
    acked = int(re.search(r"acknowledged (\d+) of", str(err.value)).group(1))
    assert 0 < acked < long.size and took < link.timeout  # detected at once, not by a timeout
    ref_logits, ref_events = ReferencePipeline(spec, MODEL).run(audio)
    got = np.frombuffer(b"".join(r.logits), dtype=np.int8).reshape(-1, ref_logits.shape[1])
    np.testing.assert_array_equal(got, ref_logits)
    assert r.events == [(e.label, e.score_q, e.sample) for e in ref_events] and r.errors == []


def test_a_port_that_goes_away_mid_stream_ends_it_with_counts(image, audio):
    """The emulator killed mid-stream (a board unplugged): an error naming the port and the
    counts so far, at once, not a traceback or a hang."""
    import threading
    import time

    from kws.device.link import DeviceLost

    with Sim(image) as sim, sim.link() as link:
        link.handshake()
        threading.Timer(2.0, sim.proc.kill).start()
        t0 = time.monotonic()
        with pytest.raises(
            DeviceLost,
            match=r"socket://127.0.0.1:\d+: the port went away .*; [1-9]\d* of \d+ "
            r"samples acknowledged, \d+ events",
        ):
            link.stream(np.tile(audio, 8))
        assert time.monotonic() - t0 < 10


def test_device_eval_streams_again_after_a_restart(image, audio, spec, tmp_path, monkeypatch):
    """kws device eval over a board that resets mid-stream: the void stream is reported and
    streamed again from the beginning, and the diff is still zero."""
    import threading

    from kws.audio import write_wav
    from kws.device.link import DeviceReset, Link
    from kws.evaluate.device import device_eval

    write_wav(tmp_path / "s.wav", np.tile(audio, 4), 16000)
    stream = Link.stream

    def reset_during_first_stream(sim):
        calls = []

        def patched(link, pcm):
            if not calls:  # 1.5 s into the first stream only
                threading.Timer(1.5, sim.reset).start()
            calls.append(1)
            return stream(link, pcm)

        monkeypatch.setattr(Link, "stream", patched)
        return calls

    with Sim(image) as sim:
        calls = reset_during_first_stream(sim)
        r = device_eval(spec, MODEL, tmp_path / "s.wav", port=sim.url)
    assert len(calls) == 2 and len(r["restarts"]) == 1 and "restarted mid-session" in r["restarts"][0]
    assert r["windows"]["differ"] == [] and r["windows"]["device"] == r["windows"]["reference"]
    assert r["events"]["differ"] == [] and r["device_score"] == r["reference_score"]
    with Sim(image) as sim:  # no retries left: the error stands
        reset_during_first_stream(sim)
        with pytest.raises(DeviceReset):
            device_eval(spec, MODEL, tmp_path / "s.wav", port=sim.url, retries=0)


def test_a_mismatched_device_is_refused(image):
    with Sim(image) as sim, sim.link() as link:
        with pytest.raises(DeviceMismatch, match="model_hash32 is .*, expected 00000000"):
            link.handshake(expect={"model_hash32": 0})


def test_device_eval_reports_no_difference_and_scores_both_sides(image, audio, spec, tmp_path):
    from kws.audio import write_wav
    from kws.data.quality import speech_bounds
    from kws.evaluate.device import device_eval

    write_wav(tmp_path / "s.wav", audio, 16000)
    a, b = speech_bounds(audio[3000 : 3000 + 16000], 16000)  # 'left' starts at sample 3000
    (tmp_path / "s.labels.csv").write_text(f"label,start_sample,end_sample,clip_id\nleft,{3000 + a},{3000 + b},x\n")
    r = device_eval(spec, MODEL, tmp_path / "s.wav")
    assert r["windows"]["differ"] == [] and r["windows"]["device"] == r["windows"]["reference"] > 10
    assert r["events"]["differ"] == []
    assert r["device_score"] == r["reference_score"] and r["reference_score"]["occurrences"] == 1
    assert r["link_errors"] == [] and r["device_counters"]["bad_crc"] == 0
    c = r["device_compute"]  # by the device's clock, which STATS now names
    assert c["tick_hz"] > 1_000_000 and 0 < c["network_ms_per_window"] < c["ms_per_window"]


def test_device_eval_with_thresholds_set_over_the_link(image, audio, spec, tmp_path, capsys):
    """`kws device eval --threshold`: the firmware built with the calibrated thresholds takes one
    threshold for every keyword over the link, and fires exactly where the reference does with it
    — at other samples than with its built-in thresholds."""
    from kws.audio import write_wav
    from kws.cli import main
    from kws.data.quality import speech_bounds

    write_wav(tmp_path / "s.wav", audio, 16000)
    a, b = speech_bounds(audio[3000 : 3000 + 16000], 16000)  # 'left' starts at sample 3000
    (tmp_path / "s.labels.csv").write_text(f"label,start_sample,end_sample,clip_id\nleft,{3000 + a},{3000 + b},x\n")
    low = {k: 0.5 for k in ReferencePipeline(spec, MODEL).labels[2:]}
    _, at_low = ReferencePipeline(spec, MODEL, thresholds=low).run(audio)
    _, built = ReferencePipeline(spec, MODEL).run(audio)
    want = [[e.label, e.score_q, e.sample] for e in at_low]
    assert want and want != [[e.label, e.score_q, e.sample] for e in built]
    assert (
        main(["device", "eval", str(tmp_path / "s.wav"), "--threshold", "0.5", "--out", str(tmp_path / "r.json")]) == 0
    )
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["thresholds"] == low and r["thresholds_set_at_run_time"]
    assert r["windows"]["differ"] == [] and r["events"] == {"reference": len(want), "device": len(want), "differ": []}
    assert "0 differ" in capsys.readouterr().out
    # latency with the link: each event's delay after the block that completed its window was sent
    d, lw = r["event_delay_ms"], r["device_latency_with_link_ms"]
    assert d["n"] == len(want) and 0 < d["p50"] <= d["max"] < 10_000
    assert lw["n"] == r["device_score"]["detected"] == 1 and lw["p95"] > r["device_score"]["latency_ms_p95"]


def test_feature_monitor_over_the_protocol_equals_host_reference(image, audio, spec, frontend):
    from kws.reference.monitor import stats_of

    feats = frontend.features(audio, sample_rate=spec.frontend.sample_rate_hz)
    with Sim(image) as sim, sim.link() as link:
        link.handshake()
        link.stream(audio)
        st = link.monitor(reset=True)  # report, then start a new period
        again = link.monitor()
    assert st.frames == feats.shape[0] > 50
    assert st.to_bytes() == stats_of(feats, spec.monitor).to_bytes()
    assert again.frames == 0 and again.hist.sum() == 0


def test_kws_drift_check_reads_the_device(image, audio, spec, frontend, tmp_path, capsys):
    """`kws drift check` against QEMU: stream, MONITOR, report (baseline: the same audio)."""
    from kws.audio import write_wav
    from kws.cli import main
    from kws.reference.monitor.drift import make_baseline

    feats = frontend.features(audio, sample_rate=spec.frontend.sample_rate_hz)
    make_baseline([feats], spec, period_frames=feats.shape[0] // 2, sources=["audio"]).save(tmp_path / "b.json")
    write_wav(tmp_path / "a.wav", audio, spec.frontend.sample_rate_hz)
    rc = main(
        [
            "drift",
            "check",
            "--model",
            str(MODEL),
            "--baseline",
            str(tmp_path / "b.json"),
            "--stream",
            str(tmp_path / "a.wav"),
            "--out",
            str(tmp_path / "r"),
            "--fail-on",
            "shift",
        ]
    )
    assert rc == 0, capsys.readouterr()
    rep = json.loads((tmp_path / "r" / "drift.json").read_text())
    assert rep["status"] == "ok" and rep["frames"] == feats.shape[0] and "QEMU" in rep["source"]


def test_microphone_build_reports_the_reference_events(qemu_images, spec, frontend, tmp_path):
    """The microphone build of the app in QEMU, its microphone a file (mic_file.c): `kws device
    listen` collects exactly the host reference's events; host audio is refused."""
    from kws.data import tts
    from kws.device.listen import device_listen

    parts = [
        np.zeros(6000, np.int16),
        tts.espeak("yes", voice="en+m3"),
        np.zeros(9000, np.int16),
        tts.espeak("stop", voice="en+f2"),
        np.zeros(16000, np.int16),
    ]
    x = np.concatenate(parts)
    block = spec.frontend.hop_samples * spec.detector.stride_frames
    x = x[: x.size // block * block]  # the microphone delivers whole blocks
    _, ref = ReferencePipeline(spec, MODEL).run(x)
    assert len(ref) >= 1
    x.astype("<i2").tofile(tmp_path / "mic.pcm")
    with Sim(qemu_images / "kws_mic.elf", args=[str(tmp_path / "mic.pcm")]) as sim, sim.link() as link:
        hello = link.handshake()
        assert hello.audio_source == 1
        r = device_listen(link, seconds=60, until_frames=spec.frontend.num_frames(x.size))
        link.send(p.AUDIO, b"\x00\x00")
        err = link.wait_for(p.ERROR)
    assert r.events == [(e.label, e.score_q, e.sample) for e in ref]
    assert r.stats["frames"] == spec.frontend.num_frames(x.size) and r.stats["audio_overruns"] == 0
    assert 100 < r.stats["stack_peak"] < 4096
    assert err.payload[0] == 4  # bad_audio: the microphone is the source


def test_listening_ends_with_an_error_when_the_board_resets(qemu_images, spec, tmp_path):
    """A microphone board that resets while the host listens: its sample indices start again,
    so the session ends with DeviceReset and the count of events heard before it."""
    import threading

    from kws.device.link import DeviceReset
    from kws.device.listen import device_listen

    np.zeros(16000 * 30, "<i2").tofile(tmp_path / "mic.pcm")
    with Sim(qemu_images / "kws_mic.elf", args=[str(tmp_path / "mic.pcm")]) as sim, sim.link() as link:
        link.handshake()
        threading.Timer(1.5, sim.reset).start()
        with pytest.raises(DeviceReset, match="restarted mid-session: 0 events heard before it"):
            device_listen(link, seconds=20)


def test_kws_device_listen_cli_on_the_emulated_microphone(tmp_path, capsys):
    """`kws data say` makes the recording, `kws device listen --compare` diffs the emulated
    microphone build's events with the host reference (what the Renode suites run)."""
    from kws.audio import read_wav
    from kws.cli import main

    wav = tmp_path / "a.wav"
    assert (
        main(["data", "say", "left", "no", "--out", str(wav), "--pcm", str(tmp_path / "a.pcm"), "--block", "1280"]) == 0
    )
    x = read_wav(wav, expected_rate=16000)
    assert x.size % 1280 == 0 and np.array_equal(np.fromfile(tmp_path / "a.pcm", "<i2"), x)
    assert main(["device", "listen", "--compare", str(wav), "--seconds", "60"]) == 0
    out = capsys.readouterr().out
    assert "listening through the device" in out and "audio overruns 0" in out and "device equal" in out
    # the same board at one threshold for every keyword, set over the link: equal to the reference at it
    assert main(["device", "listen", "--compare", str(wav), "--seconds", "60", "--threshold", "0.3"]) == 0
    low = capsys.readouterr().out
    assert "thresholds set for this session" in low and "device equal" in low
    import re

    assert re.findall(r"\(sample \d+\)", out) != re.findall(r"\(sample \d+\)", low)  # it fired elsewhere
    assert main(["device", "listen", "--seconds", "1"]) == 2  # neither a board nor audio


def _cpu_seconds(pid: int) -> float:
    import os

    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("name", ["kws_serial.elf", "kws_mic.elf"])
def test_idle_device_sleeps_instead_of_spinning(image, audio, spec, name, tmp_path):
    """With nothing to do the always-on core waits for an interrupt (WFI), which QEMU honours by
    halting the emulated CPU: the emulator then takes almost no host CPU (it took a whole core
    while the app polled). The serial build sleeps until audio comes and then streams
    bit-exactly; the microphone build plays its recording, then sleeps once it has run out."""
    import time

    block = spec.frontend.hop_samples * spec.detector.stride_frames
    x = audio[: audio.size // block * block]
    x.astype("<i2").tofile(tmp_path / "mic.pcm")
    args = [str(tmp_path / "mic.pcm")] if name == "kws_mic.elf" else None
    with Sim(REPO_ROOT / "build" / "qemu" / name, args=args) as sim, sim.link() as link:
        link.handshake()
        if name == "kws_mic.elf":  # the recording plays as fast as the app takes it
            deadline = time.monotonic() + 60
            while link.stats()["frames"] < spec.frontend.num_frames(x.size) and time.monotonic() < deadline:
                time.sleep(0.2)
        c0, t0 = _cpu_seconds(sim.proc.pid), time.monotonic()
        time.sleep(1.5)
        share = (_cpu_seconds(sim.proc.pid) - c0) / (time.monotonic() - t0)
        assert share < 0.3, f"{name} kept {share:.0%} of a core busy while idle"
        _, ref_events = ReferencePipeline(spec, MODEL).run(x)
        if name == "kws_serial.elf":
            events = link.stream(x).events
            assert events == [(e.label, e.score_q, e.sample) for e in ref_events]
        else:
            assert link.stats()["frames"] == spec.frontend.num_frames(x.size)


def test_boot_error_survives_a_frame_cut_by_the_reset(image):
    """A device that resets while sending leaves the host holding half a frame; its boot output
    starts with a lone delimiter, so the STARTED error after it still decodes (the host would
    otherwise read the two as one damaged frame, miss the restart and wait for credits)."""
    import time

    with Sim(image) as sim, sim.link() as link:  # the raw bytes the device sends at boot
        raw, deadline = b"", time.monotonic() + 10
        while raw.count(0) < 2 and time.monotonic() < deadline:
            raw += link.ser.read(64)
    assert raw[:1] == b"\x00"
    half = p.encode(p.CREDIT, 7, bytes(10))[:-6]  # a frame cut short, no delimiter
    frames = p.Decoder().feed(half + raw)
    assert [(f.type, f.payload[0]) for f in frames][:1] == [(p.ERROR, 6)]


def test_kws_device_info_says_what_the_device_runs(image, spec, capsys, tmp_path):
    """`kws device info`: firmware version, its hashes against a model, the thresholds in force
    (the commands model's calibrated ones, built in) and its counters, as JSON."""
    from kws.cli import main

    assert main(["device", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["fw_version"] == "1.1.0" and info["audio_source"] == "host" and info["classes"] == 12
    assert info["matches"] == {
        "model": "commands",
        "frontend_hash32": True,
        "model_hash32": True,
        "detector_hash32": True,
    }
    assert info["thresholds_set_by_host"] is False
    cal = ReleasedModel.load(MODEL).thresholds
    assert info["thresholds"].keys() == cal.keys()
    assert all(abs(info["thresholds"][k] - cal[k]) <= 2**-16 for k in cal)  # Q15, rounded
    assert info["stats"]["tick_hz"] > 0 and info["stats"]["bad_crc"] >= info["session_counters"]["bad_crc"]
    assert info["session_counters"] == {
        "bad_crc": 0,
        "bad_frames": 0,
        "seq_gaps": 0,  # none lost in the session
        "rx_frames": 2,
        "rx_lost": 0,
    }  # THRESHOLDS_REQ, STATS_REQ
    # another released model boots its own image (firmware/generated/wakeword/, build/qemu-wakeword/)
    assert main(["device", "info", "--model", "models/wakeword"]) == 0
    assert "against wakeword: frontend matches, model matches, detector matches" in capsys.readouterr().out
    # a model with no firmware of its own meets the default image: the difference is said, not refused
    import shutil

    shutil.copytree(REPO_ROOT / "models" / "wakeword", tmp_path / "other")
    man = json.loads((tmp_path / "other" / "manifest.json").read_text())
    (tmp_path / "other" / "manifest.json").write_text(json.dumps({**man, "name": "other"}))
    assert main(["device", "info", "--model", str(tmp_path / "other")]) == 0
    assert "against other: frontend matches, model DIFFERS, detector DIFFERS" in capsys.readouterr().out
