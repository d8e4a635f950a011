"""The streaming form of a generated network: each row (time step) of every layer computed once.

A network is streamable when it starts with a chain of convolutions (conv2d, depthwise, 1x1)
without padding along time, followed by an average pool over all remaining rows. Then output
row j of a layer depends only on its input rows j*stride .. j*stride + k - 1, so rows shared by
overlapping windows are equal, and a device that keeps the recent rows of each layer computes
per new frame only what the new frame completes. The last layer's rows go (as sums) to a ring of
exactly the pool's height; at a window end the pool and the layers after it run on that ring. Every
row is computed by the same kernel call on the same inputs as in the whole-window network
(``kws_net_run``), so the logits are equal bit for bit — tests hold them to TFLM.

Inputs of layers with more than one row of kernel live in shift buffers of exactly K rows, the
oldest first: a new row moves the others up by one (for K = 3 as many bytes as a double ring
writes, in half its RAM), so the kernels read the last K rows in place. The pool keeps only the
per-channel sums of each of its rows (int16), not the rows: the average over the window is the
same sum taken in another order, equal bit for bit. The window must start on a multiple of ``KWS_NET_STREAM_STEP`` frames after reset (the
product of the time strides); the detector's stride is checked against it at compile time.
"""

from __future__ import annotations

from dataclasses import dataclass

ROW_KINDS = ("conv2d", "dwconv2d", "pwconv")
FIELDS = [
    "in_h",
    "in_w",
    "in_c",
    "out_h",
    "out_w",
    "out_c",
    "k_h",
    "k_w",
    "stride_h",
    "stride_w",
    "pad_h",
    "pad_w",
    "in_offset",
    "out_offset",
    "act_min",
    "act_max",
    "groups",
]  # kws_nn_conv_t, in order


@dataclass
class Plan:
    rows: int  # row layers at the front
    step: int  # frames between rows of the last row layer
    pool_rows: int  # rows the pool averages (the last row layer's rows per window)
    group: int = 1  # rows summed per window stride: windows are served every `group` rows only

    @property
    def tail(self) -> int:
        """Rows of the window's oldest, partial group (0 when the pool's rows divide into groups)."""
        return self.pool_rows % self.group

    @property
    def pool_entries(self) -> int:
        """Entries of the pool's ring: one per group of rows, or, when the rows do not divide into
        groups, two per group — its first group - tail rows and its last tail rows —, of which the
        window takes its q full groups and the tail of the group before them: 2q + 1."""
        q = self.pool_rows // self.group
        return q if self.tail == 0 else 2 * q + 1

    @property
    def pool_period(self) -> int:
        """Rows after which the ring's indexing repeats (the row counter wraps by this much)."""
        return self.group * self.pool_entries


def plan(layers, tin: int, stride_frames: int | None = None) -> Plan | None:
    """The streaming plan, or None when the network is not streamable (it then runs whole).
    ``stride_frames``: the detector's stride, when logits are needed only every that many frames
    (the firmware): the pool then keeps one entry per window stride instead of one per row (a
    quarter of the memory at stride 4 and time stride 1), where the sums stay exact in int16; when
    its rows do not divide into groups (15 rows, groups of 4), two entries per group (3 + 1 and
    3 rows: 7 entries instead of 15)."""
    n = 0
    while n < len(layers) and layers[n].kind in ROW_KINDS and layers[n].params["pad_h"] == 0:
        n += 1
    if n == 0 or n >= len(layers) or layers[0].inp != tin:
        return None
    pool = layers[n]
    if (
        pool.kind != "avgpool"
        or pool.params["k_h"] != pool.params["in_h"]
        or pool.params["out_h"] != 1
        or pool.params["pad_h"] != 0
    ):
        return None
    if any(layers[i].inp != layers[i - 1].out for i in range(1, n + 1)):
        return None
    step = 1
    for ly in layers[:n]:
        step *= ly.params["stride_h"]
    rows = pool.params["in_h"]
    group = 1
    if stride_frames and stride_frames % step == 0:
        g = stride_frames // step
        if g * pool.params["in_w"] * 128 <= 32768:
            group = g
    return Plan(n, step, rows, group)


def _row_params(ly) -> dict:
    p = {"groups": 1, **ly.params}
    p["in_h"], p["out_h"] = p["k_h"], 1
    return p


def _sizes(layers, pl: Plan):
    row_bytes = [ly.params["out_w"] * ly.params["out_c"] for ly in layers[: pl.rows]]
    in_bytes = [ly.params["in_w"] * ly.params["in_c"] for ly in layers[: pl.rows]]
    outs = [
        ly.params["out_depth"] if ly.kind == "fc" else ly.params["out_w"] * ly.params["out_c"] * ly.params["out_h"]
        for ly in layers[pl.rows :]
    ]
    row_max = (max(row_bytes + outs) + 3) & ~3
    col = max([ly.col for ly in layers] + [0])
    return row_bytes, in_bytes, row_max, col


def ram_bytes(layers, pl: Plan) -> tuple[int, int]:
    """(state, scratch) bytes of the streaming form: kws_net_stream_t and the caller's scratch."""
    row_bytes, in_bytes, row_max, col = _sizes(layers, pl)
    rings = sum(layers[i].params["k_h"] * in_bytes[i] for i in range(pl.rows) if layers[i].params["k_h"] > 1)
    pool = 2 * pl.pool_entries * layers[pl.rows - 1].params["out_c"]
    return rings + pool + 4 * (pl.rows + 1), 2 * row_max + 2 * col


def header(layers, pl: Plan) -> tuple[list, str]:
    """(defines, declarations) of the streaming API for kws_net.h."""
    row_bytes, in_bytes, row_max, col = _sizes(layers, pl)
    rings = [i for i in range(pl.rows) if layers[i].params["k_h"] > 1]
    fields = []
    for i in rings:
        k = layers[i].params["k_h"]
        fields.append(f"    int8_t in{i}[{k * in_bytes[i]}];   /* layer {i} input: its last {k} rows, oldest first */")
    c = layers[pl.rows - 1].params["out_c"]
    per = (
        f"{pl.group} row(s) per entry"
        if pl.tail == 0
        else f"{pl.group - pl.tail} and {pl.tail} rows per entry (groups of {pl.group} ending where windows do)"
    )
    fields.append(
        f"    int16_t pool[{pl.pool_entries * c}];   /* per-channel sums of the last {pl.pool_rows} rows of "
        f"layer {pl.rows - 1}, {per}, ring */"
    )
    fields.append(f"    uint32_t n[{pl.rows + 1}];   /* rows received per layer input; [last]: pool rows */")
    defs = [
        ("KWS_NET_STREAMING", 1, "the network can be streamed (kws_net_stream_*)"),
        ("KWS_NET_STREAM_STEP", pl.step * pl.group, "frames between window starts the stream can serve"),
        ("KWS_NET_STREAM_SCRATCH_BYTES", 2 * row_max + 2 * col, "caller-owned scratch, 4-byte aligned"),
    ]
    text = (
        "/* Streaming (codegen/stream.py): push every feature frame; after at least KWS_NET_INPUT_FRAMES\n"
        " * frames, whenever (frames - KWS_NET_INPUT_FRAMES) % KWS_NET_STREAM_STEP == 0,\n"
        " * kws_net_stream_logits equals kws_net_run on the last KWS_NET_INPUT_FRAMES frames. */\n"
        "typedef struct {\n" + "\n".join(fields) + "\n} kws_net_stream_t;\n\n"
        "void kws_net_stream_reset(kws_net_stream_t *s);\n"
        "kws_nn_status kws_net_stream_push(kws_net_stream_t *s, const int8_t *frame, int8_t *scratch);\n"
        "kws_nn_status kws_net_stream_logits(const kws_net_stream_t *s, int8_t *output, int8_t *scratch);\n\n"
    )
    return defs, text


def body(layers, pl: Plan, emit_call) -> str:
    """The C of the streaming API. ``emit_call(i, src, dst, params_name)`` gives the kernel call
    of layer i (the whole-window generator's, so both use one form)."""
    row_bytes, in_bytes, row_max, col = _sizes(layers, pl)
    body = ["/* ---- streaming form ---- */\n"]
    for i in range(pl.rows):
        p = _row_params(layers[i])
        body.append(
            f"static const kws_nn_conv_t R{i} = {{{', '.join(str(p[f]) for f in FIELDS)}}};  "
            f"/* layer {i}, one output row */\n"
        )
    body.append(
        "\n/* Appends a row to a buffer of the last k rows, oldest first. Copies forward, to lower\n"
        " * addresses: every word is read before anything at or above it is written. */\n"
        "static void shift_put(int8_t *buf, uint32_t k, uint32_t bytes, const int8_t *row)\n{\n"
        "    const uint32_t keep = (k - 1u) * bytes;\n    uint32_t i = 0;\n"
        "    for (; i + 4u <= keep; i += 4u) {   /* words (unaligned access is allowed) */\n"
        "        uint32_t v;\n        __builtin_memcpy(&v, buf + bytes + i, 4);\n"
        "        __builtin_memcpy(buf + i, &v, 4);\n    }\n"
        "    for (; i < keep; i++) {\n        buf[i] = buf[bytes + i];\n    }\n"
        "    for (i = 0; i < bytes; i++) {\n        buf[keep + i] = row[i];\n    }\n}\n\n"
        "void kws_net_stream_reset(kws_net_stream_t *s)\n{\n"
        f"    for (unsigned i = 0; i < {pl.rows + 1}u; i++) {{\n        s->n[i] = 0;\n    }}\n}}\n\n"
    )
    lines = [
        "kws_nn_status kws_net_stream_push(kws_net_stream_t *s, const int8_t *frame, int8_t *scratch)\n{",
        f"    int8_t *a = scratch;\n    int8_t *b = scratch + {row_max};",
        f"    int16_t *col = (int16_t *)(void *)(scratch + {2 * row_max});",
        "    const int8_t *row = frame;\n    (void)a;\n    (void)b;\n    (void)col;",
    ]
    for i in range(pl.rows):
        ly = layers[i]
        k, st = ly.params["k_h"], ly.params["stride_h"]
        dst = "a" if i % 2 == 0 else "b"
        if k > 1:
            lines += [
                f"    shift_put(s->in{i}, {k}u, {in_bytes[i]}u, row);",
                f"    if (++s->n[{i}] >= {2 * k * st}u) {{\n        s->n[{i}] -= {k * st}u;   /* keeps n mod {k} and "
                f"(n - {k}) mod {st}: never wraps */\n    }}",
                f"    if (s->n[{i}] < {k}u || (s->n[{i}] - {k}u) % {st}u != 0) {{\n        return KWS_NN_SUCCESS;\n    }}",
                f"    row = s->in{i};",
            ]
        else:
            lines += (
                [
                    f"    if (s->n[{i}]++ % {st}u != 0) {{\n        return KWS_NN_SUCCESS;\n    }}",
                    f"    s->n[{i}] %= {st}u;",
                ]
                if st > 1
                else []
            )
        lines.append(emit_call(i, "row", dst, f"R{i}"))
        lines.append(f"    row = {dst};")
    last = layers[pl.rows - 1].params
    n = f"s->n[{pl.rows}]"
    w, c, e, g = last["out_w"], last["out_c"], pl.pool_entries, pl.group
    if pl.tail:
        # groups end where windows end (row counts = tail mod g); each splits into its first g - tail
        # rows and its last tail rows, the latter the oldest part of the window g rows later
        h = g - pl.tail
        lines += [
            f"    const uint32_t pos = ({n} + {h}u) % {g}u;   /* row in its group */",
            f"    const uint32_t part = 2u * (({n} + {h}u) / {g}u) + (pos >= {h}u ? 1u : 0u);",
            f"    kws_nn_avgpool_row_sums_s8(row, {w}, {c}, s->pool + (part % {e}u) * {c}u, pos != 0u && pos != {h}u);",
        ]
    elif g > 1:
        lines.append(
            f"    kws_nn_avgpool_row_sums_s8(row, {w}, {c}, s->pool + ({n} / {g}u % {e}u) * {c}u, {n} % {g}u != 0);"
        )
    else:
        lines.append(f"    kws_nn_avgpool_row_sums_s8(row, {w}, {c}, s->pool + ({n} % {e}u) * {c}u, 0);")
    lines += [
        f"    if (++s->n[{pl.rows}] >= {2 * pl.pool_period}u) {{\n        s->n[{pl.rows}] -= {pl.pool_period}u;\n    }}",
        "    return KWS_NN_SUCCESS;\n}\n",
    ]
    body.append("\n".join(lines) + "\n")
    lines = [
        "kws_nn_status kws_net_stream_logits(const kws_net_stream_t *s, int8_t *output, int8_t *scratch)\n{",
        f"    int8_t *a = scratch;\n    int8_t *b = scratch + {row_max};",
        f"    int16_t *col = (int16_t *)(void *)(scratch + {2 * row_max});",
        "    (void)a;\n    (void)b;\n    (void)col;",
    ]
    dst = "output" if pl.rows == len(layers) - 1 else "a"
    lines += [
        f"    KWS_NN_TRY(kws_nn_avgpool_sums_s8(&L{pl.rows}, s->pool, {pl.pool_entries}, {dst}));",
        f"    KWS_NET_PROFILE({pl.rows});",
    ]
    src = dst
    for i in range(pl.rows + 1, len(layers)):
        dst = "output" if i == len(layers) - 1 else ("a" if (i - pl.rows) % 2 == 0 else "b")
        lines.append(emit_call(i, src, dst, f"L{i}"))
        src = dst
    body.append("\n".join(lines) + "\n    return KWS_NN_SUCCESS;\n}\n")
    return "".join(body)
