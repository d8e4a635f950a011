"""`kws` command line. Each subcommand is a thin shell over a library function."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")     # TensorFlow's start-up banner is not for users

import argparse
import json
import sys
from pathlib import Path

from kws.errors import KwsError
from kws.paths import REPO_ROOT, make_firmware
from kws.released import load_manifest


def _spec(args):
    from kws.spec import load_spec

    return load_spec(args.spec)


def cmd_spec(args) -> int:
    spec = _spec(args)
    fe = spec.frontend
    if args.json:
        print(json.dumps({"source": spec.source, "frontend_hash": fe.hash, "frontend": fe.as_dict()}, indent=2))
    else:
        print(f"spec:      {spec.source}")
        print(f"frontend:  {fe.name} v{fe.version}  sha256 {fe.hash}")
        print(f"           {fe.sample_rate_hz} Hz, window {fe.window_samples}, hop {fe.hop_samples}, "
              f"FFT {fe.fft_size}, {fe.mel.num_bands} mel bands, {fe.num_cepstra} cepstra")
    return 0


def cmd_codegen(args) -> int:
    from kws.codegen import frontend as cg
    from kws.codegen import model as cgm

    spec = _spec(args)
    out = Path(args.out) if args.out else cg.DEFAULT_GENERATED_DIR
    if args.what == "model":
        tfl = Path(args.tflite) if args.tflite else REPO_ROOT / "models" / "commands" / "model.tflite"
        try:
            blob = tfl.read_bytes()
        except OSError as e:
            raise KwsError(f"{tfl}: cannot read model ({e.strerror})") from e
        man_path = tfl.with_name("manifest.json")
        man = json.loads(man_path.read_text()) if man_path.exists() else {}
        labels = man.get("labels")
        cfg_path = tfl.with_name("config.json")                   # a training directory (kws train)
        if labels is None and cfg_path.exists():
            labels = json.loads(cfg_path.read_text()).get("task", {}).get("labels")
        if labels is None:
            print(f"kws: warning: no manifest.json or config.json beside {tfl}: C for the network only, without the "
                  "detector's tables the firmware app needs (release the model with kws release, or generate from "
                  "its training directory)", file=sys.stderr)
        from kws.reference.pipeline import calibrated_thresholds

        changed = cgm.generate(blob, out, frontend_hash32=spec.frontend.hash32, source=str(tfl),
                               drop_softmax=args.drop_softmax, spec=spec if labels else None, labels=labels,
                               thresholds=calibrated_thresholds(man))
        files = cgm.FILES
    else:
        changed = cg.generate(spec, out)
        files = cg.FILES
    for name in files:
        p = out / name
        print(f"{'wrote    ' if p in changed else 'unchanged'} {p}")
    return 0


FEATURES_MAX_SECONDS = 3600.0       # kws features holds a file's features in memory: an hour is 180 k frames


def cmd_features(args) -> int:
    import numpy as np

    from kws.audio import read_wav
    from kws.frontend import Frontend

    spec = _spec(args)
    fe = Frontend(spec.frontend)
    pcm = read_wav(args.wav, expected_rate=spec.frontend.sample_rate_hz, max_seconds=args.max_seconds)
    feats = fe.features(pcm, sample_rate=spec.frontend.sample_rate_hz, source=args.wav)
    if args.out:
        tmp = Path(args.out).with_suffix(".tmp.npy")
        np.save(tmp, feats)
        tmp.replace(args.out)
        print(f"{feats.shape[0]} frames x {feats.shape[1]} -> {args.out}")
    else:
        hop_ms = 1000.0 * spec.frontend.hop_samples / spec.frontend.sample_rate_hz
        print(f"# {args.wav}: {feats.shape[0]} frames (one per {hop_ms:g} ms) x {feats.shape[1]} int8 cepstra "
              f"c0..c{feats.shape[1] - 1}, front end {spec.frontend.hash[:12]}; --out FILE.npy saves them")
        print("# time_s " + " ".join(f"c{j:<3d}" for j in range(feats.shape[1])))
        for t, row in enumerate(feats):
            print(f"{t * hop_ms / 1000:8.2f} " + " ".join(f"{v:4d}" for v in row))
    return 0


def cmd_golden(args) -> int:
    from kws.reference.golden import write_golden

    spec = _spec(args)
    for path in write_golden(spec, Path(args.out) if args.out else None):
        print(f"wrote {path}")
    return 0


CALIBRATION_MIN_HOURS = 1.0       # below this much negative audio, kws eval warns that its fitted thresholds are no calibration


def cmd_eval(args) -> int:
    from kws.evaluate.run import evaluate, write_calibration

    if args.compare:
        return _eval_compare(args)
    spec = _spec(args)
    model = Path(args.model)
    if args.clips:
        return _eval_clips(spec, model, Path(args.clips), args)
    if not args.streams:
        raise KwsError("kws eval needs --streams DIR (FA/hr, FRR, latency) or --clips DIR (accuracy on a data set)")
    released = (load_manifest(model).get("thresholds") or {}).get("values")
    r = evaluate(spec, model, Path(args.streams), Path(args.out), target_fa_per_hour=args.target_fa, engine=args.engine,
                 fixed_thresholds=released, workers=args.workers)
    rows = [(f"default {spec.detector.threshold:g}", "at_default_threshold"),
            *([("released", "at_fixed")] if released else []), ("fitted here", "at_calibrated")]
    print(f"thresholds: default = the spec's one for every keyword; released = the model's ({model}/manifest.json); "
          f"fitted here = fitted to {args.target_fa:g} FA/hr on these very streams")
    for name, key in rows:
        m = r[key]
        lat = f"{m['latency_ms_p95']:.0f}" if m["latency_ms_p95"] is not None else "-"
        fa_ci = "[{:.2f}, {:.2f}]".format(*m["fa_per_hour_ci95"]) if m.get("fa_per_hour_ci95") else ""
        frr_ci = "[{:.0%}, {:.0%}]".format(*m["frr_ci95"]) if m.get("frr_ci95") else ""
        print(f"{name:12s} FA/hr {m['fa_per_hour']:7.2f} {fa_ci}  FRR {m['frr']:6.1%} {frr_ci}  latency p95 {lat} ms  "
              f"({m['occurrences']} keywords, {m['hours'] * 60:.1f} min; 95% intervals)")
    ctx = r["by_context"]["at_default_threshold"]
    if ctx:
        print("misses at the default threshold by how the keyword is said: " + ", ".join(
            f"{c} {m['frr']:.0%} of {m['occurrences']} (p95 {m['latency_ms_p95'] or 0:.0f} ms)" for c, m in ctx.items()))
    voices = r["by_voice"]["at_calibrated"]
    if voices:
        worst = sorted(voices.items(), key=lambda kv: (-kv[1]["missed"], kv[0]))[:6]
        print(f"misses at the thresholds fitted here by voice ({len(voices)} voices; most first): " + ", ".join(
            f"{v} {m['missed']} of {m['occurrences']}" for v, m in worst))
        print("FRR with every voice weighing the same (the mean of the voices' FRR): " + ", ".join(
            f"{name} {r[key]['frr_voice_mean']:.1%}" for name, key in rows if "frr_voice_mean" in r[key]))
    if "false_accepts_heard" in r:
        from kws.evaluate.triggers import describe

        print("false accepts at the default threshold: " + describe(r["false_accepts_heard"]["at_default_threshold"]))
    print(f"thresholds fitted here for {args.target_fa:g} FA/hr: {r['calibrated_thresholds']}")
    hours = r["at_default_threshold"]["hours"]
    if hours < CALIBRATION_MIN_HOURS:
        print(f"warning: the thresholds were fitted to {hours * 60:.0f} min of negatives, where one false accept is "
              f"{1 / hours:.1f} FA/hr: they cannot resolve {args.target_fa:g} FA/hr and are no calibration for a "
              f"release; fit on hours of validation-speaker streams (docs/evaluation.md)", file=sys.stderr)
    if r.get("throughput_x_realtime"):
        print(f"engine {r['engine']}: {r['audio_seconds'] / 60:.1f} min of audio at {r['throughput_x_realtime']:.0f}x "
              "real time (front end + network)")
    print(f"DET: {Path(args.out) / 'det.png'}")
    if args.calibrate:
        print(f"wrote {write_calibration(spec, model, r)}")
    return 0


def _eval_compare(args) -> int:
    import json

    from kws.evaluate.stats import compare, compare_clips, format_clip_comparison, format_comparison
    from kws.fsio import write_if_changed

    runs = []
    for p in map(Path, args.compare):
        path = (p / "eval.json" if (p / "eval.json").exists() else p / "clips.json") if p.is_dir() else p
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as e:
            raise KwsError(f"{path}: not a readable kws eval result ({e})") from e
    names = tuple(args.names.split(",")) if args.names else tuple(str(p) for p in args.compare)
    if len(names) != 2:
        raise KwsError(f"--names wants two names separated by a comma, got {args.names!r}")
    if all("accuracy" in r and "det_all" not in r for r in runs):        # two kws eval --clips results
        c = compare_clips(*runs, names=names)
        print(format_clip_comparison(c))
    elif any("accuracy" in r and "det_all" not in r for r in runs):
        raise KwsError("--compare: one result is of clips (kws eval --clips) and the other of streams")
    else:
        c = compare(*runs, names=names)
        print(format_comparison(c))
    out = Path(args.out)
    out = out if out.suffix == ".json" else out / "compare.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(c, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


def _eval_clips(spec, model: Path, data: Path, args) -> int:
    import json

    from kws.evaluate.clips import clip_accuracy
    from kws.fsio import write_if_changed

    r = clip_accuracy(spec, model, data, split=args.split)
    print(f"{model} on {data} ({args.split}, {r['n']} clips): int8 accuracy {r['accuracy']:.1%}, "
          f"balanced {r['balanced_accuracy']:.1%}")
    for key, title in (("per_source", "source"), ("per_context", "context"), ("per_voice", "voice")):
        rows = sorted(r[key].items(), key=lambda kv: kv[1]["accuracy"])
        print(f"  by {title}: " + ", ".join(f"{g} {m['accuracy']:.1%} ({m['n']})" for g, m in rows))
    for src, m in sorted(r["per_source"].items()):
        if "per_class_recall" in m:          # a recorded source: its own class figures
            w = m.get("test_set_weighted_accuracy")
            print(f"  {src} ({m['n']} clips): {m['accuracy']:.1%}"
                  + (f", weighed as the published Speech Commands test set {w:.1%}" if w is not None else "")
                  + f", class-balanced {m['balanced_accuracy']:.1%}; per class: "
                  + ", ".join(f"{c} {v:.0%}" for c, v in m["per_class_recall"].items() if v is not None))
    out = Path(args.out) / "clips.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(r, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


def cmd_sim(args) -> int:
    import time

    from kws.device.qemu import Sim

    make_firmware("qemu", what="the QEMU firmware images")
    with Sim(args.elf) as sim:
        print(f"QEMU runs {args.elf}; connect to {sim.url} (Ctrl-C stops it)", flush=True)
        try:
            while sim.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_device_stream(args) -> int:
    import contextlib

    from kws.audio import read_wav
    from kws.device.connect import expected_hashes, open_link, thresholds_q
    from kws.release import thresholds

    spec = _spec(args)
    pcm = read_wav(args.wav, expected_rate=spec.frontend.sample_rate_hz)
    man = load_manifest(Path(args.model))
    thr = thresholds.from_args(args, man)
    from kws.device.link import stream_again_on_damage

    with contextlib.ExitStack() as stack:
        link = open_link(stack, args.port)
        r, void = stream_again_on_damage(
            link, pcm, lambda: link.handshake(expect=expected_hashes(spec, man, detector=False),
                                              thresholds=thresholds_q(spec, man, thr)), retries=args.retries)
        stats = r.stats
    rate = link.hello.sample_rate
    for msg in void:
        print(f"streamed again from the beginning: {msg}")
    for k, score, sample in r.events:
        print(f"{sample / rate:8.3f} s  {man['labels'][k]:10s} score {score / 32768:.3f}")
    c = r.device_counters()
    print(f"{len(r.events)} events (the device counted {stats['events']}); {pcm.size / rate:.1f} s of audio in "
          f"{r.seconds:.1f} s; from the device: bad CRC {r.link['bad_crc']}, bad frames {r.link['bad_frames']}, "
          f"gaps {r.link['seq_gaps']}; device counters during the stream: bad CRC {c['bad_crc']}, gaps "
          f"{c['seq_gaps']}, bytes lost {c.get('rx_lost', 'n/a')}")
    return 0


def cmd_device_listen(args) -> int:
    import contextlib
    import tempfile

    from kws.audio import read_wav
    from kws.device.connect import expected_hashes, open_link, thresholds_q
    from kws.device.listen import device_listen
    from kws.device.qemu import Sim
    from kws.release import thresholds

    spec = _spec(args)
    man = load_manifest(Path(args.model))
    thr = thresholds.from_args(args, man)
    labels, rate = man["labels"], spec.frontend.sample_rate_hz

    def show(ev):
        k, score, sample = ev
        print(f"{sample / rate:9.2f} s  {labels[k]:10s} score {score / 32768:.3f}  (sample {sample})", flush=True)

    with contextlib.ExitStack() as stack:
        if args.port:
            link = open_link(stack, args.port)
        else:
            args.sim_audio = args.sim_audio or args.compare
            if not args.sim_audio:
                raise KwsError("give the board's port (--port), or --sim-audio WAV to listen to the emulated "
                               "microphone in QEMU")
            make_firmware("qemu", what="the QEMU firmware images")
            raw = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "mic.pcm"
            read_wav(args.sim_audio, expected_rate=rate).astype("<i2").tofile(raw)
            sim = stack.enter_context(Sim(REPO_ROOT / "build" / "qemu" / "kws_mic.elf", args=[str(raw)]))
            link = stack.enter_context(sim.link())
        hello = link.handshake(expect=expected_hashes(spec, man), thresholds=thresholds_q(spec, man, thr))
        print(f"listening through the device on {link.url} ({man['name']}"
              + (", thresholds set for this session" if thr is not None else "") + "); Ctrl-C to stop", flush=True)
        until = None
        if args.compare:
            block = spec.frontend.hop_samples * spec.detector.stride_frames
            heard = read_wav(args.compare, expected_rate=rate)
            heard = heard[:heard.size // block * block]              # a microphone delivers whole blocks
            until = spec.frontend.num_frames(heard.size)
        r = device_listen(link, seconds=args.seconds, until_frames=until, on_event=show)
    st = r.stats
    print(f"{len(r.events)} detections; device: {st.get('frames', 0) * spec.frontend.hop_samples / hello.sample_rate:.1f} s "
          f"of audio, {st.get('runs', 0)} network runs, audio overruns {st.get('audio_overruns', 'n/a')}, "
          f"serial bytes lost {st.get('rx_lost', 'n/a')}, "
          f"link errors {r.errors or 'none'}; from the device: bad CRC {r.link.get('bad_crc', 0)}, bad frames "
          f"{r.link.get('bad_frames', 0)}, gaps {r.link.get('seq_gaps', 0)}")
    if r.lost:
        print(f"events may be missing: {r.lost}", file=sys.stderr)
    if not args.compare:
        return 1 if r.lost else 0
    from kws.reference.pipeline import ReferencePipeline

    _, ref = ReferencePipeline(spec, Path(args.model), thresholds=thr).run(heard)
    want = [(e.label, e.score_q, e.sample) for e in ref]
    same = r.events == want and st.get("frames") == until
    print(f"host reference on {args.compare}: {len(want)} events; device {'equal' if same else 'DIFFERENT'} "
          f"(device frames {st.get('frames')}, expected {until})")
    for ev in sorted(set(want) ^ set(r.events), key=lambda e: e[2]):
        print(f"  {'reference only' if ev in want else 'device only':14s} {labels[ev[0]]} score {ev[1]} sample {ev[2]}")
    return 0 if same else 1


def cmd_device_info(args) -> int:
    import contextlib

    from kws.device.connect import expected_hashes, open_link
    from kws.device.link import counters_since

    spec = _spec(args)
    man = load_manifest(Path(args.model))
    with contextlib.ExitStack() as stack:
        link = open_link(stack, args.port)
        h = link.handshake()
        try:
            set_by_host, thr = link.thresholds()
        except KwsError as e:                      # firmware before THRESHOLDS_REQ
            set_by_host, thr = None, str(e)
        stats = link.stats()
    want = expected_hashes(spec, man)
    matches = {k: getattr(h, k) == v for k, v in want.items()}
    labels = man["labels"] if matches["model_hash32"] and h.classes == len(man["labels"]) else None
    frac = spec.detector.posterior_frac_bits
    info = {"port": link.url, "fw_version": h.version,
            **{k: f"{getattr(h, k):08x}" for k in ("frontend_hash32", "model_hash32", "detector_hash32")},
            "matches": {"model": man["name"], **matches}, "sample_rate": h.sample_rate, "hop": h.hop,
            "max_block": h.max_block, "credits": h.credits, "classes": h.classes,
            "audio_source": "microphone" if h.audio_source == 1 else "host",
            "thresholds": (thr if isinstance(thr, str) else
                           {(labels[i] if labels else str(i)): q / (1 << frac) for i, q in enumerate(thr) if i >= 2}),
            "thresholds_set_by_host": set_by_host, "stats": stats,
            "session_counters": counters_since(stats, link.stats_at_handshake)}
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    same = ", ".join(f"{k.replace('_hash32', '')} {'matches' if ok else 'DIFFERS'}" for k, ok in matches.items())
    print(f"device on {info['port']}: firmware {info['fw_version']}, {h.sample_rate} Hz, {h.classes} classes, audio from "
          f"the {info['audio_source']}; against {man['name']}: {same}")
    if isinstance(thr, str):
        print(f"thresholds: {thr}")
    else:
        print("thresholds in force (" + ("set by a host this session" if set_by_host else "built in") + "): "
              + ", ".join(f"{k} {v:.5g}" for k, v in info["thresholds"].items()))
    print("counters: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0


def cmd_device_eval(args) -> int:
    from kws.evaluate.device import device_eval
    from kws.fsio import write_if_changed
    from kws.release import thresholds

    man = load_manifest(Path(args.model))
    r = device_eval(_spec(args), Path(args.model), Path(args.wav), port=args.port, retries=args.retries,
                    thresholds=thresholds.from_args(args, man))
    for msg in r["restarts"]:
        print(f"streamed again from the beginning: {msg}")
    w, e = r["windows"], r["events"]
    print(f"windows: {w['reference'] - len(w['differ'])} of {w['reference']} equal (device sent {w['device']}); "
          f"events: {e['reference'] - len(e['differ']) // 2} equal, {len(e['differ'])} differ")
    for side in ("reference", "device"):
        m = r[f"{side}_score"]
        print(f"{side:9s}: FA/hr {m['fa_per_hour']:.1f}  FRR {m['frr']:.1%}  latency p95 "
              f"{m['latency_ms_p95'] if m['latency_ms_p95'] is None else round(m['latency_ms_p95'])} ms")
    print(f"link: {r['audio_seconds']:.1f} s of audio in {r['link_seconds']:.1f} s, errors {r['link_errors'] or 'none'}, "
          f"damage from the device {r['link_damage']}, device counters during the stream {r['device_counters']}")
    d, lw, c = r["event_delay_ms"], r["device_latency_with_link_ms"], r["device_compute"]
    if d["n"]:
        print(f"events arrived {d['p50']:.0f} ms (p50) / {d['p95']:.0f} ms (p95) after the audio block completing their "
              f"window was sent" + (f"; device latency with the link p95 {lw['p95']:.0f} ms" if lw["n"] else ""))
    if c:
        print(f"device compute ({c['clock']}, {c['tick_hz'] / 1e6:g} MHz): {c['ms_per_window']:.2f} ms per window "
              f"(network {c['network_ms_per_window']:.2f} ms), {c['share_of_real_time']:.1%} of real time")
    if args.out:
        write_if_changed(Path(args.out), json.dumps(r, indent=1) + "\n")
    ok = not w["differ"] and not e["differ"] and w["device"] == w["reference"]
    return 0 if ok else 1


def cmd_demo(args) -> int:
    from kws.demo import run_demo

    return run_demo(spec_path=args.spec, out_dir=Path(args.out), task=args.task, retrain=args.retrain)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kws", description="Keyword spotting toolchain: host reference and firmware")
    p.add_argument("--spec", help="spec file (default: the packaged host/kws/spec/default.toml)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run the parallel steps (rendering, validation, augmentation, stream scoring) on the Dask "
                        "cluster whose scheduler is ADDRESS (tcp://host:8786); same as KWS_CLUSTER. Default: local "
                        "worker processes")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("spec", help="show the spec and its hash")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_spec)

    s = sub.add_parser("codegen", help="generate C: the front end from the spec, the network from an int8 model")
    s.add_argument("what", choices=["frontend", "model"])
    s.add_argument("--out", help="output directory (default firmware/generated)")
    s.add_argument("--tflite", help="model: the int8 .tflite (default models/commands/model.tflite)")
    s.add_argument("--drop-softmax", action="store_true", help="model: stop at the logits of a model ending in SOFTMAX")
    s.set_defaults(fn=cmd_codegen)

    s = sub.add_parser("features", help="int8 features of a mono 16-bit WAV at the spec's rate")
    s.add_argument("wav")
    s.add_argument("--out", help=".npy output (default: print them, one labelled row per frame)")
    s.add_argument("--max-seconds", type=float, default=FEATURES_MAX_SECONDS,
                   help=f"refuse longer files before reading them (default {FEATURES_MAX_SECONDS:g})")
    s.set_defaults(fn=cmd_features)

    s = sub.add_parser("golden", help="regenerate the golden vectors shared by the Python and C tests")
    s.add_argument("--out", help="directory (default tests/golden/frontend)")
    s.set_defaults(fn=cmd_golden)

    from kws.cli.data import add_parser as add_data_parser

    add_data_parser(sub)
    from kws.cli.train import add_parsers as add_train_parsers

    add_train_parsers(sub)

    s = sub.add_parser("eval", help="FA/hr, FRR, latency, DET curves and thresholds fitted on streams; accuracy on clips")
    s.add_argument("--model", default="models/commands", help="a released model directory (default models/commands)")
    s.add_argument("--streams", help="directory of streams (kws data streams)")
    s.add_argument("--clips", help="a data set directory (kws data synth / ingest): int8 accuracy on its clips instead")
    s.add_argument("--split", default="test", choices=["train", "val", "test", "all"], help="with --clips")
    s.add_argument("--out", default="build/eval", help="where eval.json, det.png (or clips.json) go (default build/eval)")
    s.add_argument("--target-fa", type=float, default=1.0, help="target false accepts per hour (all keywords)")
    s.add_argument("--workers", type=int,
                   help="score the streams on this many worker processes (or a --cluster's); default: this process, "
                        "every core on each stream")
    s.add_argument("--engine", choices=["native", "tflm"], default="native",
                   help="native: the firmware's C built for the host (fast); tflm: TFLM's interpreter")
    s.add_argument("--calibrate", action="store_true",
                   help="write the thresholds fitted here to calibration/<model>/thresholds.json and the model "
                        "manifest: the model's released thresholds from then on (fit on hours of validation streams)")
    s.add_argument("--compare", nargs=2, metavar="RESULT",
                   help="two results of kws eval on the same streams (eval.json or its directory; bench/eval_24h.py's "
                        "JSON): FRR with 95%% intervals and paired tests at each FA/hr; or two of kws eval --clips "
                        "(clips.json) on the same clips: accuracy, paired tests by clips and by voices")
    s.add_argument("--names", help="with --compare: two names for the table, comma-separated")
    s.set_defaults(fn=cmd_eval)

    s = sub.add_parser("sim", help="run the serial firmware in QEMU; print its pyserial URL until Ctrl-C")
    s.add_argument("--elf", default="build/qemu/kws_serial.elf")
    s.set_defaults(fn=cmd_sim)

    from kws.release import thresholds

    s = sub.add_parser("device", help="talk to a device (board or emulator) over the serial protocol")
    dsub = s.add_subparsers(dest="device_cmd", required=True)
    d = dsub.add_parser("stream", help="stream a WAV to the device and print its events")
    d.add_argument("wav")
    d.add_argument("--port", help="pyserial URL (/dev/ttyACM0, socket://127.0.0.1:PORT) or auto (a known board by USB "
                                  "ID); default: start QEMU")
    d.add_argument("--model", default="models/commands", help="the model the device must run (hash check)")
    thresholds.add_args(d, what="the ones the firmware was built with (set over the link for this session)")
    d.add_argument("--retries", type=int, default=1,
                   help="stream again from the beginning this many times when the device restarts or frames are "
                        "damaged or lost on the link mid-stream (default 1)")
    d.set_defaults(fn=cmd_device_stream)

    d = dsub.add_parser("listen", help="detections of a board listening to its own microphone")
    d.add_argument("--port", help="the board (pyserial URL)")
    d.add_argument("--sim-audio", help="no board: QEMU's emulated microphone plays this WAV")
    d.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    d.add_argument("--model", default="models/commands", help="the model the device must run (hash check)")
    d.add_argument("--compare", help="the WAV the device hears (emulated microphone): diff its events with the host "
                                     "reference's; exit 1 if they differ")
    thresholds.add_args(d, what="the ones the firmware was built with (set over the link for this session)")
    d.set_defaults(fn=cmd_device_listen)

    d = dsub.add_parser("info", help="what a device runs: firmware, hashes against a model, thresholds in force, counters")
    d.add_argument("--port", help="pyserial URL or auto; default: start QEMU")
    d.add_argument("--model", default="models/commands", help="the model to compare its hashes with")
    d.add_argument("--json", action="store_true")
    d.set_defaults(fn=cmd_device_info)

    d = dsub.add_parser("eval", help="a stream through the device and the host reference: diff and scores")
    d.add_argument("wav", help="a stream (kws data streams); its .labels.csv is used when present")
    d.add_argument("--port", help="pyserial URL; default: start QEMU")
    d.add_argument("--model", default="models/commands")
    d.add_argument("--out", help="write the result as JSON here")
    d.add_argument("--retries", type=int, default=1,
                   help="stream again from the beginning this many times when the device restarts or frames are "
                        "damaged or lost on the link mid-stream (default 1)")
    thresholds.add_args(d, what="the ones the firmware was built with (the device takes them over the link for this "
                                "session; the reference uses the same)")
    d.set_defaults(fn=cmd_device_eval)

    from kws.cli.monitor import add_parser as add_drift_parser

    add_drift_parser(sub, _spec)
    from kws.cli.live import add_parsers as add_live_parsers

    add_live_parsers(sub, _spec)

    s = sub.add_parser("demo", help="run the main job end to end, as far as it goes today")
    s.add_argument("--out", default="build/demo", help="output directory (default build/demo)")
    s.add_argument("--task", default="commands", help="released model to use: commands or wakeword")
    s.add_argument("--retrain", action="store_true", help="build the corpus and train from scratch (minutes)")
    s.set_defaults(fn=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cluster:
        from kws.engine import CLUSTER_ENV

        os.environ[CLUSTER_ENV] = args.cluster
    try:
        return args.fn(args)
    except KwsError as e:
        print(f"kws: error: {e}", file=sys.stderr)
        return 2

