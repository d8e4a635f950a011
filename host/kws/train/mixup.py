"""Mixup (Zhang et al., 2018): each training batch is blended with a shuffled copy of itself,
features and one-hot targets alike, by one weight drawn from Beta(a, a) per batch. Seeded: the
same seed gives the same batches."""

from __future__ import annotations

import numpy as np


def batches(
    keras,
    x: np.ndarray,
    y: np.ndarray,
    classes: int,
    *,
    batch_size: int,
    alpha: float,
    seed: int,
    sample_weight: np.ndarray | None = None,
):
    """A keras PyDataset of mixed batches ``(x, soft targets[, weights])``, reshuffled each epoch."""

    class Mixup(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.onehot = np.eye(classes, dtype=np.float32)[y]
            self.epoch = 0
            self._shuffle()

        def _shuffle(self):
            self.rng = np.random.default_rng([seed, self.epoch])
            self.order = self.rng.permutation(len(x))
            self.lams = self.rng.beta(alpha, alpha, size=len(self)).astype(np.float32)
            self.pairs = [self.rng.permutation(len(self._rows(i))) for i in range(len(self))]

        def _rows(self, i: int) -> np.ndarray:
            return self.order[i * batch_size : (i + 1) * batch_size]

        def __len__(self) -> int:
            return -(-len(x) // batch_size)

        def __getitem__(self, i: int):
            rows, lam, pair = self._rows(i), self.lams[i], self.pairs[i]
            xb, tb = x[rows], self.onehot[rows]
            out = (lam * xb + (1 - lam) * xb[pair], lam * tb + (1 - lam) * tb[pair])
            if sample_weight is None:
                return out
            wb = sample_weight[rows]
            return (*out, lam * wb + (1 - lam) * wb[pair])

        def on_epoch_end(self):
            self.epoch += 1
            self._shuffle()

    return Mixup()
