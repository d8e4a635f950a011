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

    cfg = replace(
        load_task("commands").augment,
        noise_prob=1.0,
        snr_db=(10.0, 10.0),
        gain_db=(0.0, 0.0),
        speed_range=(1.0, 1.0),
        shift_ms=0.0,
        reverb_prob=0.0,
    )
    rng = np.random.default_rng(1)
    x = word(rng, ms=900)
    bg = np.round(rng.normal(0, 2000, 16000)).astype(np.int16)
    y = augment(x, clip_id="k", index=0, cfg=cfg, backgrounds=[bg]).astype(np.float64)
    noise = y - x
    a, b = 800, 15200  # the word spans the middle 0.9 s
    snr = 10 * np.log10(np.mean(x[a:b].astype(float) ** 2) / np.mean(noise**2))
    assert abs(snr - 10.0) < 1.0, snr


def test_room_impulse_response_decays_at_rt60():
    h = room_impulse_response(0.4, 16000, np.random.default_rng(2))
    assert h[0] == 1.0
    e = np.convolve(h[1:] ** 2, np.ones(160), "valid")
    at = lambda s: e[int(s * 16000)]  # noqa: E731
    drop_db = 10 * np.log10(at(0.05) / at(0.35))
    assert 40 < drop_db < 80  # ~60 dB per 0.4 s -> ~45 dB over 0.3 s


def test_time_shift_moves_the_word_but_never_cuts_it():
    """A 400 ms word near the clip's end, shifts of up to 450 ms: every copy keeps the whole word
    (its energy) and some copies move it most of the way to the other side."""
    from dataclasses import replace

    from kws.data.quality import speech_bounds

    cfg = replace(
        load_task("commands").augment,
        noise_prob=0.0,
        gain_db=(0.0, 0.0),
        speed_range=(1.0, 1.0),
        shift_ms=450.0,
        reverb_prob=0.0,
    )
    rng = np.random.default_rng(3)
    w = word(rng, ms=400)
    a0, b0 = speech_bounds(w, 16000)
    x = np.zeros(16000, np.int16)
    x[16000 - 100 - (b0 - a0) : 16000 - 100] = w[a0:b0]  # ends 100 samples before the clip end
    energy = np.sum(x.astype(float) ** 2)
    starts = []
    for i in range(40):
        y = augment(x, clip_id="s", index=i, cfg=cfg, backgrounds=[])
        assert abs(np.sum(y.astype(float) ** 2) / energy - 1) < 1e-6, i  # nothing cut off
        starts.append(speech_bounds(y, 16000)[0])
    assert min(starts) < speech_bounds(x, 16000)[0] - 6000  # moved ~400 ms earlier at least once
    assert max(starts) <= speech_bounds(x, 16000)[0] + 160  # never pushed past the end


def test_end_aligned_copies_end_their_speech_at_the_clip_end():
    """end_align_prob = 1: a word in the middle of the clip ends within end_align_ms of the clip's
    end in every copy (the streaming window the detector fires on), whole; 0: never there."""
    from dataclasses import replace

    from kws.data.quality import speech_bounds

    base = replace(
        load_task("commands").augment,
        noise_prob=0.0,
        gain_db=(0.0, 0.0),
        speed_range=(1.0, 1.0),
        shift_ms=100.0,
        reverb_prob=0.0,
        end_align_ms=100.0,
    )
    rng = np.random.default_rng(5)
    w = word(rng, ms=400)
    a0, b0 = speech_bounds(w, 16000)
    x = np.zeros(16000, np.int16)
    x[5000 : 5000 + b0 - a0] = w[a0:b0]
    energy = np.sum(x.astype(float) ** 2)
    for prob, near in ((1.0, True), (0.0, False)):
        cfg = replace(base, end_align_prob=prob)
        for i in range(20):
            y = augment(x, clip_id="e", index=i, cfg=cfg, backgrounds=[])
            assert abs(np.sum(y.astype(float) ** 2) / energy - 1) < 1e-6, i
            gap = 16000 - speech_bounds(y, 16000)[1]
            assert (gap <= 1600 + 160) == near, (prob, i, gap)


def test_voice_shift_scales_every_frequency_and_keeps_the_duration():
    """A 220 Hz tone with a 1,200 Hz partial: shifted by 1.3, both move up 30 %, the length stays."""
    from kws.data.augment import voice_shift

    t = np.arange(12000) / 16000
    x = np.zeros(16000, np.int16)
    x[2000:14000] = np.round(8000 * np.sin(2 * np.pi * 220 * t) + 4000 * np.sin(2 * np.pi * 1200 * t)).astype(np.int16)
    for factor in (0.85, 1.3):
        y = voice_shift(x, factor)
        assert y.dtype == np.int16 and y.size == x.size
        spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
        hz = np.fft.rfftfreq(y.size, 1 / 16000)
        low, high = (hz > 100) & (hz < 700), (hz > 700) & (hz < 3000)
        assert abs(hz[low][np.argmax(spec[low])] / (220 * factor) - 1) < 0.02
        assert abs(hz[high][np.argmax(spec[high])] / (1200 * factor) - 1) < 0.02
        on = np.flatnonzero(np.abs(y) > 2000)  # the tone's extent: duration kept
        assert abs(on[0] - 2000) < 320 and abs((on[-1] - on[0]) / 12000 - 1) < 0.05


def _switched_on_is_new_and_reproducible(task, on, *, seed: int) -> None:
    """An augmentation switched on (``on``, the task's augment config changed): a new task hash
    but the same data set, the same copy twice the same bytes, and other bytes than while off."""
    from dataclasses import replace

    off = task.augment
    assert replace(task, augment=on).hash != task.hash and replace(task, augment=on).data_hash == task.data_hash
    rng = np.random.default_rng(seed)
    x, bg = word(rng), [np.round(rng.normal(0, 3000, 32000)).astype(np.int16)]
    a = augment(x, clip_id="v", index=0, cfg=on, backgrounds=bg)
    assert a.tobytes() == augment(x, clip_id="v", index=0, cfg=on, backgrounds=bg).tobytes()
    assert a.tobytes() != augment(x, clip_id="v", index=0, cfg=off, backgrounds=bg).tobytes()


def test_voice_shift_is_reproducible_and_off_leaves_older_copies_unchanged():
    """voice_prob > 0: the same copy twice is the same bytes, and differs from the unshifted one;
    voice fields at their default (off) hash and augment exactly as a config without them."""
    from dataclasses import replace

    task = load_task("commands")
    off = task.augment
    assert "voice_prob" not in off.key() and replace(off, voice_shift=(0.9, 1.2)).key() == off.key()
    on = replace(off, voice_prob=1.0, voice_shift=(1.25, 1.35))
    assert on.key()["voice_shift"] == (1.25, 1.35)
    _switched_on_is_new_and_reproducible(task, on, seed=3)


def test_lpc_vocoder_keeps_the_envelope_length_and_loudness_of_real_speech():
    """A real TTS word through the LPC vocoder: same length, same loudness, no clipping, the
    long-term spectrum within a few dB per band, the same bytes for the same seed."""
    from scipy.signal import welch

    from kws.data import tts
    from kws.data.augment import lpc_vocode

    x = tts.espeak("marvin", voice="en+m3")
    y = lpc_vocode(x, np.random.default_rng(1))
    assert y.dtype == np.int16 and y.size == x.size and np.abs(y).max() < 32000
    rms = lambda v: np.sqrt(np.mean(v.astype(float) ** 2))  # noqa: E731
    assert abs(rms(y) / rms(x) - 1) < 0.15
    f, px = welch(x.astype(float), 16000, nperseg=512)
    _, py = welch(y.astype(float), 16000, nperseg=512)
    for a, b in ((100, 500), (500, 1000), (1000, 2000), (2000, 4000)):
        band = (f >= a) & (f < b)
        assert abs(10 * np.log10(px[band].mean() / py[band].mean())) < 6, (a, b)
    assert y.tobytes() == lpc_vocode(x, np.random.default_rng(1)).tobytes()
    assert y.tobytes() != x.tobytes()


def test_lpc_vocoder_is_reproducible_and_off_leaves_older_copies_unchanged():
    from dataclasses import replace

    task = load_task("wakeword")
    off = task.augment
    assert "lpc_prob" not in off.key()
    on = replace(off, lpc_prob=1.0)
    _switched_on_is_new_and_reproducible(task, on, seed=4)
