"""`kws sim` and `kws device stream / listen / info / eval`: the firmware in QEMU or on a board, over the serial protocol."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kws.cli.common import spec_of
from kws.errors import KwsError
from kws.paths import firmware_build_dir, make_firmware
from kws.released import ReleasedModel


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

    spec = spec_of(args)
    pcm = read_wav(args.wav, expected_rate=spec.frontend.sample_rate_hz)
    model = ReleasedModel.load(args.model)
    thr = thresholds.from_args(args, model)
    from kws.device.link import stream_again_on_damage

    with contextlib.ExitStack() as stack:
        link = open_link(stack, args.port, model=model.firmware)
        r, void = stream_again_on_damage(
            link,
            pcm,
            lambda: link.handshake(
                expect=expected_hashes(spec, model, detector=False), thresholds=thresholds_q(spec, model, thr)
            ),
            retries=args.retries,
        )
        stats = r.stats
    rate = link.hello.sample_rate
    for msg in void:
        print(f"streamed again from the beginning: {msg}")
    for k, score, sample in r.events:
        print(f"{sample / rate:8.3f} s  {model.labels[k]:10s} score {score / 32768:.3f}")
    c = r.device_counters()
    print(
        f"{len(r.events)} events (the device counted {stats['events']}); {pcm.size / rate:.1f} s of audio in "
        f"{r.seconds:.1f} s; from the device: bad CRC {r.link['bad_crc']}, bad frames {r.link['bad_frames']}, "
        f"gaps {r.link['seq_gaps']}; device counters during the stream: bad CRC {c['bad_crc']}, gaps "
        f"{c['seq_gaps']}, bytes lost {c.get('rx_lost', 'n/a')}"
    )
    return 0


def cmd_device_listen(args) -> int:
    import contextlib
    import tempfile

    from kws.audio import read_wav
    from kws.device.connect import expected_hashes, open_link, thresholds_q
    from kws.device.listen import device_listen
    from kws.device.qemu import Sim
    from kws.release import thresholds

    spec = spec_of(args)
    model = ReleasedModel.load(args.model)
    thr = thresholds.from_args(args, model)
    labels, rate = model.labels, spec.frontend.sample_rate_hz

    def show(ev):
        k, score, sample = ev
        print(f"{sample / rate:9.2f} s  {labels[k]:10s} score {score / 32768:.3f}  (sample {sample})", flush=True)

    with contextlib.ExitStack() as stack:
        if args.port:
            link = open_link(stack, args.port, model=model.firmware)
        else:
            args.sim_audio = args.sim_audio or args.compare
            if not args.sim_audio:
                raise KwsError(
                    "give the board's port (--port), or --sim-audio WAV to listen to the emulated microphone in QEMU"
                )
            make_firmware("qemu", what="the QEMU firmware images", model=model.firmware)
            raw = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "mic.pcm"
            read_wav(args.sim_audio, expected_rate=rate).astype("<i2").tofile(raw)
            sim = stack.enter_context(Sim(firmware_build_dir("qemu", model.firmware) / "kws_mic.elf", args=[str(raw)]))
            link = stack.enter_context(sim.link())
        hello = link.handshake(expect=expected_hashes(spec, model), thresholds=thresholds_q(spec, model, thr))
        print(
            f"listening through the device on {link.url} ({model.name}"
            + (", thresholds set for this session" if thr is not None else "")
            + "); Ctrl-C to stop",
            flush=True,
        )
        until = None
        if args.compare:
            block = spec.frontend.hop_samples * spec.detector.stride_frames
            heard = read_wav(args.compare, expected_rate=rate)
            heard = heard[: heard.size // block * block]  # a microphone delivers whole blocks
            until = spec.frontend.num_frames(heard.size)
        r = device_listen(link, seconds=args.seconds, until_frames=until, on_event=show)
    st = r.stats
    print(
        f"{len(r.events)} detections; device: {st.get('frames', 0) * spec.frontend.hop_samples / hello.sample_rate:.1f} s "
        f"of audio, {st.get('runs', 0)} network runs, audio overruns {st.get('audio_overruns', 'n/a')}, "
        f"serial bytes lost {st.get('rx_lost', 'n/a')}, "
        f"link errors {r.errors or 'none'}; from the device: bad CRC {r.link.get('bad_crc', 0)}, bad frames "
        f"{r.link.get('bad_frames', 0)}, gaps {r.link.get('seq_gaps', 0)}"
    )
    if r.lost:
        print(f"events may be missing: {r.lost}", file=sys.stderr)
    if not args.compare:
        return 1 if r.lost else 0
    from kws.reference.pipeline import ReferencePipeline

    _, ref = ReferencePipeline(spec, Path(args.model), thresholds=thr).run(heard)
    want = [(e.label, e.score_q, e.sample) for e in ref]
    same = r.events == want and st.get("frames") == until
    print(
        f"host reference on {args.compare}: {len(want)} events; device {'equal' if same else 'DIFFERENT'} "
        f"(device frames {st.get('frames')}, expected {until})"
    )
    for ev in sorted(set(want) ^ set(r.events), key=lambda e: e[2]):
        print(f"  {'reference only' if ev in want else 'device only':14s} {labels[ev[0]]} score {ev[1]} sample {ev[2]}")
    return 0 if same else 1


def cmd_device_info(args) -> int:
    import contextlib

    from kws.device.connect import expected_hashes, open_link
    from kws.device.link import counters_since

    spec = spec_of(args)
    model = ReleasedModel.load(args.model)
    with contextlib.ExitStack() as stack:
        link = open_link(stack, args.port, model=model.firmware)
        h = link.handshake()
        try:
            set_by_host, thr = link.thresholds()
        except KwsError as e:  # firmware before THRESHOLDS_REQ
            set_by_host, thr = None, str(e)
        stats = link.stats()
    want = expected_hashes(spec, model)
    matches = {k: getattr(h, k) == v for k, v in want.items()}
    labels = model.labels if matches["model_hash32"] and h.classes == len(model.labels) else None
    frac = spec.detector.posterior_frac_bits
    info = {
        "port": link.url,
        "fw_version": h.version,
        **{k: f"{getattr(h, k):08x}" for k in ("frontend_hash32", "model_hash32", "detector_hash32")},
        "matches": {"model": model.name, **matches},
        "sample_rate": h.sample_rate,
        "hop": h.hop,
        "max_block": h.max_block,
        "credits": h.credits,
        "classes": h.classes,
        "audio_source": "microphone" if h.audio_source == 1 else "host",
        "thresholds": (
            thr
            if isinstance(thr, str)
            else {(labels[i] if labels else str(i)): q / (1 << frac) for i, q in enumerate(thr) if i >= 2}
        ),
        "thresholds_set_by_host": set_by_host,
        "stats": stats,
        "session_counters": counters_since(stats, link.stats_at_handshake),
    }
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    same = ", ".join(f"{k.replace('_hash32', '')} {'matches' if ok else 'DIFFERS'}" for k, ok in matches.items())
    print(
        f"device on {info['port']}: firmware {info['fw_version']}, {h.sample_rate} Hz, {h.classes} classes, audio from "
        f"the {info['audio_source']}; against {model.name}: {same}"
    )
    if isinstance(thr, str):
        print(f"thresholds: {thr}")
    else:
        print(
            "thresholds in force ("
            + ("set by a host this session" if set_by_host else "built in")
            + "): "
            + ", ".join(f"{k} {v:.5g}" for k, v in info["thresholds"].items())
        )
    print("counters: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0


def cmd_device_eval(args) -> int:
    from kws.evaluate.device import device_eval
    from kws.fsio import write_if_changed
    from kws.release import thresholds

    model = ReleasedModel.load(args.model)
    r = device_eval(
        spec_of(args),
        Path(args.model),
        Path(args.wav),
        port=args.port,
        retries=args.retries,
        thresholds=thresholds.from_args(args, model),
    )
    for msg in r["restarts"]:
        print(f"streamed again from the beginning: {msg}")
    w, e = r["windows"], r["events"]
    print(
        f"windows: {w['reference'] - len(w['differ'])} of {w['reference']} equal (device sent {w['device']}); "
        f"events: {e['reference'] - len(e['differ']) // 2} equal, {len(e['differ'])} differ"
    )
    for side in ("reference", "device"):
        m = r[f"{side}_score"]
        print(
            f"{side:9s}: FA/hr {m['fa_per_hour']:.1f}  FRR {m['frr']:.1%}  latency p95 "
            f"{m['latency_ms_p95'] if m['latency_ms_p95'] is None else round(m['latency_ms_p95'])} ms"
        )
    print(
        f"link: {r['audio_seconds']:.1f} s of audio in {r['link_seconds']:.1f} s, errors {r['link_errors'] or 'none'}, "
        f"damage from the device {r['link_damage']}, device counters during the stream {r['device_counters']}"
    )
    d, lw, c = r["event_delay_ms"], r["device_latency_with_link_ms"], r["device_compute"]
    if d["n"]:
        print(
            f"events arrived {d['p50']:.0f} ms (p50) / {d['p95']:.0f} ms (p95) after the audio block completing their "
            f"window was sent" + (f"; device latency with the link p95 {lw['p95']:.0f} ms" if lw["n"] else "")
        )
    if c:
        print(
            f"device compute ({c['clock']}, {c['tick_hz'] / 1e6:g} MHz): {c['ms_per_window']:.2f} ms per window "
            f"(network {c['network_ms_per_window']:.2f} ms), {c['share_of_real_time']:.1%} of real time"
        )
    if args.out:
        write_if_changed(Path(args.out), json.dumps(r, indent=1) + "\n")
    ok = not w["differ"] and not e["differ"] and w["device"] == w["reference"]
    return 0 if ok else 1


def add_parsers(sub) -> None:
    s = sub.add_parser("sim", help="run the serial firmware in QEMU; print its pyserial URL until Ctrl-C")
    s.add_argument("--elf", default="build/qemu/kws_serial.elf", help="the firmware image (default %(default)s)")
    s.set_defaults(fn=cmd_sim)

    from kws.release import thresholds

    s = sub.add_parser("device", help="talk to a device (board or emulator) over the serial protocol")
    dsub = s.add_subparsers(dest="device_cmd", required=True)
    d = dsub.add_parser("stream", help="stream a WAV to the device and print its events")
    d.add_argument("wav", help="16 kHz mono 16-bit WAV to stream")
    d.add_argument(
        "--port",
        help="pyserial URL (/dev/ttyACM0, socket://127.0.0.1:PORT) or auto (a known board by USB "
        "ID); default: start QEMU",
    )
    d.add_argument("--model", default="models/commands", help="the model the device must run (hash check)")
    thresholds.add_args(d, what="the ones the firmware was built with (set over the link for this session)")
    d.add_argument(
        "--retries",
        type=int,
        default=1,
        help="stream again from the beginning this many times when the device restarts or frames are "
        "damaged or lost on the link mid-stream (default 1)",
    )
    d.set_defaults(fn=cmd_device_stream)

    d = dsub.add_parser("listen", help="detections of a board listening to its own microphone")
    d.add_argument("--port", help="the board (pyserial URL)")
    d.add_argument("--sim-audio", help="no board: QEMU's emulated microphone plays this WAV")
    d.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    d.add_argument("--model", default="models/commands", help="the model the device must run (hash check)")
    d.add_argument(
        "--compare",
        help="the WAV the device hears (emulated microphone): diff its events with the host "
        "reference's; exit 1 if they differ",
    )
    thresholds.add_args(d, what="the ones the firmware was built with (set over the link for this session)")
    d.set_defaults(fn=cmd_device_listen)

    d = dsub.add_parser(
        "info", help="what a device runs: firmware, hashes against a model, thresholds in force, counters"
    )
    d.add_argument("--port", help="pyserial URL or auto; default: start QEMU")
    d.add_argument("--model", default="models/commands", help="the model to compare its hashes with")
    d.add_argument("--json", action="store_true", help="print it as JSON")
    d.set_defaults(fn=cmd_device_info)

    d = dsub.add_parser("eval", help="a stream through the device and the host reference: diff and scores")
    d.add_argument("wav", help="a stream (kws data streams); its .labels.csv is used when present")
    d.add_argument("--port", help="pyserial URL; default: start QEMU")
    d.add_argument(
        "--model", default="models/commands", help="the model the device must run (hash check; default %(default)s)"
    )
    d.add_argument("--out", help="write the result as JSON here")
    d.add_argument(
        "--retries",
        type=int,
        default=1,
        help="stream again from the beginning this many times when the device restarts or frames are "
        "damaged or lost on the link mid-stream (default 1)",
    )
    thresholds.add_args(
        d,
        what="the ones the firmware was built with (the device takes them over the link for this "
        "session; the reference uses the same)",
    )
    d.set_defaults(fn=cmd_device_eval)
