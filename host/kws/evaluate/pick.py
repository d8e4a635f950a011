"""`kws pick`: train a small sweep of DS-CNN widths, depths, first-layer time strides, depthwise
kernels' time extents, training seeds and member counts (ensembles, kws.train.ensemble), estimate
each one's island footprint, and choose the best variant that fits ``budget.island_bytes`` (or, ``within_target``, that meets
``budget.target_bytes``).

Best means, by default, the highest voice-balanced validation accuracy on clips (the mean over
validation voices of each voice's accuracy, what early stopping reads: one voice with many clips
cannot swing it). Seeds are variants too: the seed alone moves a width-32 model's test accuracy by
about 2 points, so the time-stride-1 wake word was released as the best of three seeds by this rule
(`kws pick --task wakeword --widths 32 --strides 1 --seeds 1234,2,3`). With ``streams`` (long
streams from the **validation** voices: ``kws data streams DATA --split val``; the test split
stays an untouched final measure) it means the fewest missed keywords within ``target_fa``
false accepts per hour along each int8 model's DET curve (one threshold for every keyword,
kws.evaluate.run) — what a user lives with. The two can disagree: on the commands task one
width-64 run had no better clip accuracy than width 32 but missed 76 % instead of 88 % of the
keywords within 5 FA/hr on 90 minutes of streams; a second seed of it did not repeat that, so
margins this close need long streams and more than one run (docs/training.md).

Writes ``pick.json`` (every variant: width, blocks, time stride, block kernel, seed, parameters,
val (plain and voice-balanced) and test accuracy, float and int8, footprint, fits / meets the 48 KB target, and its FRR at the target when streams are
given) and says what it chose and why. Variants share the cached features and their networks: each
network (width, depth, stride, seed) is trained once, under ``networks/``, whether it is a variant
alone or a member of ensembles (member k of an ensemble with first seed s has seed s + k, as in
kws train), so ``--members 1,2,3`` over one seed trains three networks, not six.

The networks are trained on the engine (kws.engine): in this process by default (training already
uses every core), on ``workers`` local processes, or on the cluster ``KWS_CLUSTER`` names, one
network per task; each is seeded, so where it ran does not change it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

from kws.fsio import write_if_changed


def frr_within(det_all: list[dict], target_fa: float) -> float:
    """Lowest FRR along a DET curve among its points within ``target_fa`` FA/hr (1.0 if none)."""
    return min((p["frr"] for p in det_all if p["fa_per_hour"] <= target_fa), default=1.0)


def _stream_score(spec, task, run: Path, streams: Path, target_fa: float) -> dict:
    """The int8 model of ``run`` through the host reference over ``streams``."""
    from kws.evaluate.run import evaluate
    from kws.released import scratch_release

    model_dir = run / "streams_model"  # what the reference pipeline reads
    scratch_release(run / "model.tflite", model_dir, name=run.name, task=task, spec=spec)
    r = evaluate(spec, model_dir, streams, run / "streams_eval", target_fa_per_hour=target_fa)
    d = r["at_default_threshold"]
    return {
        "frr_within_target": frr_within(r["det_all"], target_fa),
        "target_fa_per_hour": target_fa,
        "at_default_threshold": {"fa_per_hour": d["fa_per_hour"], "frr": d["frr"]},
        "minutes": r["audio_seconds"] / 60,
    }


def _train_network(job, shared) -> dict:
    """One network of a sweep (an engine task): ``job`` its directory, spec and seed."""
    from kws.train.fit import set_threads, train

    d, single, seed = job
    task, data_dir, epochs, progress = shared
    set_threads()
    return train(single, task, data_dir, d, epochs=epochs, seed=seed, progress=progress)


def pick(
    spec,
    task,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    widths,
    blocks,
    strides=None,
    block_kernels=None,
    seeds=None,
    members=None,
    epochs=None,
    progress: bool = True,
    streams: str | Path | None = None,
    target_fa: float = 5.0,
    within_target: bool = False,
    workers: int = 1,
) -> dict:
    """``strides``: time strides of the first convolution (its cepstral stride stays the task's);
    ``block_kernels``: time extents of the blocks' depthwise kernels (their cepstral extent stays the
    task's: 9 and 15 sweep the temporal form's 9x1 and 15x1);
    ``seeds``: training seeds (an ensemble's first member's: member k takes seed + k, as kws train);
    ``members``: networks merged into one ([model] members). They default to the task's and the
    spec's single value. ``within_target``: choose among the variants that meet the island target
    (``budget.target_bytes``) rather than the budget. ``workers``: local processes training
    networks side by side (kws.engine; 1: in this process)."""
    from kws import engine
    from kws.footprint import budget as b
    from kws.spec import with_model
    from kws.train.ensemble import merge
    from kws.train.features import build_features
    from kws.train.model import parameter_count
    from kws.train.quantize import quantize

    out_dir = Path(out_dir)
    strides = list(strides or [spec.model.first_stride[0]])
    block_kernels = list(block_kernels or [spec.model.block_kernel[0]])
    seeds = list(seeds or [spec.train.seed])
    members = list(members or [spec.model.members])
    rows = []
    trained: dict[Path, dict] = {}

    def network(base: str, seed: int) -> Path:
        """One network of the sweep, trained once whichever variants use it: a variant alone, and
        member k of the ensembles of its width, depth and stride whose first seed is its seed - k."""
        return out_dir / "networks" / f"{base}_s{seed}"

    # every variant's network checked as a spec's [model] is, before any is trained (a kernel too long
    # for the window fails here with the field and the variant named, not in Keras an hour in)
    variants = []
    for w, nb, st, bk, seed, nm in itertools.product(widths, blocks, strides, block_kernels, seeds, members):
        fields = {
            "width": w,
            "blocks": nb,
            "first_stride": [st, spec.model.first_stride[1]],
            "block_kernel": [bk, spec.model.block_kernel[1]],
        }
        where = f"kws pick variant: width {w}, {nb} blocks, time stride {st}, block kernel {bk}, {nm} member(s)"
        s = with_model(spec, {**fields, "members": nm}, where)
        variants.append(
            (
                w,
                nb,
                st,
                bk,
                seed,
                nm,
                with_model(spec, {**fields, "members": 1}, where),
                dataclasses.replace(s, train=dataclasses.replace(s.train, seed=seed)),
            )
        )

    def base_of(w, nb, st, bk) -> str:
        return f"w{w}_b{nb}" + (f"_t{st}" if len(strides) > 1 else "") + (f"_k{bk}" if len(block_kernels) > 1 else "")

    jobs = {
        network(base_of(w, nb, st, bk), seed + k): (single, seed + k)
        for w, nb, st, bk, seed, nm, single, _ in variants
        for k in range(nm)
    }
    # the features once, here: the networks' tasks then read the cache (all variants share the front end)
    build_features(
        data_dir,
        spec,
        task,
        augment_copies=spec.train.augment_copies,
        cache_dir=Path(data_dir) / "features",
        progress=progress,
    )
    from kws.progress import bar

    done = bar(
        engine.run_map(
            _train_network,
            [(d, single, sd) for d, (single, sd) in jobs.items()],
            shared=(task, data_dir, epochs, progress and workers == 1),
            workers=workers,
            chunk=1,
            what="training a network of the sweep",
        ),
        total=len(jobs),
        desc="sweep",
        unit="network",
        progress=progress,
    )
    trained.update(zip(jobs, done))
    for w, nb, st, bk, seed, nm, _, s in variants:
        base = base_of(w, nb, st, bk)
        tag = base + (f"_s{seed}" if len(seeds) > 1 else "") + (f"_m{nm}" if len(members) > 1 else "")
        if nm > 1:  # members trained apart (seed + k, as kws train), merged; the merged network's own figures
            run = out_dir / tag
            merge(s, task, [network(base, seed + k) for k in range(nm)], run, data_dir=data_dir)
            m = json.loads((run / "metrics.json").read_text())
        else:
            run = network(base, seed)
            m = trained[run]
        q = quantize(
            s,
            task,
            run,
            data_dir,
            name=f"{task.name}_{tag}",
            progress=progress,
            calibration_dir=out_dir / "calibration",
        )
        rep = b.report(
            b.model_items((run / "model.tflite").read_bytes(), s) + b.frontend_items() + b.placeholder_items(), s
        )
        rows.append(
            {
                "width": w,
                "blocks": nb,
                "time_stride": st,
                "block_kernel": [bk, spec.model.block_kernel[1]],
                "seed": seed,
                "members": nm,
                "dir": str(run),
                "parameters": parameter_count(s.model, s.frontend.num_cepstra, len(task.labels)),
                "val_float": m["val"]["accuracy"],
                "val_voice": m["val"]["voice_balanced_accuracy"],
                "test_float": q["float_test"]["accuracy"],
                "test_int8": q["int8_test"]["accuracy"],
                "island_bytes": rep["total_bytes"],
                "fits": rep["fits"],
                "meets_target": rep["meets_target"],
                **({"streams": _stream_score(s, task, run, Path(streams), target_fa)} if streams else {}),
            }
        )
    fitting = [r for r in rows if (r["meets_target"] if within_target else r["fits"])]
    limit = f"the {spec.budget.target_bytes:,} B target" if within_target else f"{spec.budget.island_bytes:,} B"
    # Choose on the validation voices (the test split stays a final, untouched measure).
    if streams:
        best = min(fitting, key=lambda r: (r["streams"]["frr_within_target"], r["island_bytes"])) if fitting else None
        reason = (
            lambda b: f"fewest missed keywords within {target_fa:g} FA/hr on the validation streams "
            f"({b['streams']['frr_within_target']:.1%} FRR)"
        )
    else:
        best = max(fitting, key=lambda r: (r["val_voice"], -r["island_bytes"])) if fitting else None
        reason = lambda b: f"best voice-balanced validation accuracy ({b['val_voice']:.1%})"
    why = (
        f"no variant fits {'the target' if within_target else 'the budget'}"
        if best is None
        else f"width {best['width']}, {best['blocks']} blocks, time stride {best['time_stride']}, "
        f"block kernel {'x'.join(map(str, best['block_kernel']))}, seed {best['seed']}"
        + (f", {best['members']} members" if best["members"] > 1 else "")
        + f": "
        f"{reason(best)} among the {len(fitting)} of "
        f"{len(rows)} variants within {limit} ({best['island_bytes']:,} B, "
        f"{'meets' if best['meets_target'] else 'misses'} the {spec.budget.target_bytes:,} B target)"
    )
    result = {
        "variants": rows,
        "chosen": best,
        "why": why,
        "task": task.name,
        "criterion": f"FRR within {target_fa:g} FA/hr on {streams}"
        if streams
        else "voice-balanced validation accuracy",
    }
    write_if_changed(out_dir / "pick.json", json.dumps(result, indent=1) + "\n")
    return result
