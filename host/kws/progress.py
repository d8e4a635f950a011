"""Progress of long work, shown one way everywhere (tqdm on stderr): rendering, ingesting and
augmenting clips, embedding them, training epochs, networks of a sweep, streams scored.
Shown only on a terminal: logs and pipes get no bars."""

from __future__ import annotations

import sys
from collections.abc import Iterable


def shown(progress: bool = True) -> bool:
    """Whether to draw bars: asked for, and stderr is a terminal."""
    return bool(progress) and sys.stderr.isatty()


def bar(
    iterable: Iterable | None = None,
    *,
    desc: str,
    unit: str,
    total: int | float | None = None,
    progress: bool = True,
    **kw,
):
    """A tqdm bar over ``iterable`` (or one to update by hand), quiet unless :func:`shown`."""
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, unit=unit, total=total, disable=not shown(progress), dynamic_ncols=True, **kw)


def epochs_callback(keras, epochs: int, *, progress: bool = True):
    """A Keras callback drawing one bar over the epochs, the latest figures beside it (Keras' own
    per-batch output is turned off: ``verbose=0``)."""

    class EpochBar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = bar(total=epochs, desc="train", unit="epoch", progress=progress)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.bar.set_postfix(
                {
                    k: f"{v:.3f}"
                    for k, v in logs.items()
                    if k in ("loss", "accuracy", "val_accuracy", "val_voice_accuracy")
                },
                refresh=False,
            )
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochBar()
