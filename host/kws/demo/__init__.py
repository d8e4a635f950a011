"""`kws demo`: the main job end to end.

spec -> generated C (checked fresh) -> firmware built for the host and for Cortex-M4F -> TTS
speech -> features from the Python reference, the host C build and the firmware in QEMU -> the
released int8 model (or, with --retrain, a corpus built and a model trained from scratch) ->
the keyword spotter firmware in QEMU on the demo speech streamed over the serial link, diffed
window by window and event by event against the host reference -> kws eval on demo-sized
streams (DET) -> the device's duty cycle and feature drift from a semihosted run -> report
(Markdown with the DET curve, score traces, confusion matrix and footprint breakdown).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from kws.codegen import frontend as cg_frontend
from kws.data import alsa_voice, tts
from kws.device.qemu import parse_fields, run_semihosted
from kws.frontend import Frontend
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT, firmware_build_dir, make_firmware, model_generated_dir
from kws.reference.golden import write_case
from kws.reference.native import NativeFrontend, build_host
from kws.reference.signals import corner_cases
from kws.released import ReleasedModel
from kws.spec import SAMPLE_RATE, load_spec

DEMO_PHRASES = [
    ("yes", "en+m3"),
    ("no", "en+f2"),
    ("turn left now", "en+klatt4"),
    ("stop the music", "en+m1"),
    ("go forward", "en-us+f4"),
    ("marvin", "en+croak"),
]


def _step(msg: str) -> float:
    print(f"[demo] {msg}", flush=True)
    return time.perf_counter()


def _arm_size() -> dict[str, int]:
    r = make_firmware("arm", what="ARM build")
    total = [ln for ln in r.stdout.splitlines() if "(TOTALS)" in ln][0].split()
    return {"text": int(total[0]), "data": int(total[1]), "bss": int(total[2])}


def _run_in_qemu(clips: dict[str, np.ndarray], fe_spec, vec_dir: Path) -> dict:
    """Reference outputs written by Python, replayed through the firmware image in QEMU."""
    make_firmware("qemu", what="QEMU image build")
    vec_dir.mkdir(parents=True, exist_ok=True)
    frames = equal = 0
    instr = 0.0
    for i, pcm in enumerate(clips.values()):
        write_case(vec_dir, f"clip{i:02d}", pcm, fe_spec)
        run = run_semihosted(firmware_build_dir("qemu") / "fe_golden.elf", [str(vec_dir / f"clip{i:02d}")])
        f = parse_fields([ln for ln in run.output.splitlines() if ln.startswith("fe_golden ")][0])
        frames += int(f["frames"])
        equal += int(f["equal"])
        instr += int(f["fe_ticks"]) * int(f["calib_instr"]) / int(f["calib_ticks"])
    return {"frames": frames, "equal": equal, "instructions_per_frame": round(instr / max(frames, 1))}


def _model_stage(spec, task_name: str, out_dir: Path, clips: dict, retrain: bool) -> dict:
    """Released model (or a fresh one with --retrain): int8 predictions on the demo clips via
    TFLM on the host reference features, plus the model's held-out-voice accuracy and budget."""
    from kws.data.task import load_task
    from kws.reference.tflm import tflm_logits
    from kws.train.features import clip_features

    task = load_task(task_name)
    spec = task.spec(spec)  # the task's own network, where its [model] sets one
    model_dir = REPO_ROOT / "models" / task_name
    if retrain:
        from kws.data.synth import synth
        from kws.footprint.budget import estimated_budget
        from kws.release import release
        from kws.train.fit import set_threads, train
        from kws.train.quantize import quantize

        _step(f"building the {task_name} corpus (TTS, all engines) and training from scratch")
        data = out_dir / "data" / task_name
        synth(task, data)
        set_threads()
        if spec.model.members > 1:  # an ensemble: its networks trained apart, then merged
            from kws.train.ensemble import train_members

            train_members(spec, task, data, out_dir / "train" / task_name)
        else:
            train(spec, task, data, out_dir / "train" / task_name)
        name = f"demo-{task_name}"  # a name of its own: its firmware is not the released model's
        quantize(spec, task, out_dir / "train" / task_name, data, name=name, calibration_dir=out_dir / "calibration")
        blob = (out_dir / "train" / task_name / "model.tflite").read_bytes()
        model_dir = release(
            spec,
            task,
            out_dir / "train" / task_name,
            data,
            name=name,
            budget=estimated_budget(spec, blob),
            out_dir=out_dir / "models" / task_name,
        )
    if not (model_dir / "manifest.json").exists():
        return {"status": f"no released model in {model_dir}: run `kws demo --retrain`"}
    rm = ReleasedModel.load(model_dir)
    acc = rm.manifest["accuracy"]
    if rm.frontend_hash != spec.frontend.hash:
        return {
            "status": f"{model_dir} was trained for front end {rm.frontend_hash[:12]}, this spec is "
            f"{spec.frontend.hash[:12]}: run `kws demo --retrain`"
        }
    _step(f"int8 network ({model_dir.name}, TFLM host interpreter) on the demo clips")
    blob = rm.blob()
    firmware = _generate_network_for(spec, rm)
    n = int(round(task.clip_seconds * spec.frontend.sample_rate_hz))
    preds = {}
    for name, pcm in clips.items():
        if name.startswith("signal:"):
            continue
        x = np.zeros(n, dtype=np.int16)
        seg = pcm[:n]
        x[(n - seg.size) // 2 : (n - seg.size) // 2 + seg.size] = seg
        logits = tflm_logits(blob, clip_features(x[None], spec.frontend, spec.model.window_frames))[0]
        preds[name] = rm.labels[int(np.argmax(logits))]
    from kws.footprint.budget import measured_budget
    from kws.release import record_budget

    # measured from the firmware, which must run this very model (its hello names it)
    island = measured_budget(spec, firmware_build_dir("qemu", firmware) / "kws_app.elf", model_sha256=rm.sha256)
    if retrain:  # the demo's own release: its manifest and card get the measured island
        record_budget(model_dir, island)
    budget = island if retrain else rm.manifest["budget"]
    return {
        "status": "ok",
        "model": str(model_dir),
        "int8_test_accuracy": acc["int8_test"],
        "island_bytes": island["total_bytes"],
        "island_flash": island["flash_bytes"],
        "island_ram": island["ram_bytes"],
        "float_test_accuracy": acc["float_test"],
        "test_clips": acc["test_clips"],
        "budget_bytes": budget["total_bytes"],
        "budget_measured": budget["all_measured"],
        "predictions": preds,
    }


def _generate_network_for(spec, rm: ReleasedModel) -> str:
    """The firmware must run the model the demo evaluates: its network C in
    firmware/generated/<name>/, as `kws codegen model --tflite MODEL_DIR/model.tflite` writes it
    (unchanged for a released model; a model of ``kws demo --retrain`` has a folder of its own),
    and its QEMU images built. Returns the firmware build's model name."""
    from kws.codegen import model as cgm

    out = model_generated_dir(rm.name)
    if cgm.generate(
        rm.blob(),
        out,
        frontend_hash32=spec.frontend.hash32,
        source=str(rm.model_file),
        spec=spec,
        labels=list(rm.labels),
        thresholds=rm.thresholds,
    ):
        _step(f"generated {out.relative_to(REPO_ROOT)}/ from {rm.dir}")
    make_firmware("qemu", what="QEMU image build", model=rm.name)
    return rm.name


def _device_stage(spec, model_dir: Path, out_dir: Path, clips: dict, truth_words: set[str]) -> dict:
    """The demo's speech as one labelled stream, streamed to the keyword-spotter firmware in QEMU
    over the serial protocol (USART bridged to a socket) and run through the host reference;
    diffed window by window and event by event, both sides scored."""
    from kws.audio import write_wav
    from kws.data.quality import speech_bounds
    from kws.evaluate.device import device_eval

    rng = np.random.default_rng(0)
    parts, rows, pos = [], [], 0
    for name, pcm in clips.items():
        if name.startswith("signal:"):
            continue
        gap = np.zeros(int(rng.integers(6000, 14000)), np.int16)
        parts += [gap, pcm]
        pos += gap.size
        # every keyword the phrase says, each over the phrase's speech (its words are not timed apart)
        said = [w.strip(",.") for w in name.split(":", 1)[1].split()]
        a, b = speech_bounds(pcm, SAMPLE_RATE)
        rows += [f"{w},{pos + a},{pos + b},{name}" for w in dict.fromkeys(said) if w in truth_words]
        pos += pcm.size
    x = np.concatenate(parts + [np.zeros(SAMPLE_RATE, np.int16)])
    (out_dir / "device").mkdir(parents=True, exist_ok=True)
    write_wav(out_dir / "device" / "stream.wav", x, SAMPLE_RATE)
    (out_dir / "device" / "stream.labels.csv").write_text(
        "label,start_sample,end_sample,clip_id\n" + "\n".join(rows) + "\n"
    )
    _step(
        f"streaming {x.size / SAMPLE_RATE:.1f} s of the demo speech to the firmware in QEMU over the serial link "
        "(and through the host reference)"
    )
    r = device_eval(spec, model_dir, out_dir / "device" / "stream.wav")
    return r


def _evaluation_stages(spec, model: dict, device: dict, out_dir: Path, task) -> dict:
    """kws eval on demo-sized streams (DET), the device's duty cycle and drift statistics from a
    semihosted run, and the report's figures."""
    from kws.demo import report as dr

    model_dir = Path(model["model"])
    rm = ReleasedModel.load(model_dir)
    _step("kws eval on demo-sized streams (espeak-ng keywords and near misses over noise): DET curve, thresholds")
    ev = dr.eval_stage(spec, model_dir, out_dir, task)
    _step("the keyword spotter in QEMU over semihosting: instructions per second of audio, feature statistics")
    run = dr.device_run_stage(spec, model_dir, out_dir / "device" / "stream.wav", out_dir)
    _step("figures: score traces, confusion matrix, footprint")
    dr.plot_scores(
        spec,
        model_dir,
        out_dir / "device" / "stream.wav",
        out_dir / "device" / "stream.labels.csv",
        out_dir / "scores.png",
    )
    dr.plot_confusion(rm, out_dir / "confusion.png")
    rep = dr.plot_footprint(spec, firmware_build_dir("qemu", rm.firmware) / "kws_app.elf", out_dir / "footprint.png")
    human = None
    if alsa_voice.words() & set(rm.keywords):  # the recordings say some keyword
        from kws.evaluate.human import human_voice

        _step("a recorded human voice (alsa-utils' speaker-test) through the host reference and the firmware in QEMU")
        human = human_voice(spec, model_dir, out_dir / "human")
    return {"eval": ev, "device_run": run, "footprint_total_bytes": rep["total_bytes"], "human_voice": human}


def _with_ci(m: dict) -> str:
    """FA/hr and FRR with their 95 % intervals (kws.evaluate.stats): minutes of demo audio leave
    them wide, which is why the product's figures come from a day of it (bench/eval_24h.py)."""
    fa, frr = m.get("fa_per_hour_ci95"), m.get("frr_ci95")
    return (
        f"{m['fa_per_hour']:.0f} FA/hr"
        + (f" [{fa[0]:.0f}–{fa[1]:.0f}]" if fa else "")
        + f", FRR {m['frr']:.0%}"
        + (f" [{frr[0]:.0%}–{frr[1]:.0%}]" if frr else "")
    )


def _evaluation_lines(extra: dict, spec) -> list[str]:
    from kws.evaluate.triggers import describe

    ev, run = extra["eval"], extra["device_run"]
    d, c = ev["at_default"], ev["at_calibrated"]
    ips = run["instructions_per_second"]
    lines = [
        "",
        "| evaluation and device figures | result |",
        "| --- | --- |",
        f"| kws eval, {ev['minutes']:.0f} min demo streams, default threshold (95 % intervals) | "
        f"{_with_ci(d)}, latency p95 {d['latency_ms_p95'] or 0:.0f} ms |",
        f"| same, thresholds calibrated to 1 FA/hr | {_with_ci(c)} |",
        f"| what the false accepts at the default threshold heard | {describe(ev['false_accepts_heard'])} |",
        f"| host evaluation speed | {ev['throughput_x_realtime']:.0f}x real time |",
        f"| device instructions per second of audio (front end / network / detector) | {ips['fe']:,} / "
        f"{ips['net']:,} / {ips['det']:,} |",
        f"| duty cycle at 64 MHz | {run['duty_cycle_at_64MHz']:.1%} |",
        f"| device stack high-water mark | {run['stack_bytes']} B |",
    ]
    h = extra.get("human_voice")
    if h:
        r, d0, q = h["at_released_thresholds"], h["at_default_threshold"], h["device_qemu"]

        def found(m: dict) -> str:
            fa = m["false_accepts"]
            return (
                f"{round((1 - m['frr']) * m['occurrences'])} of {m['occurrences']} ({fa} false accept"
                f"{'' if fa == 1 else 's'})"
            )

        lines += [
            f"| a recorded human voice (alsa-utils speaker-test; six keywords: a sanity check), keywords found at "
            f"the model's calibrated thresholds / at the default {h['default_threshold']} | {found(r)} / {found(d0)} |",
            f"| firmware in QEMU vs host reference on that voice | {q['windows_equal']} of {q['windows']} windows "
            f"equal, events {'equal' if q['events_equal'] else 'DIFFER'} |",
        ]
    if run["drift"]:
        lines.append(
            f"| feature drift of the demo stream vs the model's baseline (clean TTS in digital silence, "
            f"not the noisy reference condition: drift is the right answer) | {run['drift']['status']}: "
            f"{run['drift']['reason']} ({run['drift']['frames']} frames) |"
        )
    lines += [
        "",
        "Demo-sized streams are minutes long: their FA/hr is a smoke test.",
        "",
        "![DET](eval/det.png)",
        "",
        "![scores](scores.png)",
        "",
        "![confusion](confusion.png)",
        "",
        "![footprint](footprint.png)",
    ]
    return lines


SNR_GOAL_DB = 40.0  # the integer front end against a float64 MFCC of the same definition, per coefficient


def _verdicts(
    spec, equal: int, frames: int, qemu: dict, snr, model: dict, device: dict | None, extra: dict | None
) -> list[tuple[str, str, str]]:
    """One line per stage: (pass / FAIL / note, stage, what was checked and the figure). A note is
    a figure that has no pass mark in a demo (minutes of audio), said with what it means."""

    def mark(ok: bool) -> str:
        return "pass" if ok else "FAIL"

    out = [
        (
            mark(equal == frames),
            "front end, firmware C on the host",
            f"{equal} of {frames} frames equal to the Python reference",
        ),
        (
            mark(qemu["equal"] == qemu["frames"]),
            "front end, firmware in QEMU (Cortex-M4F)",
            f"{qemu['equal']} of {qemu['frames']} frames equal; {qemu['instructions_per_frame']:,} instructions per frame",
        ),
        (
            mark(float(snr.min()) >= SNR_GOAL_DB),
            "front end against a float64 MFCC",
            f"SNR at least {snr.min():.1f} dB on every coefficient (goal {SNR_GOAL_DB:g} dB)",
        ),
    ]
    if model["status"] != "ok":
        return out + [("FAIL", "model", model["status"])]
    out += [
        (
            "pass",
            "int8 model in TFLM",
            f"{model['int8_test_accuracy']:.1%} of the {model['test_clips']} test "
            f"clips of the data set it was released from, voices never heard in training (float "
            f"{model['float_test_accuracy']:.1%}; release manifest)",
        ),
        (
            mark(model["island_bytes"] <= spec.budget.island_bytes),
            "island, from the linked firmware",
            f"{model['island_bytes']:,} B of {spec.budget.island_bytes:,} B",
        ),
    ]
    if device:
        w, e = device["windows"], device["events"]
        out.append(
            (
                mark(not w["differ"] and not e["differ"] and w["device"] == w["reference"]),
                "device over the serial link vs host reference",
                f"{w['reference'] - len(w['differ'])} of {w['reference']} windows, "
                f"{e['reference'] - len(e['differ']) // 2} of {e['reference']} events equal; link damage "
                f"{sum(device.get('link_damage', {}).values())}",
            )
        )
        m = device["device_score"]
        out.append(
            (
                "note",
                f"detections on the {device['audio_seconds']:.0f} s demo stream",
                f"{m['false_accepts']} false accept(s), {m['frr']:.0%} of its keywords missed at the released "
                "thresholds, which are set for 1 FA/hr on hours of audio: a smoke test, not a measurement "
                "(measured figures: docs/results.md)",
            )
        )
    if extra:
        run, ev = extra["device_run"], extra["eval"]
        out.append(
            (
                "note",
                f"kws eval on {ev['minutes']:.0f} minutes of demo streams",
                f"{ev['at_default']['fa_per_hour']:.0f} FA/hr at the spec's default threshold, "
                f"{ev['at_calibrated']['fa_per_hour']:.0f} FA/hr at thresholds fitted to these same minutes: "
                "too short to measure FA/hr, it shows the DET curve is computed",
            )
        )
        out.append(
            ("pass", "duty cycle", f"{run['duty_cycle_at_64MHz']:.1%} of a 64 MHz Cortex-M4 (QEMU instruction counts)")
        )
        h = extra.get("human_voice")
        if h:
            r, q = h["at_released_thresholds"], h["device_qemu"]
            out.append(
                (
                    mark(q["windows_equal"] == q["windows"] and q["events_equal"]),
                    "a recorded human voice",
                    f"{round((1 - r['frr']) * r['occurrences'])} of {r['occurrences']} keywords found at the "
                    f"released thresholds; firmware in QEMU equal to the host on {q['windows_equal']} of "
                    f"{q['windows']} windows",
                )
            )
    return out


def _real_speaker_lines() -> list[str]:
    """The report's lead: how the released models hear people they never heard, as their releases
    and the real-speech benchmarks recorded it (a result made for another model is not quoted)."""
    from kws.paths import MODELS_DIR, REPO_ROOT

    def load(rel):
        p = REPO_ROOT / rel
        return json.loads(p.read_text()) if p.exists() else None

    def release(name):
        return ReleasedModel.load(MODELS_DIR / name) if (MODELS_DIR / name / "manifest.json").exists() else None

    commands = release("commands")
    sha = commands.sha256 if commands else None
    sc = (
        ((commands.manifest.get("accuracy") or {}).get("per_source_int8") or {}).get("speech_commands")
        if commands
        else None
    )
    rows = []
    if sc and "per_class_recall" in sc:
        w = sc.get("test_set_weighted_accuracy") or sc["accuracy"]
        rows.append(
            f"| commands, int8, held-out real speakers (Speech Commands test-list speakers; release manifest) "
            f"| {w:.1%} weighed as the published test set, {sc['balanced_accuracy']:.1%} class-balanced, "
            f"{sc['n']} clips |"
        )
    real = load("bench/results/real_speakers.json")
    m = ((real or {}).get("models") or {}).get("models/commands")
    if m and m.get("model_sha256") == sha:
        s = m["streams"]["at_released_thresholds"]
        rows.append(
            f"| commands, real-speech streams at its thresholds (`python bench/real_speakers.py`) | "
            f"{s['fa_per_hour']:.1f} FA/hr, FRR {s['frr']:.0%}, {s['occurrences']} keywords in "
            f"{s['hours']:.1f} h |"
        )
    peers = load("bench/results/wakeword_peers.json")
    alexa = release("alexa")
    if peers and alexa and peers.get("model_sha256") == alexa.sha256:
        comp = [r for c in peers["conditions"].values() for r in c["comparison"]]
        rows.append(
            f"| `alexa` against openWakeWord and PocketSphinx, same real streams (`python "
            f"bench/wakeword_peers.py`) | recall at least the peer's at its FA/hr at "
            f"{sum(r['met'] for r in comp)} of {len(comp)} points (clean and 10 dB noise) |"
        )
    if not rows:
        return []
    return [
        "## How the released models hear people",
        "",
        "| measured on real speech | result |",
        "| --- | --- |",
        *rows,
        "",
        "The rest of this report is measured by this run, on synthetic speech and the emulated device.",
        "",
    ]


def run_demo(*, spec_path: str | None, out_dir: Path, task: str = "commands", retrain: bool = False) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = load_spec(spec_path)
    fe_spec = spec.frontend
    rate = fe_spec.sample_rate_hz
    report: dict = {"frontend_hash": fe_spec.hash}

    _step(f"spec {fe_spec.name} v{fe_spec.version} sha256 {fe_spec.hash[:16]}…")
    changed = cg_frontend.generate(spec)
    _step(f"codegen frontend: {len(changed)} file(s) rewritten" + (" (spec changed)" if changed else ", up to date"))

    _step("building the firmware core for the host (gcc) and for Cortex-M4F (arm-none-eabi-gcc)")
    native = NativeFrontend(fe_spec, build_host())
    report["arm_object_bytes"] = _arm_size()

    _step("synthesizing speech with espeak-ng and flite")
    clips = {f"{v}:{t}": tts.espeak(t, voice=v, rate=rate) for t, v in DEMO_PHRASES}
    clips["flite/slt:go forward, then stop"] = tts.flite("go forward, then stop", voice="slt", rate=rate)
    clips.update({f"signal:{k}": v for k, v in corner_cases(rate, rate).items()})

    _step("computing features: Python reference vs the firmware's C (streaming, host build)")
    fe = Frontend(fe_spec)
    frames = equal = 0
    fx, fl = [], []
    for name, pcm in clips.items():
        cep_py = fe.cepstra(pcm, sample_rate=rate)
        cep_c, feat_c = native.run(pcm, [fe_spec.hop_samples])
        frames += cep_py.shape[0]
        equal += int(
            np.sum(np.all(cep_py == cep_c, axis=1) & np.all(fe.features(pcm, sample_rate=rate) == feat_c, axis=1))
        )
        if not name.startswith("signal:"):
            fx.append(fe.cepstra_to_float(cep_py))
            fl.append(fe.cepstra_float(pcm, sample_rate=rate))
    fx, fl = np.concatenate(fx), np.concatenate(fl)
    _step("booting the firmware's front end in QEMU (netduinoplus2, Cortex-M4F) on the same clips")
    qemu = _run_in_qemu(clips, fe_spec, out_dir / "vectors")
    report["qemu"] = qemu
    model = _model_stage(spec, task, out_dir, clips, retrain)
    report["model"] = model
    from kws.data.task import load_task

    task_cfg = load_task(task)
    words = set(task_cfg.keywords)
    device = _device_stage(spec, Path(model["model"]), out_dir, clips, words) if model["status"] == "ok" else None
    report["device"] = device
    snr = 10 * np.log10((fl**2).sum(0) / ((fx - fl) ** 2).sum(0))
    report["bit_exact"] = {"frames": frames, "equal": equal}

    extra = _evaluation_stages(spec, model, device, out_dir, task_cfg) if device else None
    report["evaluation"] = extra

    report["speech_snr_db_per_coefficient"] = [round(float(v), 1) for v in snr]

    lines = [
        "# kws demo report",
        "",
        *_real_speaker_lines(),
        f"Front end: `{fe_spec.name}` v{fe_spec.version}, spec sha256 `{fe_spec.hash}`",
        "",
        "| stage | result |",
        "| --- | --- |",
        f"| bit-exact (Python reference vs firmware C, host build) | {equal} of {frames} frames equal |",
        f"| bit-exact (Python reference vs firmware in QEMU, Cortex-M4F) | {qemu['equal']} of {qemu['frames']} "
        f"frames equal |",
        f"| front end on Cortex-M4F (QEMU -icount) | {qemu['instructions_per_frame']:,} instructions / frame |",
        f"| fixed vs float64 MFCC on speech, SNR per coefficient | min {snr.min():.1f} dB, max {snr.max():.1f} dB |",
        *(
            [
                f"| int8 model `{model['model']}` on held-out voices (TFLM) | {model['int8_test_accuracy']:.1%} "
                f"(float {model['float_test_accuracy']:.1%}), {model['test_clips']} clips |",
                f"| island, measured from the linked firmware (`kws budget --elf`) | {model['island_bytes']:,} B of "
                f"{spec.budget.island_bytes:,} (flash {model['island_flash']:,} + RAM {model['island_ram']:,}) |",
                "",
                "Demo clips, int8 prediction: " + "; ".join(f"{k} -> {v}" for k, v in model["predictions"].items()),
            ]
            if model["status"] == "ok"
            else ["", f"Model stage: {model['status']}"]
        ),
        *(
            [
                "",
                "| keyword spotter on the device (QEMU, serial protocol) vs host reference | result |",
                "| --- | --- |",
                f"| network windows equal | {device['windows']['reference'] - len(device['windows']['differ'])} of "
                f"{device['windows']['reference']} |",
                f"| detection events that differ | {len(device['events']['differ'])} (of {device['events']['reference']}) |",
                f"| device: FA / FRR / latency p95 on the demo stream | {device['device_score']['false_accepts']} false "
                f"accepts, FRR {device['device_score']['frr']:.0%}, "
                f"{device['device_score']['latency_ms_p95'] or 0:.0f} ms |",
                f"| serial link | {device['audio_seconds']:.1f} s of audio in {device['link_seconds']:.1f} s, "
                f"errors: {len(device['link_errors'])} |",
                *(
                    [
                        f"| events arrived after the audio completing their window was sent (p50 / p95) | "
                        f"{device['event_delay_ms']['p50']:.0f} / {device['event_delay_ms']['p95']:.0f} ms |"
                    ]
                    if device.get("event_delay_ms", {}).get("n")
                    else []
                ),
            ]
            if device
            else []
        ),
        *(_evaluation_lines(extra, spec) if extra else []),
        "",
        "Not in the demo: FA/hr over a day of audio (`python bench/eval_24h.py`), real boards (`kws flash`, "
        "`renode/` in hosted CI).",
        "",
    ]
    write_if_changed(out_dir / "report.md", "\n".join(lines))
    write_if_changed(out_dir / "report.json", json.dumps(report, indent=2) + "\n")
    verdicts = _verdicts(spec, equal, frames, qemu, snr, model, device, extra)
    print("\n[demo] what was checked, stage by stage:")
    for status, stage, text in verdicts:
        print(f"  {status:4s}  {stage}: {text}")
    print(f"[demo] the report, with its tables and figures: {out_dir / 'report.md'}")
    ok = equal == frames and qemu["equal"] == qemu["frames"]
    if device:
        ok = ok and not device["windows"]["differ"] and not device["events"]["differ"]
    q = ((extra or {}).get("human_voice") or {}).get("device_qemu")
    if q:
        ok = ok and q["windows_equal"] == q["windows"] and q["events_equal"]
    return 0 if ok else 1
