"""The network kernels as the host evaluation builds them (AVX2 where the compiler targets it)
and the portable C paths (``-DKWS_NN_PORTABLE``: what a core without SIMD runs) both equal TFLM:
on the released networks (the wake word's grouped 1x1 convolutions and time stride 1 included)
and the MLPerf Tiny reference model, window by window and streamed; and their vectorized
requantization equals TFLM's MultiplyByQuantizedMultiplier, positive shifts included."""

import ctypes
import subprocess

import numpy as np
import pytest

from kws.codegen import model as cgm
from kws.paths import REPO_ROOT
from kws.reference.native import NativeNet
from kws.reference.tflite_model import TFLiteModel
from test_codegen_model import ANCHOR, tflm_reference
from test_ensemble import _walk


def _compiler_targets_avx2() -> bool:
    r = subprocess.run(["gcc", "-march=native", "-dM", "-E", "-"], input="", capture_output=True, text=True)
    return "#define __AVX2__ 1" in r.stdout


def _nets(name, tmp_path, spec):
    path = ANCHOR if name == "anchor" else REPO_ROOT / "models" / name / "model.tflite"
    if not path.exists():
        pytest.skip(f"{path} not here")
    blob = path.read_bytes()
    kw = {"drop_softmax": True} if name == "anchor" else {"stride_frames": spec.detector.stride_frames}
    cgm.generate(blob, tmp_path, frontend_hash32=1, source=str(path), **kw)
    tensor = TFLiteModel.from_bytes(blob).operators[-1].inputs[0] if name == "anchor" else None
    return blob, tensor, NativeNet(tmp_path), NativeNet(tmp_path, portable=True)


@pytest.mark.parametrize("name", ["commands", "wakeword", "anchor"])
def test_host_and_portable_kernels_equal_tflm(name, tmp_path, rng, spec):
    blob, tensor, fast, portable = _nets(name, tmp_path, spec)
    x = rng.integers(-128, 128, (24, 1, fast.frames, fast.cols, 1)).astype(np.int8)
    x[0], x[1] = -128, 127
    x[2:12] = _walk(rng, 10 * fast.frames)[:, : fast.cols].reshape(10, 1, fast.frames, fast.cols, 1)
    ref = tflm_reference(blob, x, tensor)
    np.testing.assert_array_equal(fast.run(x), ref)
    np.testing.assert_array_equal(portable.run(x), ref)
    if fast.streaming:
        stride = spec.detector.stride_frames
        frames = _walk(rng, fast.frames + stride * 60)
        got = fast.stream(frames, stride)
        assert got.shape[0] == 61 and np.unique(got).size > 10
        np.testing.assert_array_equal(got, portable.stream(frames, stride))
        windows = np.stack(
            [frames[t - fast.frames + 1 : t + 1] for t in range(fast.frames - 1, frames.shape[0], stride)]
        )
        np.testing.assert_array_equal(got, tflm_reference(blob, windows[:, None, :, :, None]))


class Conv(ctypes.Structure):
    """kws_nn_conv_t (firmware/core/kws_nn.h)."""

    _fields_ = (
        [(f, ctypes.c_uint16) for f in ("in_h", "in_w", "in_c", "out_h", "out_w", "out_c")]
        + [(f, ctypes.c_uint8) for f in ("k_h", "k_w", "stride_h", "stride_w", "pad_h", "pad_w")]
        + [
            ("in_offset", ctypes.c_int16),
            ("out_offset", ctypes.c_int16),
            ("act_min", ctypes.c_int8),
            ("act_max", ctypes.c_int8),
            ("groups", ctypes.c_uint8),
        ]
    )


def mbqm(acc: int, m: int, shift: int) -> int:
    """TFLM's MultiplyByQuantizedMultiplier (gemmlowp rounding), in Python integers."""
    left, right = max(shift, 0), max(-shift, 0)
    ab = acc * (1 << left) * m
    nudge = 1 << 30 if ab >= 0 else 1 - (1 << 30)
    hi = abs(ab + nudge) // (1 << 31) * (1 if ab + nudge >= 0 else -1)  # C division: toward zero
    mask = (1 << right) - 1
    return (hi >> right) + ((hi & mask) > (mask >> 1) + (hi < 0))


def test_requantization_of_both_paths_equals_tflm(tmp_path, rng, spec):
    """A 1x1 convolution (32 -> 32 channels, 2 groups, 9 positions) with per-channel multipliers
    and shifts from -20 to +4 through kws_nn_pwconv_s8 of both builds, against numpy and ``mbqm``."""
    _, _, fast, portable = _nets("commands", tmp_path, spec)
    n, ic, oc, g = 9, 32, 32, 2
    icg, ocg = ic // g, oc // g
    x = rng.integers(-128, 128, (n, ic)).astype(np.int8)
    w = rng.integers(-127, 128, (g, ocg, icg)).astype(np.int8)
    shift = rng.integers(-20, 5, oc).astype(np.int8)
    shift[:4] = [4, 1, 0, -1]
    mult = rng.integers(1 << 30, 1 << 31, oc).astype(np.int32)
    for k in range(g):  # scales near 1 and above: the bias alone, else all saturate
        w[k][shift[k * ocg : (k + 1) * ocg] > -6] = 0
    # biases aiming each channel at an output between -200 and 200 (both sides of the clamp)
    target = rng.uniform(-200, 200, oc)
    target[:4] = [-37.4, 51.3, -5.5, -77.5]  # shifts 4, 1, 0, -1: negatives round too
    aim = target * 2.0 ** -shift.astype(np.int64) * 2.0**31 / mult
    bias = np.round(aim).astype(np.int32)
    acc = (
        np.concatenate([x[:, k * icg : (k + 1) * icg].astype(np.int64) @ w[k].T.astype(np.int64) for k in range(g)], 1)
        + bias
    )
    assert np.abs(acc * (1 << np.maximum(shift, 0))).max() < 2**31
    ooff, lo, hi = -3, -128, 127
    want = np.array(
        [
            [min(hi, max(lo, mbqm(int(acc[p, o]), int(mult[o]), int(shift[o])) + ooff)) for o in range(oc)]
            for p in range(n)
        ],
        np.int8,
    )
    assert np.unique(want).size > 40 and (want == 127).any() and (want == -128).any()
    # each group stored in the paired layout (kws_nn_pwconv_s8.c, pw_index): output pairs interleaved by fours
    paired = np.concatenate([w[k].reshape(ocg // 2, 2, icg // 4, 4).transpose(0, 2, 1, 3).ravel() for k in range(g)])
    p = Conv(1, n, ic, 1, n, oc, 1, 1, 1, 1, 0, 0, 0, ooff, lo, hi, g)
    for net in (fast, portable):
        out = np.zeros((n, oc), np.int8)
        col = np.zeros(4 * ic, np.int16)
        f = net.lib.kws_nn_pwconv_s8
        f.argtypes = [ctypes.POINTER(Conv)] + [ctypes.c_void_p] * 7
        f.restype = ctypes.c_int
        assert (
            f(
                ctypes.byref(p),
                x.ctypes.data,
                paired.ctypes.data,
                bias.ctypes.data,
                mult.ctypes.data,
                shift.ctypes.data,
                out.ctypes.data,
                col.ctypes.data,
            )
            == 0
        )  # KWS_NN_SUCCESS
        np.testing.assert_array_equal(out, want)


@pytest.mark.skipif(not _compiler_targets_avx2(), reason="the host compiler does not target AVX2")
def test_host_build_runs_the_avx2_kernels(tmp_path, spec):
    """On an AVX2 host the evaluation's build carries the 1x1 kernel's multiply-adds and horizontal
    adds and the portable one no horizontal add: the tests above compared two different paths."""
    _, _, fast, portable = _nets("commands", tmp_path, spec)

    def disasm(lib):
        return subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True).stdout

    fast_asm, port_asm = disasm(tmp_path / "libkws_net.so"), disasm(tmp_path / "libkws_net_portable.so")
    assert "vpmaddwd" in fast_asm and "vphaddd" in fast_asm
    assert "vphaddd" not in port_asm


def test_kernels_state_their_scratch_and_refuse_what_they_cannot_compute(tmp_path, spec):
    """CMSIS-NN's manner: every operator's scratch from a size function (equal to what the generator
    gives each layer of the released network and of the MLPerf Tiny model), and a status: success,
    or an error, nothing written, for parameters a kernel cannot compute."""
    from kws.codegen import stream

    _, _, net, _ = _nets("commands", tmp_path, spec)
    lib = net.lib
    for fn in ("kws_nn_conv_s8_get_buffer_size", "kws_nn_pwconv_s8_get_buffer_size"):
        getattr(lib, fn).argtypes = [ctypes.POINTER(Conv)]
    sized = 0
    for path in (REPO_ROOT / "models" / "commands" / "model.tflite", ANCHOR):
        layers, _, _ = cgm.lower(TFLiteModel.from_bytes(path.read_bytes()), drop_softmax=path == ANCHOR)
        for ly in layers:
            if ly.kind in ("conv2d", "pwconv"):
                p = Conv(*({"groups": 1, **ly.params}[f] for f in stream.FIELDS))
                fn = "kws_nn_conv_s8_get_buffer_size" if ly.kind == "conv2d" else "kws_nn_pwconv_s8_get_buffer_size"
                assert getattr(lib, fn)(ctypes.byref(p)) == 2 * ly.col, (path.name, ly.kind, ly.params)
                sized += 1
    assert sized >= 10
    x, w = np.ones(64 * 9, np.int8), np.ones(64 * 64 * 9, np.int8)
    bias, mult, shift = np.zeros(64, np.int32), np.full(64, 1 << 30, np.int32), np.zeros(64, np.int8)
    col = np.zeros(4096, np.int16)

    def status(fn, p, *, with_col=True):
        out = np.full(64, 77, np.int8)
        f = getattr(lib, fn)
        f.argtypes = [ctypes.POINTER(Conv)] + [ctypes.c_void_p] * (7 if with_col else 6)
        f.restype = ctypes.c_int
        args = [x.ctypes.data, w.ctypes.data, bias.ctypes.data, mult.ctypes.data, shift.ctypes.data, out.ctypes.data]
        st = f(ctypes.byref(p), *args, *([col.ctypes.data] if with_col else []))
        assert st == 0 or np.all(out == 77), fn  # an error writes nothing
        return st

    ok_pw = Conv(1, 1, 64, 1, 1, 64, 1, 1, 1, 1, 0, 0, 0, 0, -128, 127, 1)
    assert status("kws_nn_pwconv_s8", ok_pw) == 0
    assert status("kws_nn_pwconv_s8", Conv(3, 1, 64, 1, 1, 64, 3, 1, 1, 1, 0, 0, 0, 0, -128, 127, 1)) == -1  # rows lost
    assert status("kws_nn_pwconv_s8", Conv(1, 1, 64, 1, 1, 64, 1, 1, 2, 1, 0, 0, 0, 0, -128, 127, 1)) == -2  # stride 2
    assert status("kws_nn_pwconv_s8", Conv(1, 1, 64, 1, 1, 60, 1, 1, 1, 1, 0, 0, 0, 0, -128, 127, 8)) == -1  # 60 % 8
    assert status("kws_nn_conv_s8", Conv(3, 1, 64, 1, 1, 64, 3, 1, 1, 1, 0, 0, 0, 0, -128, 127, 2)) == -2  # groups
    assert (
        status("kws_nn_dwconv_s8", Conv(9, 1, 64, 1, 1, 32, 9, 1, 1, 1, 0, 0, 0, 0, -128, 127, 1), with_col=False) == -2
    )  # multiplier 2
    assert (
        status("kws_nn_dwconv_s8", Conv(9, 1, 64, 1, 1, 64, 9, 1, 1, 1, 0, 0, 0, 0, -128, 127, 1), with_col=False) == 0
    )
    f = lib.kws_nn_pwconv_s8
    f.argtypes = [ctypes.POINTER(Conv)] + [ctypes.c_void_p] * 7
    assert (
        f(
            ctypes.byref(ok_pw),
            x.ctypes.data,
            w.ctypes.data,
            bias.ctypes.data,
            mult.ctypes.data,
            shift.ctypes.data,
            np.zeros(64, np.int8).ctypes.data,
            None,
        )
        == -1
    )  # no scratch
