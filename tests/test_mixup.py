"""Mixup batches ([train] mixup): features and targets blended by the same weight with the same
partner, seeded, and a spec without it keeps the hashes of everything trained before."""

import dataclasses
import hashlib
import json
import tomllib

import numpy as np
import pytest

from kws.errors import SpecError


def _batches(alpha=0.4, seed=7, n=300, k=5, weights=None):
    import keras

    from kws.train import mixup

    y = np.arange(n) % k
    x = np.eye(k, dtype=np.float32)[y] * 3.0 + 1.0  # a feature that spells its class out
    return mixup.batches(keras, x, y, k, batch_size=64, alpha=alpha, seed=seed, sample_weight=weights), x, y


def test_features_and_targets_are_mixed_with_the_same_weight_and_partner():
    ds, x, y = _batches()
    assert len(ds) == 5
    seen = 0
    for i in range(len(ds)):
        xb, tb = ds[i]
        seen += len(xb)
        np.testing.assert_allclose(tb.sum(axis=1), 1.0, rtol=1e-6)
        assert ((tb > 0).sum(axis=1) <= 2).all()
        np.testing.assert_allclose(xb, tb * 3.0 + 1.0, rtol=1e-5, atol=1e-5)  # the same blend as the targets
    assert seen == len(x)
    lams = np.concatenate([ds[i][1].max(axis=1) for i in range(len(ds))])
    assert lams.min() < 0.99  # something was mixed


def test_batches_are_seeded_and_change_each_epoch():
    a, _, _ = _batches(seed=7)
    b, _, _ = _batches(seed=7)
    c, _, _ = _batches(seed=8)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    assert not np.array_equal(a[0][0], c[0][0])
    first = a[0][0].copy()
    a.on_epoch_end()
    assert not np.array_equal(a[0][0], first)


def test_sample_weights_are_blended_too():
    w = np.linspace(1.0, 2.0, 300).astype(np.float32)
    ds, _, _ = _batches(weights=w)
    xb, tb, wb = ds[0]
    assert wb.shape == (64,) and wb.min() >= 1.0 and wb.max() <= 2.0


def test_a_spec_without_mixup_keeps_its_training_hash_and_a_bad_one_is_refused(spec):
    from kws.spec import parse_spec

    assert spec.train.mixup == 0.0
    d = {k: v for k, v in dataclasses.asdict(spec.train).items() if k != "mixup"}
    assert spec.train.hash == hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    mixed = dataclasses.replace(spec.train, mixup=0.2)
    assert mixed.hash != spec.train.hash
    with open(spec.source, "rb") as f:
        raw = tomllib.load(f)
    raw["train"]["mixup"] = -1.0
    with pytest.raises(SpecError, match=r"train\.mixup"):
        parse_spec(raw, "x.toml")
    raw["train"]["mixup"] = 0.3
    assert parse_spec(raw, "x.toml").train.mixup == 0.3
