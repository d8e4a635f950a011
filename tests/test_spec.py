"""The spec: loads, hashes stably, and refuses impossible combinations naming the field."""

import copy
import tomllib

import pytest

from kws.errors import SpecError
from kws.spec import DEFAULT_SPEC_PATH, load_spec, parse_spec


@pytest.fixture
def raw():
    return tomllib.loads(DEFAULT_SPEC_PATH.read_text())


def test_default_spec_matches_the_product(fe_spec):
    assert fe_spec.sample_rate_hz == 16000
    assert fe_spec.num_cepstra == 13
    assert fe_spec.window_samples <= fe_spec.fft_size
    assert fe_spec.num_frames(16000) == 49  # 1 s clip -> 49 frames at 30 ms / 20 ms


def test_hash_ignores_layout_and_number_spelling(raw, fe_spec, tmp_path):
    # Same values written differently: comments dropped, key order changed, 20.0 written as 20.
    r = copy.deepcopy(raw)
    r["frontend"]["mel"] = {"formula": "htk", "high_hz": 4000, "low_hz": 20, "num_bands": 40}
    assert parse_spec(r).frontend.hash == fe_spec.hash
    assert len(fe_spec.hash) == 64 and fe_spec.hash32 == int(fe_spec.hash[:8], 16)


@pytest.mark.parametrize(
    "path,value",
    [
        (("frontend", "hop_samples"), 160),
        (("frontend", "mel", "num_bands"), 32),
        (("frontend", "log", "floor"), 2),
        (("frontend", "output", "step"), [0.5] * 13),
    ],
)
def test_hash_changes_with_any_value(raw, fe_spec, path, value):
    r = copy.deepcopy(raw)
    d = r
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value
    assert parse_spec(r).frontend.hash != fe_spec.hash


BAD = [
    # (mutation, field named in the error, words in the message)
    (lambda r: r["frontend"].update(fft_size=256), "frontend.fft_size", "shorter than the window"),
    (lambda r: r["frontend"].update(fft_size=500), "frontend.fft_size", "power of two"),
    (lambda r: r["frontend"]["mel"].update(num_bands=300), "frontend.mel.num_bands", "exceed"),
    (lambda r: r["frontend"]["mel"].update(num_bands=200), "frontend.mel.num_bands", "contains no FFT bin"),
    (lambda r: r["frontend"]["dct"].update(num_cepstra=0), "frontend.dct.num_cepstra", ">= 1"),
    (lambda r: r["frontend"]["dct"].update(num_cepstra=41), "frontend.dct.num_cepstra", "exceed"),
    (lambda r: r["frontend"].update(hop_samples=481), "frontend.hop_samples", "longer than the window"),
    (lambda r: r["frontend"]["mel"].update(high_hz=9000.0), "frontend.mel.high_hz", "Nyquist"),
    (lambda r: r["frontend"]["mel"].update(high_hz=10.0), "frontend.mel.high_hz", "above low_hz"),
    (lambda r: r["frontend"].update(window="kaiser"), "frontend.window", "one of"),
    (lambda r: r["frontend"].update(sample_rate_hz="16k"), "frontend.sample_rate_hz", "integer"),
    (lambda r: r["frontend"].update(fft_sise=512), "frontend.fft_sise", "not a known field"),
    (lambda r: r["frontend"].pop("hop_samples"), "frontend.hop_samples", "missing"),
    (
        lambda r: r["frontend"]["fixed_point"].update(dct_frac_bits=19),
        "frontend.fixed_point.dct_frac_bits",
        "do not fit int16",
    ),
    (
        lambda r: r["frontend"]["fixed_point"].update(fft_guard_bits=8),
        "frontend.fixed_point.fft_guard_bits",
        "overflow int32",
    ),
    (lambda r: r["frontend"]["output"].update(step=[1.0] * 12), "frontend.output.step", "list of 13 numbers"),
    (lambda r: r["frontend"]["output"]["step"].__setitem__(3, 0.0), "frontend.output.step[3]", "> 0"),
    (lambda r: r["frontend"]["output"]["offset"].__setitem__(0, float("nan")), "frontend.output.offset[0]", "finite"),
    (lambda r: r["model"].update(cepstra_padding="full"), "model.cepstra_padding", "one of"),
    (
        lambda r: r["model"].update(
            first_kernel=[3, 13], cepstra_padding="valid", block_kernel=[9, 1], time_padding="same"
        ),
        "model.cepstra_padding",
        "needs time_padding",
    ),
    (lambda r: r["model"].update(block_kernel=[3, 0]), "model.block_kernel", "two positive integers"),
    (
        lambda r: r["model"].update(block_kernel=[3, 3]),
        "model.block_kernel",
        "wider than the first convolution's output (1 columns",
    ),
    (lambda r: r["model"].update(block_kernel=[13, 1]), "model.time_padding", "blocks of 13-row depthwise"),
]


@pytest.mark.parametrize("mutate,field,words", BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_impossible_spec_names_the_field(raw, mutate, field, words):
    mutate(raw)
    with pytest.raises(SpecError) as e:
        parse_spec(raw, source="test.toml")
    assert e.value.field == field
    assert words in str(e.value) and "test.toml" in str(e.value)


def test_unreadable_and_malformed_files_name_the_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read spec"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[frontend\nname = 1")
    with pytest.raises(SpecError, match="not valid TOML") as e:
        load_spec(bad)
    assert str(bad) in str(e.value)


def test_temporal_network_fields_keep_earlier_hashes(raw):
    """cepstra_padding and block_kernel came after networks were released: absent or at their
    defaults (the 2-D form: a 10x4 first kernel with stride 2, 3x3 depthwise kernels) the model hash
    is the one those networks recorded; set otherwise, it changes, and a task may set them. The
    spec's own network is the temporal form."""
    from kws.spec import with_model

    two_d = copy.deepcopy(raw)
    two_d["model"].update(first_kernel=[10, 4], first_stride=[2, 2])
    for k in ("cepstra_padding", "block_kernel"):
        two_d["model"].pop(k)
    base = parse_spec(two_d).model
    r = copy.deepcopy(two_d)
    r["model"].update(cepstra_padding="same", block_kernel=[3, 3])
    assert parse_spec(r).model.hash == base.hash
    temporal = parse_spec(raw).model
    assert temporal.hash != base.hash and temporal.first_cols(13) == 1 and temporal.block_kernel == (9, 1)
    assert (
        with_model(
            parse_spec(two_d),
            {"first_kernel": [3, 13], "first_stride": [1, 1], "cepstra_padding": "valid", "block_kernel": [9, 1]},
            "task.toml",
        ).model
        == temporal
    )
