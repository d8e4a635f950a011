"""`kws train`, `kws ensemble`, `kws pick`, `kws quantize`, `kws budget`, `kws release`."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from kws.cli.common import TASK_HELP


def add_parsers(sub) -> None:
    s = sub.add_parser("train", help="train a DS-CNN on device-exact features, quantize it, estimate its budget")
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.add_argument("--data", required=True, help="data set directory (kws data synth/ingest)")
    s.add_argument("--out", required=True, help="output directory (model, metrics, effective config)")
    s.add_argument("--name", help="model name for calibration/<name>/ (default: the task name)")
    s.add_argument("--epochs", type=int, help="override train.epochs")
    s.add_argument("--seed", type=int, help="override train.seed (recorded in the output's config.json)")
    s.add_argument(
        "--teacher",
        help="distill: also learn from the logits of this training directory (kws train or "
        "kws ensemble on the same data set, e.g. a wider network or an ensemble)",
    )
    s.add_argument(
        "--distill-temperature", type=float, help="softening of both posteriors (default: kws.train.distill)"
    )
    s.add_argument(
        "--distill-alpha", type=float, help="the teacher's share of the loss, 0..1 (default: kws.train.distill)"
    )
    s.add_argument(
        "--init",
        help="start from the weights of this training directory (the same network, front end and "
        "labels), e.g. one trained on the TTS corpus, instead of random ones; an ensemble's member k "
        "starts from its member<k>/",
    )
    s.add_argument(
        "--float-only",
        action="store_true",
        help="train the float network only, without the int8 model and its calibration set: a start for "
        "another run's --init, or a teacher",
    )
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser(
        "teach",
        help="a teacher for kws train --teacher: a classifier on a speech embedding trained "
        "on far more people (openWakeWord's), fitted to the data set's training clips",
    )
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.add_argument("--data", required=True, help="the data set the student will be trained on")
    s.add_argument("--out", required=True, help="teacher directory (then kws train --teacher DIR)")
    s.add_argument("--seed", type=int, help="the classifier's seed (default: the spec's [train] seed)")
    s.set_defaults(fn=cmd_teach)

    s = sub.add_parser(
        "ensemble",
        help="merge networks trained apart (other seeds) into one: the mean of their logits "
        "as one network for the device ([model] members)",
    )
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.add_argument("--data", required=True, help="the data set the members were trained on (for quantization)")
    s.add_argument("--out", required=True, help="output training directory (then kws release --train-dir)")
    s.add_argument("--name", help="model name for calibration/<name>/ (default: the task name)")
    s.add_argument("members", nargs="+", help="training directories of kws train, one per member")
    s.set_defaults(fn=cmd_ensemble)

    s = sub.add_parser(
        "adapt",
        help="fine-tune a released model to a speaker's enrolled takes (kws record, then "
        "kws data ingest recordings); then kws release --train-dir",
    )
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.add_argument("--model", required=True, help="released model directory (models/<name>, with model.keras)")
    s.add_argument("--user", required=True, help="the speaker's takes: a data set from kws data ingest recordings")
    s.add_argument(
        "--data", required=True, help="the data set the model was released from (rehearsal, calibration, held-out test)"
    )
    s.add_argument("--out", required=True, help="output training directory")
    s.add_argument("--epochs", type=int, default=6, help="fine-tuning epochs (default %(default)s)")
    s.add_argument("--copies", type=int, default=20, help="augmented copies of every take (default 20)")
    s.add_argument("--rehearsal", type=int, default=8000, help="base training examples mixed in (default 8000)")
    s.add_argument("--lr", type=float, default=3e-4, help="learning rate (default 3e-4)")
    s.add_argument(
        "--holdout",
        type=float,
        default=0.2,
        help="share of the takes per label held back to measure the adapted model on (default 0.2)",
    )
    s.add_argument("--seed", type=int, default=1, help="seed of the holdout and the fine-tuning (default %(default)s)")
    s.set_defaults(fn=cmd_adapt)

    s = sub.add_parser("pick", help="train a sweep of widths/depths; choose the most accurate that fits the budget")
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.add_argument("--data", required=True, help="the data set to train every variant on")
    s.add_argument(
        "--out", required=True, help="directory of the sweep: a training directory per variant and pick.json"
    )
    s.add_argument("--widths", default="24,32,48", help="comma-separated channel counts")
    s.add_argument("--blocks", default="4", help="comma-separated block counts")
    s.add_argument("--strides", help="comma-separated time strides of the first convolution (default: the task's)")
    s.add_argument(
        "--block-kernels",
        help="comma-separated time extents of the blocks' depthwise kernels, their "
        "cepstral extent kept (default: the task's; e.g. 5,9,15 for the temporal form)",
    )
    s.add_argument("--seeds", help="comma-separated training seeds (default: the spec's [train] seed)")
    s.add_argument(
        "--members",
        help="comma-separated member counts: networks trained apart and merged into one "
        "(default: the task's [model] members)",
    )
    s.add_argument(
        "--within-target",
        action="store_true",
        help="choose among the variants that meet the island target (budget.target_bytes), not the budget",
    )
    s.add_argument("--epochs", type=int, help="training epochs of every variant (default: the spec's [train] epochs)")
    s.add_argument(
        "--streams",
        help="choose by FRR within --target-fa on these streams (make them from the "
        "validation voices: kws data streams DATA --split val)",
    )
    s.add_argument("--target-fa", type=float, default=5.0, help="false accepts per hour for --streams (default 5)")
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        help="local processes training networks side by side (default 1: in this process, which already "
        "uses every core); kws --cluster / KWS_CLUSTER trains them on a Dask cluster",
    )
    s.set_defaults(fn=cmd_pick)

    s = sub.add_parser("quantize", help="full-int8 TFLite of a trained model with the tracked calibration set")
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.add_argument("--data", required=True, help="the data set it was trained on")
    s.add_argument(
        "--train-dir", required=True, help="the training directory (kws train): model.keras in, model.tflite out"
    )
    s.add_argument("--name", required=True, help="the model's name: its calibration set is calibration/<name>/")
    s.add_argument(
        "--qat-epochs",
        type=int,
        default=0,
        help="quantization-aware fine-tuning for this many epochs instead of post-training "
        "quantization (needs requirements/qat.txt)",
    )
    s.set_defaults(fn=cmd_quantize)

    s = sub.add_parser(
        "budget",
        help="island footprint against the budget: from the linked firmware (--elf) or estimated from an int8 model",
    )
    s.add_argument("model", nargs="?", help=".tflite file (estimate)")
    s.add_argument("--elf", help="linked firmware image with its .map (measured); runs it in QEMU for the stack")
    s.add_argument("--png", help="write a bar chart here")
    s.add_argument(
        "--record",
        metavar="MODEL_DIR",
        help="with --elf: write the measured budget into that released model's manifest and card "
        "(the image must run that model)",
    )
    s.set_defaults(fn=cmd_budget)

    s = sub.add_parser("release", help="copy a trained model into models/<name>/ with manifest and model card")
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.add_argument("--data", required=True, help="the data set it was trained on")
    s.add_argument("--train-dir", required=True, help="the training directory (kws train, quantized)")
    s.add_argument("--name", required=True, help="released as models/<name>/")
    s.add_argument(
        "--attach-float",
        action="store_true",
        help="keep the released model; add the float network (model.keras) of --train-dir, the training "
        "directory it was released from (for kws adapt)",
    )
    s.add_argument(
        "--remeasure-accuracy",
        action="store_true",
        help="keep the released model file; measure its test accuracy again (float and int8, per source, "
        "class and context) and rewrite models/<name>/manifest.json and its card",
    )
    s.set_defaults(fn=cmd_release)


def cmd_train(args) -> int:
    from kws.data.task import load_task
    from kws.spec import load_spec
    from kws.train.fit import set_threads, train

    task = load_task(args.task)
    spec = task.spec(load_spec(args.spec))
    distill = None
    if args.distill_temperature is not None or args.distill_alpha is not None:
        from kws.errors import KwsError
        from kws.train.distill import Distill

        if not args.teacher:
            raise KwsError("--distill-temperature and --distill-alpha need --teacher")
        given = {"temperature": args.distill_temperature, "alpha": args.distill_alpha}
        distill = Distill(**{k: v for k, v in given.items() if v is not None})
    teach = {"teacher": args.teacher, "distill": distill} if args.teacher else {}
    if args.init:
        teach["init"] = args.init  # an ensemble: member k from the init's member<k>/
    set_threads()
    if spec.model.members > 1:
        from kws.train.ensemble import train_members

        if args.seed is not None:
            spec = dataclasses.replace(spec, train=dataclasses.replace(spec.train, seed=args.seed))
        cfg = train_members(spec, task, args.data, args.out, epochs=args.epochs, **teach)
        runs = [json.loads((Path(m["dir"]) / "metrics.json").read_text()) for m in cfg["members"]]
        m = {"epochs_run": sum(r["epochs_run"] for r in runs), "train_seconds": sum(r["train_seconds"] for r in runs)}
    else:
        m = train(spec, task, args.data, args.out, epochs=args.epochs, seed=args.seed, **teach)
    if args.float_only:
        print(
            f"float network in {args.out} ({m['epochs_run']} epochs in {m['train_seconds']:.0f} s); next: kws train "
            f"--task {args.task} --data DATA --init {args.out} --out DIR"
        )
        return 0
    return _finish_training(spec, task, args, m)


def cmd_teach(args) -> int:
    from kws.data.task import load_task
    from kws.spec import load_spec
    from kws.train.speech_embedding import teach

    task = load_task(args.task)
    m = teach(task.spec(load_spec(args.spec)), task, args.data, args.out, seed=args.seed)
    for split in ("val", "test"):
        r = m[split]
        print(
            f"teacher on {split} ({r['n']} clips): {r['accuracy']:.1%}, class-balanced {r['balanced_accuracy']:.1%}; "
            "by source: " + ", ".join(f"{k} {v['accuracy']:.1%} ({v['n']})" for k, v in r["per_source"].items())
        )
    print(f"wrote {args.out}; next: kws train --task {args.task} --data {args.data} --teacher {args.out} --out DIR")
    return 0


def cmd_ensemble(args) -> int:
    from kws.data.task import load_task
    from kws.spec import load_spec
    from kws.train.ensemble import merge

    task = load_task(args.task)
    spec = task.spec(load_spec(args.spec))
    if spec.model.members != len(args.members):
        print(
            f"note: {len(args.members)} members; the task's [model] has members = {spec.model.members}: "
            f"kws quantize and release need a task with members = {len(args.members)}",
            file=sys.stderr,
        )
        spec = dataclasses.replace(spec, model=dataclasses.replace(spec.model, members=len(args.members)))
    cfg = merge(spec, task, [Path(d) for d in args.members], args.out, data_dir=args.data)
    print(
        f"merged {len(cfg['members'])} members (seeds {', '.join(str(m['seed']) for m in cfg['members'])}) into "
        f"{args.out}: width {spec.model.width} x {spec.model.members}, largest difference from the members' mean "
        f"logits {cfg['merge_max_abs_error']:.2g}"
    )
    return _finish_training(spec, task, args, None)


def _finish_training(spec, task, args, m: dict | None) -> int:
    from kws.footprint import budget as b
    from kws.train.quantize import quantize

    q = quantize(spec, task, args.out, args.data, name=args.name or task.name)
    rep = b.estimated_budget(spec, (Path(args.out) / "model.tflite").read_bytes())
    (Path(args.out) / "budget.json").write_text(json.dumps(rep, indent=1) + "\n")
    b.plot(rep, Path(args.out) / "budget.png")
    print(
        f"float test accuracy {q['float_test']['accuracy']:.2%}, int8 (TFLM) {q['int8_test']['accuracy']:.2%} on "
        f"{q['int8_test']['n']} held-out-voice clips"
        + (f"; {m['epochs_run']} epochs in {m['train_seconds']:.0f} s" if m else "")
    )
    print(b.format_table(rep))
    b.check(rep)
    return 0


def cmd_adapt(args) -> int:
    from kws.data.task import load_task
    from kws.spec import load_spec
    from kws.train.adapt import adapt
    from kws.train.fit import set_threads

    set_threads()
    task = load_task(args.task)
    r = adapt(
        task.spec(load_spec(args.spec)),
        task,
        args.model,
        args.user,
        args.data,
        args.out,
        epochs=args.epochs,
        copies=args.copies,
        rehearsal=args.rehearsal,
        learning_rate=args.lr,
        holdout=args.holdout,
        seed=args.seed,
    )

    def pct(v):
        return "  –  " if v is None else f"{v:6.1%}"

    b, a = r["before"], r["after"]
    print(f"adapted {r['base_model']} on {r['trained_on']} takes ({r['held_back']} held back) into {args.out}")
    print(f"  held-back takes, int8:        {pct(b['user_held_back_int8'])} -> {pct(a['user_held_back_int8'])}")
    print(
        f"  held-out test voices, int8:   {pct(b['base_test_int8'])} -> {pct(a['base_test_int8'])} "
        f"({r['base_test_clips']} clips)"
    )
    print(f"next: kws release --task {args.task} --data {args.data} --train-dir {args.out} --name <name>")
    return 0


def cmd_pick(args) -> int:
    from kws.data.task import load_task
    from kws.evaluate.pick import pick
    from kws.spec import load_spec
    from kws.train.fit import set_threads

    set_threads()
    task = load_task(args.task)
    r = pick(
        task.spec(load_spec(args.spec)),
        task,
        args.data,
        args.out,
        widths=[int(w) for w in args.widths.split(",")],
        blocks=[int(b) for b in args.blocks.split(",")],
        strides=[int(v) for v in args.strides.split(",")] if args.strides else None,
        block_kernels=[int(v) for v in args.block_kernels.split(",")] if args.block_kernels else None,
        seeds=[int(v) for v in args.seeds.split(",")] if args.seeds else None,
        members=[int(v) for v in args.members.split(",")] if args.members else None,
        epochs=args.epochs,
        streams=args.streams,
        target_fa=args.target_fa,
        within_target=args.within_target,
        workers=args.workers,
    )
    frr = f" {'FRR@' + format(args.target_fa, 'g'):>8}" if args.streams else ""
    print(
        f"{'width':>5} {'blocks':>6} {'stride':>6} {'kernel':>6} {'seed':>5} {'nets':>4} {'params':>7} {'val':>6} "
        f"{'val/voice':>9} {'test fl':>7} {'test i8':>7} {'island B':>9}{frr}  fits  target"
    )
    for v in r["variants"]:
        f = f" {v['streams']['frr_within_target']:8.1%}" if args.streams else ""
        kernel = "x".join(map(str, v["block_kernel"]))
        print(
            f"{v['width']:5d} {v['blocks']:6d} {v['time_stride']:6d} {kernel:>6} {v['seed']:5d} {v['members']:4d} "
            f"{v['parameters']:7,d} {v['val_float']:6.1%} {v['val_voice']:9.1%} {v['test_float']:7.1%} {v['test_int8']:7.1%} "
            f"{v['island_bytes']:9,d}{f}  {'yes ' if v['fits'] else 'no  '}  {'meets' if v['meets_target'] else 'misses'}"
        )
    print(f"chose {r['why']}")
    return 0 if r["chosen"] else 1


def cmd_quantize(args) -> int:
    from kws.data.task import load_task
    from kws.spec import load_spec
    from kws.train.quantize import quantize

    task = load_task(args.task)
    q = quantize(
        task.spec(load_spec(args.spec)), task, args.train_dir, args.data, name=args.name, qat_epochs=args.qat_epochs
    )
    print(
        f"float {q['float_test']['accuracy']:.2%}  int8 {q['int8_test']['accuracy']:.2%}  "
        f"({q['tflite_bytes']:,} B, {q['method']}, calibration {q['calibration']['path']})"
    )
    return 0


def cmd_budget(args) -> int:
    from kws.footprint import budget as b
    from kws.spec import load_spec

    spec = load_spec(args.spec)
    if args.record and not args.elf:
        from kws.errors import KwsError

        raise KwsError("--record writes a measured budget: give --elf build/qemu/kws_app.elf")
    if args.elf:
        sha = None
        if args.record:
            from kws.released import ReleasedModel

            sha = ReleasedModel.load(args.record).sha256
        rep = b.measured_budget(spec, Path(args.elf), model_sha256=sha)
    elif args.model:
        rep = b.estimated_budget(spec, Path(args.model).read_bytes())
    else:
        from kws.errors import KwsError

        raise KwsError("give a .tflite to estimate, or --elf build/qemu/kws_app.elf to measure")
    print(b.format_table(rep))
    if args.png:
        b.plot(rep, Path(args.png))
    b.check(rep)
    if args.record:
        from kws.release import record_budget

        print(f"recorded in {record_budget(Path(args.record), rep)}")
    return 0


def cmd_release(args) -> int:
    from kws.data.task import load_task
    from kws.release import release
    from kws.spec import load_spec

    task = load_task(args.task)
    spec = task.spec(load_spec(args.spec))
    if args.attach_float:
        from kws.paths import MODELS_DIR
        from kws.release import attach_float_model

        man = attach_float_model(MODELS_DIR / args.name, Path(args.train_dir))
        print(f"{MODELS_DIR / args.name}: float network attached ({man['float_model']['bytes']:,} B)")
        return 0
    if args.remeasure_accuracy:
        from kws.paths import MODELS_DIR
        from kws.release import remeasure_accuracy

        acc = remeasure_accuracy(spec, task, MODELS_DIR / args.name, Path(args.train_dir), Path(args.data))["accuracy"]
        print(
            f"{MODELS_DIR / args.name}: float {acc['float_test']:.2%}, int8 {acc['int8_test']:.2%} (as recorded); "
            "manifest and card rewritten"
        )
        return 0
    from kws.footprint.budget import estimated_budget

    blob = (Path(args.train_dir) / "model.tflite").read_bytes()
    out = release(spec, task, args.train_dir, args.data, name=args.name, budget=estimated_budget(spec, blob))
    print(f"released {out}")
    return 0
