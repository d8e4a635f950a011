"""Progress is shown one way (kws.progress): a bar on a terminal, nothing in a log or a pipe —
for clips and streams as for training epochs."""

import io
import sys

import numpy as np

from kws.progress import bar, epochs_callback


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_bar_is_drawn_on_a_terminal_only(monkeypatch):
    tty = Terminal()
    monkeypatch.setattr(sys, "stderr", tty)
    assert list(bar(range(5), desc="validate", unit="clip")) == list(range(5))
    assert "validate: 100%" in tty.getvalue() and "5/5" in tty.getvalue()
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert list(bar(range(5), desc="validate", unit="clip", progress=False)) == list(range(5))
    assert quiet.getvalue() == ""
    log = io.StringIO()  # a log file or a pipe: no bar
    monkeypatch.setattr(sys, "stderr", log)
    assert list(bar(range(5), desc="validate", unit="clip")) == list(range(5))
    assert log.getvalue() == ""


def test_training_epochs_are_one_bar_with_the_latest_figures(monkeypatch):
    import keras

    tty = Terminal()
    monkeypatch.setattr(sys, "stderr", tty)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    x = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
    model.fit(x, (x[:, 0] > 0).astype(np.int32), epochs=3, verbose=0, callbacks=[epochs_callback(keras, 3)])
    out = tty.getvalue()
    assert "train: 100%" in out and "3/3" in out and "loss=" in out and "accuracy=" in out
