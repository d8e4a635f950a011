"""`kws pick`: train a small sweep of DS-CNN widths and depths, estimate each one's island
footprint, and choose the most accurate variant that fits ``budget.island_bytes``.

Writes ``pick.json`` (every variant: width, blocks, parameters, val and test accuracy, float
and int8, footprint, fits / meets the 48 KB target) and says what it chose and why. Variants
share the cached features, so the sweep costs one training per variant.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from kws.codegen.common import write_if_changed


def pick(spec, task, data_dir: str | Path, out_dir: str | Path, *, widths, blocks, epochs=None,
         progress: bool = True) -> dict:
    from kws import budget as b
    from kws.quantize import quantize
    from kws.train.fit import train
    from kws.train.model import parameter_count

    out_dir = Path(out_dir)
    rows = []
    for w in widths:
        for nb in blocks:
            s = dataclasses.replace(spec, model=dataclasses.replace(spec.model, width=w, blocks=nb))
            run = out_dir / f"w{w}_b{nb}"
            m = train(s, task, data_dir, run, epochs=epochs, progress=progress)
            q = quantize(s, task, run, data_dir, name=f"{task.name}_w{w}_b{nb}", progress=progress,
                         calibration_dir=out_dir / "calibration")
            rep = b.report(b.model_items((run / "model.tflite").read_bytes(), s) + b.frontend_items()
                           + b.placeholder_items(), s)
            rows.append({"width": w, "blocks": nb, "dir": str(run),
                         "parameters": parameter_count(s.model, s.frontend.num_cepstra, len(task.labels)),
                         "val_float": m["val"]["accuracy"], "test_float": q["float_test"]["accuracy"],
                         "test_int8": q["int8_test"]["accuracy"], "island_bytes": rep["total_bytes"],
                         "fits": rep["fits"], "meets_target": rep["meets_target"]})
    fitting = [r for r in rows if r["fits"]]
    # Choose on validation accuracy (the test split stays a final, untouched measure).
    best = max(fitting, key=lambda r: (r["val_float"], -r["island_bytes"])) if fitting else None
    why = ("no variant fits the budget" if best is None else
           f"width {best['width']}, {best['blocks']} blocks: best validation accuracy "
           f"({best['val_float']:.1%}) among the {len(fitting)} of {len(rows)} variants within "
           f"{spec.budget.island_bytes:,} B ({best['island_bytes']:,} B, "
           f"{'meets' if best['meets_target'] else 'misses'} the {spec.budget.target_bytes:,} B target)")
    result = {"variants": rows, "chosen": best, "why": why, "task": task.name}
    write_if_changed(out_dir / "pick.json", json.dumps(result, indent=1) + "\n")
    return result
