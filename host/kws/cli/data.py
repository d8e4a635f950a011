"""`kws data ...` subcommands. Exit status: 0 clean, 3 when clips were quarantined, 2 on error."""

from __future__ import annotations

import json
from pathlib import Path

from kws.cli.common import TASK_HELP, WORKERS_HELP
from kws.data import LOADERS
from kws.spec import SAMPLE_RATE

EXIT_QUARANTINED = 3


def _summary(man: dict, out: Path) -> int:
    q = json.loads((out / "quarantine.json").read_text()) if (out / "quarantine.json").exists() else []
    c = man["counts"]
    print(
        f"data set {out}: {len(man['entries'])} clips (train {sum(c['train'].values())}, val "
        f"{sum(c['val'].values())}, test {sum(c['test'].values())}), {len(q)} quarantined; manifest {man['hash'][:16]}"
    )
    if q:
        print(f"quarantined clips and reasons: {out / 'quarantine.json'} (copies in {out / 'quarantine'})")
    return EXIT_QUARANTINED if q else 0


def add_parsers(sub) -> None:
    p = sub.add_parser("data", help="build, validate, version and augment data sets")
    dsub = p.add_subparsers(dest="data_cmd", required=True)

    s = dsub.add_parser("synth", help="the built-in TTS corpus (offline)")
    s.add_argument("--task", default="commands", help="commands, wakeword, or a task .toml")
    s.add_argument("--out", required=True, help="the data set directory to write")
    s.add_argument("--workers", type=int, help=WORKERS_HELP)
    s.set_defaults(fn=cmd_synth)

    s = dsub.add_parser("ingest", help="validate a real-speech source into a data set")
    s.add_argument(
        "source",
        choices=LOADERS,
        help="words: a folder of recorded words, each file one clip of --label; noise: recordings cut "
        "into silence clips",
    )
    s.add_argument("root", help="the extracted archive / folder of label folders / folder of words or noise")
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.add_argument("--out", required=True, help="the data set directory to write")
    s.add_argument("--language", default="en", help="MSWC language")
    s.add_argument("--label", help="words: the label of every file (default: the task's unknown label)")
    s.add_argument(
        "--speaker-field",
        type=int,
        help="words: the speaker is this field of the file name split on '_' (default: each file its "
        "own speaker, i.e. split by file)",
    )
    s.add_argument("--source-name", help="words, noise: the source's name in the manifest (default: the folder's)")
    s.add_argument("--workers", type=int, help=WORKERS_HELP)
    s.set_defaults(fn=cmd_ingest)

    s = dsub.add_parser(
        "mix",
        help="one data set from several (the TTS corpus and real speakers, words, noise): "
        "sources, speakers and splits kept, shares recorded",
    )
    s.add_argument("parts", nargs="+", help="data sets of the same task (kws data synth / ingest / mix)")
    s.add_argument(
        "--cap",
        action="append",
        default=[],
        metavar="SOURCE=N",
        help="at most N clips of SOURCE in each split (repeatable), e.g. fsdd=300",
    )
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.add_argument("--out", required=True, help="the mixed data set directory to write")
    s.set_defaults(fn=cmd_mix)

    s = dsub.add_parser("fetch", help="download Speech Commands v2 (checksum, resume)")
    s.add_argument("what", choices=["speech-commands"], help="the archive to download")
    s.add_argument("--dest", required=True, help="directory for the archive and its extraction")
    s.set_defaults(fn=cmd_fetch)

    s = dsub.add_parser("augment", help="materialize augmented copies of a split")
    s.add_argument("data", help="a data set directory (kws data synth / ingest / mix)")
    s.add_argument("--out", required=True, help="directory for the augmented WAVs")
    s.add_argument("--copies", type=int, default=2, help="augmented copies of every clip (default %(default)s)")
    s.add_argument(
        "--split", default="train", choices=["train", "val", "test"], help="the split to augment (default %(default)s)"
    )
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.set_defaults(fn=cmd_augment)

    s = dsub.add_parser("streams", help="long evaluation streams with ground-truth labels")
    s.add_argument("data", help="a data set directory: its clips are the streams' words and backgrounds")
    s.add_argument("--out", required=True, help="directory for the streams and their .labels.csv")
    s.add_argument("--minutes", type=float, default=10.0, help="length of each stream (default %(default)s)")
    s.add_argument(
        "--kind",
        choices=["negative", "positive", "both"],
        default="both",
        help="negative: no keyword (false accepts); positive: keywords among other words (misses); default %(default)s",
    )
    s.add_argument(
        "--split",
        default="test",
        choices=["train", "val", "test"],
        help="whose speakers speak in them (default %(default)s; val to fit thresholds on)",
    )
    s.add_argument(
        "--parts",
        type=int,
        default=0,
        help="N streams of --minutes each, drawn apart (e.g. hours of negatives to calibrate thresholds on)",
    )
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.set_defaults(fn=cmd_streams)

    s = dsub.add_parser(
        "mine",
        help="a model's false accepts over keyword-free streams of training speakers, cut out as "
        "_unknown_ takes (then kws data ingest recordings, kws adapt)",
    )
    s.add_argument("--model", required=True, help="released model directory (models/<name>)")
    s.add_argument(
        "--streams", required=True, help="streams of the training speakers (kws data streams --split train) or your own"
    )
    s.add_argument("--out", required=True, help="a new directory: one folder of takes per label, and mined.json")
    s.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="every keyword event at this posterior is mined (default %(default)s: below a release's thresholds)",
    )
    s.add_argument(
        "--after-ms",
        default="0,80,160,240,320",
        help="streams with keywords: the windows ending this many ms after each keyword are takes of it "
        "(comma-separated; default %(default)s; 'none' for none)",
    )
    s.add_argument(
        "--exclude",
        nargs="+",
        default=[],
        metavar="DS",
        help="data sets holding an earlier round's takes: windows equal to one of their clips are not mined again",
    )
    s.set_defaults(fn=cmd_mine)

    s = dsub.add_parser(
        "alsa-voice",
        help="a stream of recorded human speech: alsa-utils' speaker-test voice "
        "(left / right said six times), labelled for kws eval and kws device eval",
    )
    s.add_argument("--out", required=True, help="directory for the stream (WAV and .labels.csv)")
    s.add_argument("--task", default="commands", help="whose labels are keywords (the other words are _unknown_)")
    s.set_defaults(fn=cmd_alsa_voice)

    s = dsub.add_parser("say", help="a test recording: words spoken by espeak-ng, separated by silence")
    s.add_argument("words", nargs="+", help="words or phrases, e.g. yes stop 'turn left'")
    s.add_argument("--out", required=True, help="16 kHz mono 16-bit WAV")
    s.add_argument("--pcm", help="also write raw int16 LE samples here (emulated microphones)")
    s.add_argument("--voice", default="en+m3", help="espeak-ng voice (default %(default)s)")
    s.add_argument("--gap-s", type=float, default=0.6, help="silence before, between and after the words")
    s.add_argument("--block", type=int, default=0, help="pad the end to a multiple of this many samples")
    s.set_defaults(fn=cmd_say)

    s = dsub.add_parser(
        "music",
        help="generated music (melodies or sung vowels over chords, bass and drums): "
        "noise recordings rarely hold any, radio and television do; ingest it with `kws data ingest noise`",
    )
    s.add_argument("--out", required=True, help="directory for the WAV files")
    s.add_argument("--files", type=int, default=20, help="how many pieces (default %(default)s)")
    s.add_argument("--seconds", type=float, default=30.0, help="length of each (default %(default)s)")
    s.add_argument("--seed", type=int, default=0, help="pieces are reproducible from it (default %(default)s)")
    s.set_defaults(fn=cmd_music)

    s = dsub.add_parser("near-misses", help="words that sound like each keyword: candidates for [synth] near_misses")
    s.add_argument("--task", default="wakeword", help="commands, wakeword, or a task .toml")
    s.add_argument("--top", type=int, default=30, help="words per keyword")
    s.add_argument("--voice", default="en-us", help="espeak-ng voice whose pronunciations are compared")
    s.set_defaults(fn=cmd_near_misses)

    s = dsub.add_parser("report", help="HTML report of a data set")
    s.add_argument("data", help="a data set directory")
    s.set_defaults(fn=cmd_report)

    s = dsub.add_parser("verify", help="check a data set on disk against its manifest")
    s.add_argument("data", help="a data set directory")
    s.set_defaults(fn=cmd_verify)


def cmd_near_misses(args) -> int:
    from kws.data.neighbours import neighbours
    from kws.data.synth import word_list
    from kws.data.task import load_task

    task = load_task(args.task)
    words = word_list(set(task.keywords))
    have = set(task.synth.near_misses)
    for kw, found in neighbours(list(task.keywords), words, top=args.top, voice=args.voice).items():
        print(
            f"{kw}: the {len(found)} words of {len(words):,} nearest in sound (espeak-ng {args.voice}; "
            "phoneme edit distance / length); * = already in the task's near_misses"
        )
        for n in found:
            print(f"  {n.distance:5.3f}  {n.word:<12} {n.ipa}{'  *' if n.word in have else ''}")
        new = [n.word for n in found if n.word not in have]
        print(f"  not yet in the task: {', '.join(new) or '-'}")
    return 0


def cmd_synth(args) -> int:
    from kws.data.report import write_report
    from kws.data.synth import synth
    from kws.data.task import load_task

    out = Path(args.out)
    man = synth(load_task(args.task), out, workers=args.workers)
    print(f"report: {write_report(out)}")
    return _summary(man, out)


def cmd_ingest(args) -> int:
    from kws.data import sources
    from kws.data.ingest import ingest
    from kws.data.report import write_report
    from kws.data.task import load_task

    task = load_task(args.task)
    out = Path(args.out)
    opts = {
        "speech-commands": {},
        "recordings": {},
        "mswc": {"language": args.language},
        "words": {"label": args.label, "speaker_field": args.speaker_field, "source": args.source_name},
        "noise": {"source": args.source_name},
    }[args.source]
    clips = sources.load(args.source, args.root, task, out, **opts)
    inputs = [sources.lineage_input(args.source, args.root, clips)]
    man = ingest(clips, task, out, workers=args.workers, step=f"kws data ingest {args.source}", inputs=inputs)
    print(f"report: {write_report(out)}")
    return _summary(man, out)


def cmd_mix(args) -> int:
    from kws.data.mix import mix
    from kws.data.report import write_report
    from kws.data.task import load_task

    out = Path(args.out)
    caps = {}
    for c in args.cap:
        src, eq, n = c.partition("=")
        if not eq or not n.isdigit():
            from kws.errors import KwsError

            raise KwsError(f"--cap {c!r}: give SOURCE=N, e.g. fsdd=300")
        caps[src] = int(n)
    man = mix(args.parts, load_task(args.task), out, caps=caps)
    for split, by_source in man["shares"].items():
        print(f"{split}: " + ", ".join(f"{src} {v['clips']} ({v['share']:.0%})" for src, v in by_source.items()))
    print(f"report: {write_report(out)}")
    return _summary(man, out)


def cmd_fetch(args) -> int:
    from kws.data import sources

    dest = Path(args.dest)
    sources.fetch(
        sources.SPEECH_COMMANDS_URL,
        dest / "speech_commands_v0.02.tar.gz",
        sha256=sources.SPEECH_COMMANDS_SHA256,
        extract_to=dest / "speech_commands_v0.02",
    )
    print(
        f"extracted to {dest / 'speech_commands_v0.02'}; next: kws data ingest speech-commands "
        f"{dest / 'speech_commands_v0.02'} --out <dir>"
    )
    return 0


def cmd_augment(args) -> int:
    import soundfile as sf

    from kws.audio import write_wav
    from kws.data import manifest as mf
    from kws.data.augment import augment
    from kws.data.task import load_task
    from kws.progress import bar

    task = load_task(args.task)
    src, out = Path(args.data), Path(args.out)
    man = mf.load(src)
    ents = [e for e in man["entries"] if e["split"] == args.split]
    bgs = [sf.read(str(src / e["path"]), dtype="int16")[0] for e in ents if e["label"] == task.silence_label]
    new = []
    for e in bar(ents, desc="augment", unit="clip"):
        pcm = sf.read(str(src / e["path"]), dtype="int16")[0]
        for k in range(args.copies):
            y = augment(
                pcm, clip_id=e["id"], index=k, cfg=task.augment, backgrounds=bgs, is_speech=task.is_speech(e["label"])
            )
            rel = Path("clips") / e["label"] / f"{e['id']}_aug{k}.wav"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            write_wav(out / rel, y, SAMPLE_RATE)
            import hashlib

            new.append(
                {
                    **e,
                    "id": f"{e['id']}_aug{k}",
                    "path": rel.as_posix(),
                    "augmented_from": e["id"],
                    "augment_index": k,
                    "pcm_sha256": hashlib.sha256(y.astype("<i2").tobytes()).hexdigest(),
                }
            )
    am = mf.build(new, task)
    mf.save(out, am)
    mf.write_lineage(
        out,
        step="kws data augment",
        task=task,
        manifest=am,
        inputs=[
            {
                "source": "data set",
                "root": str(src.resolve()),
                "manifest_hash": man["hash"],
                "split": args.split,
                "copies": args.copies,
            }
        ],
        extra={"augment": task.augment.__dict__},
    )
    print(f"{len(new)} augmented clips in {out}; manifest {am['hash'][:16]}")
    return 0


def cmd_streams(args) -> int:
    from kws.data.streams import make_stream
    from kws.data.task import load_task

    task = load_task(args.task)
    kinds = ["negative", "positive"] if args.kind == "both" else [args.kind]
    if args.parts < 0:
        from kws.errors import KwsError

        raise KwsError(f"--parts {args.parts}: give a count >= 1 (or leave it out for one stream)")
    for k in kinds:
        for part in range(1, args.parts + 1) if args.parts else [0]:
            name = f"{k}_{args.split}_{args.minutes:g}min" + (f"_part{part:02d}" if part else "")
            s = make_stream(
                args.data, task, args.out, kind=k, minutes=args.minutes, split=args.split, name=name, part=part
            )
            print(f"{s['name']}: {s['seconds'] / 60:.1f} min, {s['keywords']} keywords, {len(s['voices'])} voices")
    return 0


def cmd_mine(args) -> int:
    from kws.cli.common import spec_of
    from kws.errors import KwsError
    from kws.evaluate.mine import mine

    try:
        after = () if args.after_ms == "none" else tuple(int(a) for a in args.after_ms.split(","))
    except ValueError:
        raise KwsError(f"--after-ms {args.after_ms}: comma-separated milliseconds, e.g. 0,80,160,240,320") from None
    r = mine(
        spec_of(args),
        args.model,
        args.streams,
        args.out,
        threshold=args.threshold,
        after_ms=after,
        exclude=tuple(args.exclude),
    )
    kw = ", ".join(f"{k} {n}" for k, n in r["per_keyword"].items() if n)
    print(
        f"mined {r['mined']} false accepts of {r['model']['name']} at {r['threshold']:g} over "
        f"{r['hours']:.2f} h ({r['per_hour']:.0f} per hour; {kw or 'none'}) into {args.out}/{r['label']}"
    )
    if any(r["keyword_windows"].values()):
        print(f"and {sum(r['keyword_windows'].values())} keyword windows ({', '.join(map(str, after))} ms after each)")
    if r["already_held"]:
        print(f"left out {r['already_held']} windows that {', '.join(args.exclude)} already hold")
    print(
        f"next: kws data ingest recordings {args.out} --out DS, then kws adapt --model {args.model} --user DS "
        "--data <its data set> --out DIR --copies 1"
    )
    return 0


def cmd_alsa_voice(args) -> int:
    from kws.data.alsa_voice import make_stream
    from kws.data.task import load_task

    s = make_stream(args.out, load_task(args.task).labels)
    print(
        f"{args.out}/{s['name']}.wav: {s['seconds']:.1f} s, {s['keywords']} keywords, {s['speech_events']} words "
        f"({s['voices'][0]})"
    )
    return 0


def cmd_report(args) -> int:
    from kws.data.report import write_report

    print(write_report(args.data))
    return 0


def cmd_verify(args) -> int:
    from kws.data.manifest import verify

    problems = verify(args.data)
    for p in problems:
        print(p)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def cmd_music(args) -> int:
    import numpy as np

    from kws.audio import write_wav
    from kws.data import noise
    from kws.errors import KwsError

    if args.files < 1 or args.seconds < 1:
        raise KwsError(f"--files must be >= 1 and --seconds >= 1, got {args.files} and {args.seconds}")
    n = int(round(args.seconds * SAMPLE_RATE))
    for i in range(args.files):
        rng = np.random.default_rng([args.seed, i])
        write_wav(
            Path(args.out) / f"music_{args.seed}_{i:03d}.wav",
            noise.background("music", n, SAMPLE_RATE, -30.0, rng),
            SAMPLE_RATE,
        )
    print(f"{args.out}: {args.files} pieces of generated music, {args.seconds:g} s each (seed {args.seed})")
    return 0


def cmd_say(args) -> int:
    import numpy as np

    from kws.audio import write_wav
    from kws.data import tts

    gap = np.zeros(int(round(args.gap_s * SAMPLE_RATE)), np.int16)
    parts = [gap]
    for w in args.words:
        parts += [tts.espeak(w, voice=args.voice), gap]
    x = np.concatenate(parts)
    if args.block > 0 and x.size % args.block:
        x = np.concatenate([x, np.zeros(args.block - x.size % args.block, np.int16)])
    write_wav(args.out, x, SAMPLE_RATE)
    if args.pcm:
        Path(args.pcm).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(args.pcm).with_name(Path(args.pcm).name + ".tmp")
        x.astype("<i2").tofile(tmp)
        tmp.replace(args.pcm)
    print(f"{args.out}: {x.size / SAMPLE_RATE:.2f} s, {len(args.words)} words ({args.voice})")
    return 0
