"""`kws codegen model`: an int8 ``.tflite`` as C — const weights, requantization constants and a
straight-line sequence of kernel calls (firmware/core/kws_nn.h, one operator per file). No interpreter on the device.

Every constant is computed the way TFLM computes it at Prepare time, so the generated network
equals TFLM's reference kernels bit for bit:

- per-channel conv / depthwise / FC: ``QuantizeMultiplier(double(in_scale) * double(w_scale[c])
  / double(out_scale))``;
- per-tensor FC: the scale product is taken in float32 first (``GetQuantizedConvolutionMultipler``);
- ``QuantizeMultiplier``: ``frexp``, round half away from zero at 2^31, flush below 2^-31;
- fused ReLU / ReLU6 bounds: ``zero_point + round(f / scale)`` in float32;
- SAME padding: ``((out - 1) * stride + filter - in) // 2`` before.

Activations live in one caller-owned arena of two ping-pong buffers (RESHAPE is an alias);
the sizes are computed here. Anything the kernels cannot do is refused with the op's index,
name and reason.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kws.codegen.common import c_array, display_path, stamp
from kws.errors import KwsError
from kws.fsio import write_if_changed
from kws.paths import model_generated_dir
from kws.reference.tflite_model import TFLiteModel

GENERATOR = "kws codegen model"
FILES = ("kws_net.h", "kws_det_config.h", "kws_net.c")
ACT_NONE, ACT_RELU, ACT_RELU6 = 0, 1, 3
PAD_SAME, PAD_VALID = 0, 1


class CodegenError(KwsError):
    pass


def quantize_multiplier(d: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: (int32 significand in Q31, shift)."""
    if d == 0.0:
        return 0, 0
    q, shift = math.frexp(d)
    q_fixed = int(math.floor(q * (1 << 31) + 0.5)) if q >= 0 else -int(math.floor(-q * (1 << 31) + 0.5))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return q_fixed, shift


def _round_f32(x: np.float32) -> int:
    """TfLiteRound on a float: half away from zero."""
    x = float(x)
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def activation_range(act: int, scale: float, zp: int, where: str) -> tuple[int, int]:
    def q(f):
        return zp + _round_f32(np.float32(f) / np.float32(scale))

    if act == ACT_NONE:
        return -128, 127
    if act == ACT_RELU:
        return max(-128, q(0.0)), 127
    if act == ACT_RELU6:
        return max(-128, q(0.0)), min(127, q(6.0))
    raise CodegenError(f"{where}: fused activation {act} is not supported (NONE, RELU, RELU6)")


def _padding(padding: int, in_size: int, k: int, stride: int, out_size: int) -> int:
    if padding == PAD_VALID:
        return 0
    return max((out_size - 1) * stride + k - in_size, 0) // 2


@dataclass
class Layer:
    kind: str  # conv2d | dwconv2d | avgpool | fc
    params: dict
    inp: int  # tensor indices
    out: int
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    mult: np.ndarray | None = None
    shift: np.ndarray | None = None
    bias_in: np.ndarray | None = None  # depthwise: bias with the input offset of all taps folded in
    # (the only bias the C kernel takes; border taps: kws_nn_dwconv_s8.c dw_starts)
    col: int = 0  # conv2d: im2col entries (int16) needed


def lower(model: TFLiteModel, *, drop_softmax: bool = False, source: str = "<model>") -> tuple[list[Layer], int, int]:
    """The model as kernel calls: (layers, input tensor, output tensor)."""
    t = model.tensors
    ops = list(model.operators)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise CodegenError(f"{source}: one input and one output are supported")
    out_tensor = model.outputs[0]
    if ops and ops[-1].name == "SOFTMAX" and drop_softmax:
        out_tensor = ops[-1].inputs[0]
        ops = ops[:-1]
    layers: list[Layer] = []
    alias: dict[int, int] = {}
    padded: dict[int, tuple[int, int, int]] = {}  # PAD output -> (its input, rows before, columns before)

    def src(i):
        return alias.get(i, i)

    for n, op in enumerate(ops):
        where = f"{source}: op {n} ({op.name})"
        if op.name == "PAD":
            a, b, pads = t[op.inputs[0]], t[op.outputs[0]], t[op.inputs[1]]
            if pads.data is None or pads.data.size != 8:
                raise CodegenError(f"{where}: paddings must be a constant [4, 2]")
            pd = pads.data.reshape(4, 2).astype(int)
            if pd[0].any() or pd[3].any() or (pd < 0).any():
                raise CodegenError(f"{where}: only non-negative padding of height and width is supported")
            if (
                a.dtype != np.int8
                or a.scale.size != 1
                or float(a.scale[0]) != float(b.scale[0])
                or int(a.zero_point[0]) != int(b.zero_point[0])
            ):
                raise CodegenError(f"{where}: input and output quantization must be equal (padding = zero point)")
            if (
                any(c.inputs[0] == op.outputs[0] and c.name not in ("CONV_2D", "DEPTHWISE_CONV_2D") for c in ops)
                or op.outputs[0] in model.outputs
            ):
                raise CodegenError(
                    f"{where}: padding is supported in front of a convolution only (it is folded "
                    "into the convolution's padding)"
                )
            padded[op.outputs[0]] = (src(op.inputs[0]), int(pd[1, 0]), int(pd[2, 0]))
            continue
        if op.name == "RESHAPE":
            a, b = t[op.inputs[0]], t[op.outputs[0]]
            if int(np.prod(a.shape)) != int(np.prod(b.shape)):
                raise CodegenError(f"{where}: reshape changes the element count")
            alias[op.outputs[0]] = src(op.inputs[0])
            continue
        x, y = t[op.inputs[0]], t[op.outputs[0]]
        for tt, role in ((x, "input"), (y, "output")):
            if tt.dtype != np.int8 or tt.scale.size != 1:
                raise CodegenError(f"{where}: {role} must be per-tensor int8, is {np.dtype(tt.dtype).name}")
        in_zp, out_zp = int(x.zero_point[0]), int(y.zero_point[0])
        in_s, out_s = np.float32(x.scale[0]), np.float32(y.scale[0])
        act = int(op.options.get("fusedActivationFunction", 0))
        amin, amax = activation_range(act, float(out_s), out_zp, where)
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w, b = t[op.inputs[1]], (t[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None)
            if w.data is None or w.dtype != np.int8 or np.any(w.zero_point != 0):
                raise CodegenError(f"{where}: weights must be constant symmetric int8")
            if op.options.get("dilationHFactor", 1) != 1 or op.options.get("dilationWFactor", 1) != 1:
                raise CodegenError(f"{where}: dilation is not supported")
            _, ih, iw, ic = x.shape
            _, oh, ow, oc = y.shape
            pre_h = pre_w = 0
            in_index = src(op.inputs[0])
            if op.inputs[0] in padded:  # PAD folded in: the kernel skips taps outside the input
                in_index, pre_h, pre_w = padded[op.inputs[0]]
                x0 = t[in_index]
                _, ih, iw, _ = x0.shape
            if op.name == "CONV_2D":
                kh, kw = w.shape[1], w.shape[2]
                wdata = w.data.reshape(oc, kh, kw, ic)
            else:
                kh, kw = w.shape[1], w.shape[2]
                if int(op.options.get("depthMultiplier", 1)) != 1 or oc != ic:
                    raise CodegenError(f"{where}: depth multiplier must be 1")
                wdata = w.data.reshape(kh, kw, oc)
            if w.scale.size not in (1, oc):
                raise CodegenError(f"{where}: {w.scale.size} weight scales for {oc} channels")
            scales = np.broadcast_to(w.scale, (oc,))
            mults = [quantize_multiplier(float(in_s) * float(np.float32(s)) / float(out_s)) for s in scales]
            sh, sw = int(op.options["strideH"]), int(op.options["strideW"])
            pad = int(op.options["padding"])
            if (pre_h or pre_w) and pad != PAD_VALID:
                raise CodegenError(f"{where}: an explicit PAD in front of SAME padding is not supported")
            params = dict(
                in_h=ih,
                in_w=iw,
                in_c=ic,
                out_h=oh,
                out_w=ow,
                out_c=oc,
                k_h=kh,
                k_w=kw,
                stride_h=sh,
                stride_w=sw,
                pad_h=pre_h + _padding(pad, ih, kh, sh, oh),
                pad_w=pre_w + _padding(pad, iw, kw, sw, ow),
                in_offset=-in_zp,
                out_offset=out_zp,
                act_min=amin,
                act_max=amax,
            )
            kind = "conv2d" if op.name == "CONV_2D" else "dwconv2d"
            bias = _bias(b, oc, where)
            if kind == "conv2d" and kh == kw == 1 and sh == sw == 1 and params["pad_h"] == params["pad_w"] == 0:
                # 1x1: fold the input offset into the bias (exact: no padding, every tap present)
                kind = "pwconv"
                base = bias if bias is not None else np.zeros(oc, np.int64)
                bias = base + (-in_zp) * wdata.reshape(oc, ic).astype(np.int64).sum(axis=1)
                if np.abs(bias).max() >= 1 << 31:
                    raise CodegenError(f"{where}: folded bias overflows int32")
                g = pw_groups(wdata.reshape(oc, ic))
                params["groups"] = g
                wdata = np.concatenate(
                    [
                        _pw_layout(
                            wdata.reshape(oc, ic)[
                                k * (oc // g) : (k + 1) * (oc // g), k * (ic // g) : (k + 1) * (ic // g)
                            ]
                        )
                        for k in range(g)
                    ]
                )
            ly = Layer(
                kind,
                params,
                in_index,
                op.outputs[0],
                wdata.ravel(),
                bias,
                np.array([m for m, _ in mults], np.int64),
                np.array([s for _, s in mults], np.int64),
            )
            if kind == "dwconv2d":
                base = bias if bias is not None else np.zeros(oc, np.int64)
                ly.bias_in = base + (-in_zp) * wdata.reshape(kh * kw, oc).astype(np.int64).sum(axis=0)
                if np.abs(ly.bias_in).max() >= 1 << 31:
                    raise CodegenError(f"{where}: folded bias overflows int32")
            if kind == "conv2d":
                ly.col = 2 * ((kh * kw * ic + 3) & ~3)  # two im2col columns (positions in pairs)
            elif kind == "pwconv":
                ly.col = 2 * ((ic // params["groups"] + 3) & ~3)
            layers.append(ly)
        elif op.name == "AVERAGE_POOL_2D":
            if in_zp != out_zp or in_s != out_s:
                raise CodegenError(f"{where}: input and output quantization must be equal")
            _, ih, iw, ic = x.shape
            _, oh, ow, oc = y.shape
            kh, kw = int(op.options["filterHeight"]), int(op.options["filterWidth"])
            sh, sw = int(op.options["strideH"]), int(op.options["strideW"])
            pad = int(op.options["padding"])
            params = dict(
                in_h=ih,
                in_w=iw,
                in_c=ic,
                out_h=oh,
                out_w=ow,
                out_c=oc,
                k_h=kh,
                k_w=kw,
                stride_h=sh,
                stride_w=sw,
                pad_h=_padding(pad, ih, kh, sh, oh),
                pad_w=_padding(pad, iw, kw, sw, ow),
                in_offset=0,
                out_offset=0,
                act_min=amin,
                act_max=amax,
            )
            layers.append(Layer("avgpool", params, src(op.inputs[0]), op.outputs[0]))
        elif op.name == "FULLY_CONNECTED":
            w, b = t[op.inputs[1]], (t[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None)
            if w.data is None or w.dtype != np.int8 or np.any(w.zero_point != 0):
                raise CodegenError(f"{where}: weights must be constant symmetric int8")
            od, depth = w.shape
            if int(np.prod(x.shape)) != depth:
                raise CodegenError(f"{where}: input has {int(np.prod(x.shape))} values, weights expect {depth}")
            if w.scale.size > 1:
                mults = [quantize_multiplier(float(in_s) * float(np.float32(s)) / float(out_s)) for s in w.scale]
            else:
                mults = [quantize_multiplier(float(np.float32(in_s * np.float32(w.scale[0]))) / float(out_s))]
            params = dict(
                in_depth=depth,
                out_depth=od,
                in_offset=-in_zp,
                out_offset=out_zp,
                act_min=amin,
                act_max=amax,
                per_channel=int(w.scale.size > 1),
            )
            layers.append(
                Layer(
                    "fc",
                    params,
                    src(op.inputs[0]),
                    op.outputs[0],
                    w.data.ravel(),
                    _bias(b, od, where),
                    np.array([m for m, _ in mults], np.int64),
                    np.array([s for _, s in mults], np.int64),
                )
            )
        else:
            raise CodegenError(
                f"{where}: not supported by the C generator (supported: CONV_2D, DEPTHWISE_CONV_2D, PAD, "
                "AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED"
                + ("; SOFTMAX only last, dropped on request" if op.name == "SOFTMAX" else "")
                + ")"
            )
    if not layers:
        raise CodegenError(f"{source}: no computing layer")
    _check_multipliers(layers, source)
    return layers, model.inputs[0], src(out_tensor)


def pw_groups(w: np.ndarray) -> int:
    """The most groups G for which the [out, in] weights of a 1x1 convolution are block-diagonal
    (G blocks of out/G x in/G, zeros elsewhere) and each block keeps the paired layout (in/G a
    multiple of 4, out/G even): a merged ensemble (kws.train.ensemble). 1 for a dense one."""
    oc, ic = w.shape
    for g in range(min(oc // 2, ic // 4), 1, -1):
        if oc % g or ic % g or (ic // g) % 4 or (oc // g) % 2:
            continue
        mask = np.kron(np.eye(g, dtype=bool), np.ones((oc // g, ic // g), dtype=bool))
        if not w[~mask].any():
            return g
    return 1


def _pw_layout(w: np.ndarray) -> np.ndarray:
    """One group's [out, in] weights as kws_nn_pwconv_s8 reads them: pair-interleaved ([out/2][in/4]
    [2][4]) when in % 4 == 0 and out is even, else as they are."""
    oc, ic = w.shape
    if ic % 4 == 0 and oc % 2 == 0:
        return w.reshape(oc // 2, 2, ic // 4, 4).transpose(0, 2, 1, 3).ravel()
    return w.ravel()


def _check_multipliers(layers: list[Layer], source: str) -> None:
    """The kernels rely on 0 <= multiplier < 2^31 (TFLM's QuantizeMultiplier of a positive scale)."""
    for i, ly in enumerate(layers):
        if ly.mult is not None and (ly.mult.min() < 0 or ly.mult.max() >= 1 << 31):
            raise CodegenError(f"{source}: layer {i} has a requantization multiplier outside [0, 2^31)")


def _bias(b, n: int, where: str) -> np.ndarray | None:
    if b is None:
        return None
    if b.dtype != np.int32 or b.data is None or b.data.size != n:
        raise CodegenError(f"{where}: bias must be {n} constant int32 values")
    return b.data.astype(np.int64)


def _detector_defs(spec, labels, out_scale: float, thresholds=None) -> tuple[list, str]:
    """Detector constants and tables (kws.reference.detector is their Python twin); ``thresholds``: the
    model's calibrated per-keyword thresholds, if any."""
    from kws.reference.detector import class_thresholds_q, detector_hash32, exp_lut, exp_lut_len, refractory_runs

    d = spec.detector
    lut = exp_lut(out_scale, d.posterior_frac_bits)
    lut = lut[: exp_lut_len(lut)]  # the rest is 0, which the detector reads past its end
    thr = class_thresholds_q(d, labels, thresholds)
    defs = [
        ("KWS_DET_STRIDE_FRAMES", d.stride_frames, "network every N hops"),
        ("KWS_DET_SMOOTH", d.smooth_windows, "posterior smoothing window (network runs)"),
        (
            "KWS_DET_REFRACTORY",
            refractory_runs(d, spec.frontend.hop_samples, spec.frontend.sample_rate_hz),
            "runs without events after one",
        ),
        ("KWS_DET_FRAC", d.posterior_frac_bits, "posterior format Q(FRAC)"),
        ("KWS_DET_FIRST_KEYWORD", 2, "classes 0, 1: silence, unknown"),
        ("KWS_DET_EXP_LEN", len(lut), "kws_det_exp_lut entries; 0 past them"),
        (
            "KWS_DET_HASH32",
            f"0x{detector_hash32(d, thresholds):08x}u",
            "detector spec hash" + (" with the calibrated thresholds" if thresholds else ""),
        ),
    ]
    names = ", ".join(f'"{lab}"' for lab in labels)
    body = (
        "/* Detector tables (kws.reference.detector computes the same). */\n"
        + c_array("uint16_t", "kws_det_exp_lut", lut, per_line=12)
        + c_array("uint16_t", "kws_det_threshold", thr, per_line=12)
        + f"const char *const kws_det_labels[{len(labels)}] = {{{names}}};\n\n"
    )
    return defs, body


def render(
    blob: bytes,
    *,
    frontend_hash32: int,
    name: str = "model",
    source: str = "<model>",
    drop_softmax: bool = False,
    spec=None,
    labels=None,
    thresholds=None,
    stride_frames: int | None = None,
) -> dict[str, str]:
    """File name -> text of kws_net.h and kws_net.c for an int8 TFLite model. With ``spec`` and
    ``labels``, the detector's tables (posterior LUT, thresholds, labels) come along;
    ``thresholds`` are the model manifest's calibrated ones (default: the spec's).
    ``stride_frames``: the streaming form serves windows only every that many frames (default:
    the spec's detector stride when ``spec`` is given; else every window the network allows)."""
    model = TFLiteModel.from_bytes(blob, source)
    layers, tin, tout = lower(model, drop_softmax=drop_softmax, source=source)
    t = model.tensors
    x, y = t[tin], t[tout]
    if len(x.shape) != 4 or x.shape[0] != 1:
        raise CodegenError(f"{source}: input must be [1, H, W, C], is {list(x.shape)}")
    model_hash = hashlib.sha256(blob).hexdigest()
    inter = [t[ly.out].nbytes for ly in layers[:-1]]
    buf = max(inter) if inter else 0
    buf = (buf + 3) & ~3
    col = max(ly.col for ly in layers)
    head = stamp(
        GENERATOR,
        [
            ("model", f"{display_path(source)} sha256 {model_hash}"),
            ("front end sha256 (first 32 bits)", f"{frontend_hash32:08x}"),
        ],
    )
    defs = [
        ("KWS_NET_MODEL_HASH32", f"0x{model_hash[:8]}u", "first 32 bits of the model's sha256 (handshake)"),
        ("KWS_NET_FRONTEND_HASH32", f"0x{frontend_hash32:08x}u", "front end the model was trained for"),
        ("KWS_NET_INPUT_FRAMES", x.shape[1], "input rows (frames)"),
        ("KWS_NET_INPUT_COLS", x.shape[2], "input columns (cepstra)"),
        ("KWS_NET_INPUT_BYTES", int(np.prod(x.shape)), "int8 input size"),
        ("KWS_NET_OUTPUT_SIZE", int(np.prod(y.shape)), "int8 outputs (classes)"),
        ("KWS_NET_OUTPUT_ZERO_POINT", int(y.zero_point[0]), f"output scale {float(y.scale[0]):.9g}"),
        ("KWS_NET_BUFFER_BYTES", buf, "one ping-pong activation buffer"),
        ("KWS_NET_COL_ENTRIES", col, "im2col scratch (int16) after the two buffers"),
        ("KWS_NET_ARENA_BYTES", 2 * buf + 2 * col, "caller-owned arena: two buffers + im2col, 4-byte aligned"),
        ("KWS_NET_LAYERS", len(layers), "kernel calls per inference: " + " ".join(ly.kind for ly in layers)),
    ]
    det_body = ""
    det_h = (
        head + "#ifndef KWS_DET_CONFIG_H\n#define KWS_DET_CONFIG_H\n\n"
        '#error "this network was generated without labels: no detector tables (kws codegen model on a '
        'released model or a training directory)"\n\n#endif /* KWS_DET_CONFIG_H */\n'
    )
    if spec is not None and labels is not None:
        if len(labels) != int(np.prod(y.shape)):
            raise CodegenError(f"{source}: {len(labels)} labels for {int(np.prod(y.shape))} outputs")
        ddefs, det_body = _detector_defs(spec, labels, float(y.scale[0]), thresholds)
        dw = max(len(d[0]) for d in ddefs)
        det_h = (
            head + "/* The streaming detector's settings and tables for this network (kws_detector.c). */\n"
            '#ifndef KWS_DET_CONFIG_H\n#define KWS_DET_CONFIG_H\n\n#include <stdint.h>\n\n#include "kws_net.h"\n\n'
            + "\n".join(f"#define {n:<{dw}} {v}  /* {c} */" for n, v, c in ddefs)
            + "\n\n"
            "extern const uint16_t kws_det_exp_lut[KWS_DET_EXP_LEN];  /* round(exp(-d * output_scale) * 2^FRAC) */\n"
            "extern const uint16_t kws_det_threshold[KWS_NET_OUTPUT_SIZE];  /* per class, Q(FRAC) */\n"
            "extern const char *const kws_det_labels[KWS_NET_OUTPUT_SIZE];\n\n#endif /* KWS_DET_CONFIG_H */\n"
        )
    from kws.codegen import stream

    if stride_frames is None and spec is not None:
        stride_frames = spec.detector.stride_frames
    stream_plan = stream.plan(layers, tin, stride_frames)
    stream_header = ""
    if stream_plan is not None:
        sdefs, stream_header = stream.header(layers, stream_plan)
        defs += sdefs
    else:
        defs.append(("KWS_NET_STREAMING", 0, "not streamable (padding along time): kws_net_run on every window"))
    w = max(len(d[0]) for d in defs)
    h = (
        head
        + '#ifndef KWS_NET_H\n#define KWS_NET_H\n\n#include <stdint.h>\n\n#include "kws_nn.h"\n\n'
        + "\n".join(f"#define {n:<{w}} {v}  /* {c} */" for n, v, c in defs)
        + "\n\n/* One inference: input int8[KWS_NET_INPUT_BYTES] (the front end's features, row per frame),\n"
        " * output int8[KWS_NET_OUTPUT_SIZE] (logits), arena int8[KWS_NET_ARENA_BYTES] (scratch,\n"
        " * 4-byte aligned). KWS_NN_SUCCESS, or the first kernel's error (kws_nn.h). */\n"
        "kws_nn_status kws_net_run(const int8_t *input, int8_t *output, int8_t *arena);\n\n"
        + stream_header
        + "#endif /* KWS_NET_H */\n"
    )

    body = [
        head,
        '#include "kws_net.h"\n\n' + ('#include "kws_det_config.h"\n' if det_body else "") + '#include "kws_nn.h"\n\n'
        "#if defined(__GNUC__)\n#define KWS_ALIGN(n) __attribute__((aligned(n)))\n#else\n"
        "#define KWS_ALIGN(n)\n#endif\n\n"
        "/* Per-layer timing hook for benchmarks; compiled out unless defined. */\n"
        "#ifndef KWS_NET_PROFILE\n#define KWS_NET_PROFILE(layer) ((void)0)\n#else\n"
        "void KWS_NET_PROFILE(int layer);\n#endif\n\n",
    ]
    calls = []
    where = {tin: "input"}
    layer_args = []
    for i, ly in enumerate(layers):
        p = f"L{i}"
        if ly.kind == "fc":
            fields = ["in_depth", "out_depth", "in_offset", "out_offset", "act_min", "act_max", "per_channel"]
            body.append(f"static const kws_nn_fc_t {p} = {{{', '.join(str(ly.params[f]) for f in fields)}}};\n")
        else:
            body.append(
                f"static const kws_nn_conv_t {p} = "
                f"{{{', '.join(str({'groups': 1, **ly.params}[f]) for f in stream.FIELDS)}}};\n"
            )
        args = []
        if ly.weights is not None:
            body.append("static " + c_array("int8_t", f"{p}_w", ly.weights, per_line=16, align=4))
            if ly.bias_in is not None:  # depthwise: only the folded bias (kws_nn_dwconv_s8.c dw_starts)
                body.append("static " + c_array("int32_t", f"{p}_bi", ly.bias_in, per_line=8))
                args = [f"{p}_w", f"{p}_bi"]
            else:
                if ly.bias is not None:
                    body.append("static " + c_array("int32_t", f"{p}_b", ly.bias, per_line=8))
                args = [f"{p}_w", f"{p}_b" if ly.bias is not None else "0"]
            body.append("static " + c_array("int32_t", f"{p}_m", ly.mult, per_line=6))
            body.append("static " + c_array("int8_t", f"{p}_s", ly.shift, per_line=16))
            args += [f"{p}_m", f"{p}_s"]
        layer_args.append(args)
        body.append("\n")

    def call(i: int, src_expr: str, dst_expr: str, pname: str) -> str:
        ly = layers[i]
        fn = {
            "conv2d": "kws_nn_conv_s8",
            "pwconv": "kws_nn_pwconv_s8",
            "dwconv2d": "kws_nn_dwconv_s8",
            "avgpool": "kws_nn_avgpool_s8",
            "fc": "kws_nn_fc_s8",
        }[ly.kind]
        extra = ["col"] if ly.kind in ("conv2d", "pwconv") else []
        return (
            f"    KWS_NN_TRY({fn}(&{pname}, {', '.join([src_expr, *layer_args[i], dst_expr, *extra])}));\n"
            f"    KWS_NET_PROFILE({i});"
        )

    for i, ly in enumerate(layers):
        dst_expr = "output" if i == len(layers) - 1 else ("a" if i % 2 == 0 else "b")
        calls.append(call(i, where[ly.inp], dst_expr, f"L{i}"))
        where[ly.out] = dst_expr
    body.append(det_body)
    body.append(
        "kws_nn_status kws_net_run(const int8_t *input, int8_t *output, int8_t *arena)\n{\n"
        "    int8_t *a = arena;\n    int8_t *b = arena + KWS_NET_BUFFER_BYTES;\n"
        "    int16_t *col = (int16_t *)(void *)(arena + 2 * KWS_NET_BUFFER_BYTES);\n"
        "    (void)a;\n    (void)b;\n    (void)col;\n" + "\n".join(calls) + "\n    return KWS_NN_SUCCESS;\n}\n"
    )
    if stream_plan is not None:
        body.append("\n" + stream.body(layers, stream_plan, call))
    return {"kws_net.h": h, "kws_det_config.h": det_h, "kws_net.c": "".join(body)}


def generate(blob: bytes, out_dir: str | Path | None = None, **kw) -> list[Path]:
    """Writes the network's C into ``out_dir`` (default: the default model's folder,
    firmware/generated/commands/); returns the files that changed."""
    out_dir = Path(out_dir) if out_dir is not None else model_generated_dir()
    changed = []
    for fname, text in render(blob, **kw).items():
        if write_if_changed(out_dir / fname, text):
            changed.append(out_dir / fname)
    return changed
