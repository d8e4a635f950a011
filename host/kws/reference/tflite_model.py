"""A plain, read-only view of a ``.tflite`` flatbuffer: tensors (shape, dtype, quantization,
constant data) and operators (name, inputs, outputs, options). Parsed with the schema
bindings TensorFlow ships; used by the budget and by the C generator."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kws.errors import KwsError

_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: type
    data: np.ndarray | None
    scale: np.ndarray
    zero_point: np.ndarray
    quantized_dimension: int

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize


@dataclass
class Operator:
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict = field(default_factory=dict)


@dataclass
class TFLiteModel:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]

    @classmethod
    def from_bytes(cls, blob: bytes, source: str = "<model>") -> TFLiteModel:
        from tensorflow.lite.python import schema_py_generated as fb

        try:
            m = fb.ModelT.InitFromPackedBuf(blob, 0)
        except Exception as e:  # noqa: BLE001 - flatbuffers raises assorted errors on garbage
            raise KwsError(f"{source}: not a TFLite flatbuffer ({e})") from e
        if not m.subgraphs or len(m.subgraphs) != 1:
            raise KwsError(f"{source}: exactly one subgraph is supported, found {len(m.subgraphs or [])}")
        names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
        g = m.subgraphs[0]
        tensors = []
        for i, t in enumerate(g.tensors):
            if t.type not in _DTYPES:
                raise KwsError(f"{source}: tensor {i} has unsupported type {t.type}")
            dtype = _DTYPES[t.type]
            buf = m.buffers[t.buffer].data if t.buffer < len(m.buffers) else None
            data = None
            if buf is not None and len(buf):
                data = np.frombuffer(bytes(bytearray(buf)), dtype=dtype).reshape(tuple(t.shape))
            q = t.quantization
            scale = np.asarray(q.scale if q is not None and q.scale is not None else [], dtype=np.float32)
            zp = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [], dtype=np.int64)
            qd = int(q.quantizedDimension) if q is not None else 0
            name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
            tensors.append(Tensor(i, name, tuple(int(s) for s in t.shape), dtype, data, scale, zp, qd))
        ops = []
        for o in g.operators:
            code = m.operatorCodes[o.opcodeIndex]
            b = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
            opts = {k: v for k, v in vars(o.builtinOptions).items()} if o.builtinOptions is not None else {}
            ops.append(
                Operator(names.get(b, f"BUILTIN_{b}"), [int(i) for i in o.inputs], [int(i) for i in o.outputs], opts)
            )
        return cls(tensors, ops, [int(i) for i in g.inputs], [int(i) for i in g.outputs])
