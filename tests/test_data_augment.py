"""Augmentation is reproducible from the clip id, and does what it says."""

import numpy as np

from kws.data.augment import augment, room_impulse_response
from kws.data.task import load_task

from test_data_validate import word


def test_same_clip_same_copy_identical_bytes():
    cfg = load_task("commands").augment
    rng = np.random.default_rng(0)
    x, bg = word(rng), [np.round(rng.normal(0, 3000, 32000)).astype(np.int16)]
    a = augment(x, clip_id="abc", index=0, cfg=cfg, backgrounds=bg)
    b = augment(x, clip_id="abc", index=0, cfg=cfg, backgrounds=bg)
    c = augment(x, clip_id="abc", index=1, cfg=cfg, backgrounds=bg)
    d = augment(x, clip_id="abd", index=0, cfg=cfg, backgrounds=bg)
    assert a.dtype == np.int16 and a.size == x.size
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes() and a.tobytes() != d.tobytes()


def test_noise_is_mixed_at_the_drawn_snr():
    from dataclasses import replace

    cfg = replace(load_task("commands").augment, noise_prob=1.0, snr_db=(10.0, 10.0), gain_db=(0.0, 0.0),
                  speed_range=(1.0, 1.0), shift_ms=0.0, reverb_prob=0.0)
    rng = np.random.default_rng(1)
    x = word(rng, ms=900)
    bg = np.round(rng.normal(0, 2000, 16000)).astype(np.int16)
    y = augment(x, clip_id="k", index=0, cfg=cfg, backgrounds=[bg]).astype(np.float64)
    noise = y - x
    a, b = 800, 15200                                    # the word spans the middle 0.9 s
    snr = 10 * np.log10(np.mean(x[a:b].astype(float) ** 2) / np.mean(noise ** 2))
    assert abs(snr - 10.0) < 1.0, snr


def test_room_impulse_response_decays_at_rt60():
    h = room_impulse_response(0.4, 16000, np.random.default_rng(2))
    assert h[0] == 1.0
    e = np.convolve(h[1:] ** 2, np.ones(160), "valid")
    at = lambda s: e[int(s * 16000)]  # noqa: E731
    drop_db = 10 * np.log10(at(0.05) / at(0.35))
    assert 40 < drop_db < 80                              # ~60 dB per 0.4 s -> ~45 dB over 0.3 s
