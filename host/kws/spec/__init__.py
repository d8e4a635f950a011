"""The versioned spec: load, validate and hash.

The spec file (``default.toml`` beside this module, or one the user names) is the only
place a DSP constant or fixed-point format is written. Everything else derives from the
frozen dataclasses returned by :func:`load_spec`.

The identity of a front end is :attr:`FrontendSpec.hash`: sha256 over the canonical JSON
of the normalized ``[frontend]`` table together with the integer algorithm's identifier
(:data:`kws.frontend.tables.ALGORITHM`). Comments, key order and ``20`` vs ``20.0`` do not
change it; any change of value, or of the algorithm, does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kws.errors import SpecError
from kws.tomlfields import Section

DEFAULT_SPEC_PATH = Path(__file__).with_name("default.toml")
# The default spec's input rate: the rate of the data pipeline's clips, TTS renders and streams.
SAMPLE_RATE: int = tomllib.loads(DEFAULT_SPEC_PATH.read_text())["frontend"]["sample_rate_hz"]

WINDOWS = ("hann", "hamming")
MEL_FORMULAS = ("htk",)
ROUNDINGS = ("half-up",)


@dataclass(frozen=True)
class MelSpec:
    num_bands: int
    low_hz: float
    high_hz: float
    formula: str


@dataclass(frozen=True)
class LogSpec:
    floor: int


@dataclass(frozen=True)
class DctSpec:
    num_cepstra: int


@dataclass(frozen=True)
class FixedPointSpec:
    window_frac_bits: int
    twiddle_frac_bits: int
    fft_guard_bits: int
    mel_weight_frac_bits: int
    log_frac_bits: int
    log_table_bits: int
    log_interp_bits: int
    dct_frac_bits: int
    cepstrum_frac_bits: int
    rounding: str


@dataclass(frozen=True)
class OutputSpec:
    offset: tuple[float, ...]
    step: tuple[float, ...]
    gain_frac_bits: int


@dataclass(frozen=True)
class FrontendSpec:
    name: str
    version: int
    sample_rate_hz: int
    window_samples: int
    hop_samples: int
    fft_size: int
    window: str
    mel: MelSpec
    log: LogSpec
    dct: DctSpec
    fixed_point: FixedPointSpec
    output: OutputSpec

    def as_dict(self) -> dict[str, Any]:
        """Normalized plain-data form (what the hash is computed over)."""
        d = dataclasses.asdict(self)
        d["output"]["offset"] = list(d["output"]["offset"])
        d["output"]["step"] = list(d["output"]["step"])
        return d

    @property
    def hash(self) -> str:
        """Full sha256 hex digest identifying this front end: its values and the algorithm id."""
        from kws.frontend.tables import ALGORITHM

        canon = json.dumps({"algorithm": ALGORITHM, "spec": self.as_dict()}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    @property
    def hash32(self) -> int:
        """First 32 bits of :attr:`hash`, as the firmware carries it."""
        return int(self.hash[:8], 16)

    @property
    def num_fft_bins(self) -> int:
        return self.fft_size // 2 + 1

    @property
    def num_cepstra(self) -> int:
        return self.dct.num_cepstra

    def num_frames(self, num_samples: int) -> int:
        """Frames a clip of ``num_samples`` yields (no padding: partial frames are not emitted)."""
        if num_samples < self.window_samples:
            return 0
        return 1 + (num_samples - self.window_samples) // self.hop_samples


def _section_hash(obj, omit_defaults: tuple[str, ...] = ()) -> str:
    """sha256 of a section's canonical JSON; ``omit_defaults``: fields left out while at their
    default, so that adding a field keeps the hashes of everything made before it."""
    d = dataclasses.asdict(obj)
    for f in dataclasses.fields(obj):
        if f.name in omit_defaults and d[f.name] == f.default:
            del d[f.name]
    return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class ModelSpec:
    family: str
    width: int
    blocks: int
    first_kernel: tuple[int, int]
    first_stride: tuple[int, int]
    window_frames: int
    input_scale_log2: int
    time_padding: str = "same"  # "valid": no padding along time, so the device can stream the network
    members: int = 1  # > 1: an ensemble of this many networks of `width` channels, trained apart
    # and merged into one (kws.train.ensemble)
    cepstra_padding: str = "same"  # first convolution along cepstra; "valid" with a first kernel as wide as the
    # cepstra makes them the channels of a temporal network (docs/training.md)
    block_kernel: tuple[int, int] = (3, 3)  # every depthwise kernel, time x cepstra

    @property
    def input_scale(self) -> float:
        return 2.0**self.input_scale_log2

    @property
    def channels(self) -> int:
        """Channels of the (merged) network: ``width`` per member."""
        return self.width * self.members

    def first_cols(self, num_cepstra: int) -> int:
        """Columns (along cepstra) of the first convolution's output."""
        if self.cepstra_padding == "valid":
            return (num_cepstra - self.first_kernel[1]) // self.first_stride[1] + 1
        return -(-num_cepstra // self.first_stride[1])

    @property
    def member(self) -> ModelSpec:
        """One member's network."""
        return dataclasses.replace(self, members=1)

    @property
    def hash(self) -> str:
        # an ensemble of one is the plain network; the later fields keep earlier networks' hashes
        return _section_hash(self, omit_defaults=("members", "cepstra_padding", "block_kernel"))


@dataclass(frozen=True)
class TrainSpec:
    seed: int
    epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    augment_copies: int
    calibration_clips: int
    class_weights: str = "balanced"
    min_epochs: int = 0  # early stopping only considers epochs from here on
    mixup: float = 0.0  # Beta(a, a) of mixup (kws.train.mixup); 0: none

    @property
    def hash(self) -> str:
        return _section_hash(self, omit_defaults=("mixup",))


@dataclass(frozen=True)
class DetectorSpec:
    stride_frames: int
    smooth_windows: int
    refractory_ms: int
    threshold: float
    posterior_frac_bits: int

    @property
    def hash(self) -> str:
        return _section_hash(self)


@dataclass(frozen=True)
class MonitorSpec:
    """On-device feature statistics for drift detection (kws_monitor.c, kws.reference.monitor, `kws drift`)."""

    bin_shift: int  # histogram bin of an int8 feature v: (v + 128) >> bin_shift
    limit: int  # a bin reaching this halves every statistic
    psi_warn: float  # PSI per coefficient: above this, "shift"
    psi_alarm: float  # above this, "drift"
    period_s: float  # monitoring period the alarm levels are calibrated for

    @property
    def bins(self) -> int:
        return 256 >> self.bin_shift


@dataclass(frozen=True)
class BudgetSpec:
    island_bytes: int
    target_bytes: int


@dataclass(frozen=True)
class Spec:
    """A whole spec file: front end, model, training, budget, detector, monitor."""

    frontend: FrontendSpec
    model: ModelSpec
    train: TrainSpec
    budget: BudgetSpec
    detector: DetectorSpec
    monitor: MonitorSpec
    source: str


# ----------------------------------------------------------------------------- parsing


def _parse_frontend(sec: Section) -> FrontendSpec:
    name = sec.name("name")
    version = sec.int("version", lo=1)
    sr = sec.int("sample_rate_hz", lo=1000, hi=192000)
    win = sec.int("window_samples", lo=16, hi=8192)
    hop = sec.int("hop_samples", lo=1)
    nfft = sec.int("fft_size", lo=16, hi=8192)
    window = sec.str("window", WINDOWS)
    p = sec.path

    if nfft & (nfft - 1):
        raise SpecError(f"{p}.fft_size", f"must be a power of two, got {nfft}", sec.source)
    if nfft < win:
        raise SpecError(
            f"{p}.fft_size",
            f"FFT ({nfft}) is shorter than the window ({win} samples); use fft_size >= {1 << (win - 1).bit_length()}",
            sec.source,
        )
    if hop > win:
        raise SpecError(
            f"{p}.hop_samples", f"hop ({hop}) is longer than the window ({win}): samples would be skipped", sec.source
        )

    m = sec.sub("mel")
    nb = m.int("num_bands", lo=1)
    lo_hz = m.float("low_hz", lo=0.0)
    hi_hz = m.float("high_hz", lo=0.0)
    formula = m.str("formula", MEL_FORMULAS)
    m.done()
    if nb > nfft // 2:
        raise SpecError(f"{p}.mel.num_bands", f"{nb} mel bands exceed the {nfft // 2} FFT bins", sec.source)
    if hi_hz <= lo_hz:
        raise SpecError(f"{p}.mel.high_hz", f"must be above low_hz ({lo_hz}), got {hi_hz}", sec.source)
    if hi_hz > sr / 2:
        raise SpecError(f"{p}.mel.high_hz", f"must be <= Nyquist ({sr / 2} Hz), got {hi_hz}", sec.source)

    lg = sec.sub("log")
    floor = lg.int("floor", lo=1, hi=1 << 20)
    lg.done()

    d = sec.sub("dct")
    nc = d.int("num_cepstra", lo=1)
    d.done()
    if nc > nb:
        raise SpecError(f"{p}.dct.num_cepstra", f"{nc} cepstra exceed the {nb} mel bands", sec.source)

    f = sec.sub("fixed_point")
    fp = FixedPointSpec(
        window_frac_bits=f.int("window_frac_bits", lo=8, hi=15),
        twiddle_frac_bits=f.int("twiddle_frac_bits", lo=14, hi=30),
        fft_guard_bits=f.int("fft_guard_bits", lo=0, hi=8),
        mel_weight_frac_bits=f.int("mel_weight_frac_bits", lo=8, hi=15),
        log_frac_bits=f.int("log_frac_bits", lo=8, hi=20),
        log_table_bits=f.int("log_table_bits", lo=2, hi=10),
        log_interp_bits=f.int("log_interp_bits", lo=4, hi=24),
        dct_frac_bits=f.int("dct_frac_bits", lo=8, hi=30),
        cepstrum_frac_bits=f.int("cepstrum_frac_bits", lo=4, hi=24),
        rounding=f.str("rounding", ROUNDINGS),
    )
    f.done()
    if fp.dct_frac_bits + fp.log_frac_bits <= fp.cepstrum_frac_bits:
        raise SpecError(
            f"{p}.fixed_point.cepstrum_frac_bits",
            "must be below dct_frac_bits + log_frac_bits (the DCT sum is shifted right)",
            sec.source,
        )
    if fp.fft_guard_bits >= fp.window_frac_bits:
        raise SpecError(f"{p}.fixed_point.fft_guard_bits", "must be below window_frac_bits", sec.source)
    if fp.log_table_bits + fp.log_interp_bits > 30:
        raise SpecError(
            f"{p}.fixed_point.log_interp_bits", "log_table_bits + log_interp_bits must be <= 30", sec.source
        )

    o = sec.sub("output")
    out = OutputSpec(
        offset=o.floats("offset", nc), step=o.floats("step", nc), gain_frac_bits=o.int("gain_frac_bits", lo=8, hi=40)
    )
    o.done()
    for i, s in enumerate(out.step):
        if s <= 0:
            raise SpecError(f"{p}.output.step[{i}]", f"must be > 0, got {s}", sec.source)
    sec.done()

    return FrontendSpec(
        name=name,
        version=version,
        sample_rate_hz=sr,
        window_samples=win,
        hop_samples=hop,
        fft_size=nfft,
        window=window,
        mel=MelSpec(nb, lo_hz, hi_hz, formula),
        log=LogSpec(floor),
        dct=DctSpec(nc),
        fixed_point=fp,
        output=out,
    )


def _parse_model(m: Section, fe: FrontendSpec) -> ModelSpec:
    fam = m.str("family", ("ds-cnn",))
    width = m.int("width", lo=4, hi=256)
    blocks = m.int("blocks", lo=0, hi=12)
    k = m.floats("first_kernel", 2)
    st = m.floats("first_stride", 2)
    frames = m.int("window_frames", lo=4, hi=500)
    scale = m.int("input_scale_log2", lo=-8, hi=0)
    time_padding = m.str("time_padding", ("same", "valid")) if "time_padding" in m.table else "same"
    members = m.int("members", lo=1, hi=8) if "members" in m.table else 1
    cep_pad = m.str("cepstra_padding", ("same", "valid")) if "cepstra_padding" in m.table else "same"
    bk = m.floats("block_kernel", 2) if "block_kernel" in m.table else (3, 3)
    m.done()
    ints = []
    for name, pair in (("first_kernel", k), ("first_stride", st), ("block_kernel", bk)):
        if any(v != int(v) or v < 1 for v in pair):
            raise SpecError(f"model.{name}", f"must be two positive integers, got {list(pair)}", m.source)
        ints.append((int(pair[0]), int(pair[1])))
    if ints[0][0] > frames or ints[0][1] > fe.num_cepstra:
        raise SpecError(
            "model.first_kernel", f"{ints[0]} is larger than the input [{frames}, {fe.num_cepstra}]", m.source
        )
    spec = ModelSpec(fam, width, blocks, ints[0], ints[1], frames, scale, time_padding, members, cep_pad, ints[2])
    cols = spec.first_cols(fe.num_cepstra)
    if blocks and ints[2][1] > cols:
        raise SpecError(
            "model.block_kernel",
            f"{list(ints[2])} is wider than the first convolution's output ({cols} columns along cepstra)",
            m.source,
        )
    if cep_pad == "valid" and time_padding != "valid":
        raise SpecError(
            "model.cepstra_padding",
            '"valid" needs time_padding = "valid" (the padded-time form pads both axes alike)',
            m.source,
        )
    if members > 1 and (width % 4 or blocks < 1):
        raise SpecError(
            "model.members",
            f"an ensemble's members need a width that is a multiple of 4 (the device "
            f"computes each member's block of the merged 1x1 convolutions apart) and at least one "
            f"block; width is {width}, blocks {blocks}",
            m.source,
        )
    if time_padding == "valid":
        rows = (frames - ints[0][0]) // ints[1][0] + 1 - (ints[2][0] - 1) * blocks
        if rows < 1:
            raise SpecError(
                "model.time_padding",
                f"valid padding leaves no rows: {frames} frames, first kernel "
                f"{ints[0][0]} stride {ints[1][0]}, {blocks} blocks of {ints[2][0]}-row depthwise",
                m.source,
            )
    return spec


# The [model] fields a task may set for its own network (kws.data.task, ``[model]``). The rest of
# [model] — the window, the input scaling, the padding — is read by the evaluation, the detector and
# the firmware from the spec, so it stays one value for every task.
TASK_MODEL_FIELDS = ("width", "blocks", "first_kernel", "first_stride", "members", "cepstra_padding", "block_kernel")


def check_task_model_fields(fields, source: str) -> None:
    """A task's [model] names only :data:`TASK_MODEL_FIELDS` (else an error naming the field)."""
    bad = sorted(set(fields) - set(TASK_MODEL_FIELDS))
    if bad:
        raise SpecError(
            f"model.{bad[0]}",
            f"a task may set only {list(TASK_MODEL_FIELDS)} of [model]; the rest belongs to the spec",
            source,
        )


def with_model(spec: Spec, overrides: dict[str, Any], source: str) -> Spec:
    """``spec`` with some of its [model] fields replaced (a task's own network), validated as the
    spec's own [model] is; errors name the field and ``source``."""
    if not overrides:
        return spec
    check_task_model_fields(overrides, source)
    merged = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(spec.model).items()}
    merged.update({k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()})
    return dataclasses.replace(spec, model=_parse_model(Section(merged, "model", source), spec.frontend))


def parse_spec(data: dict[str, Any], source: str = "<dict>") -> Spec:
    """Validate a parsed spec mapping. Raises :class:`SpecError` naming the field."""
    top = Section(data, "", source)
    schema = top.int("schema", lo=1, hi=1)
    del schema
    frontend = _parse_frontend(top.sub("frontend"))
    model = _parse_model(top.sub("model"), frontend)
    t = top.sub("train")
    train = TrainSpec(
        seed=t.int("seed"),
        epochs=t.int("epochs", lo=1),
        batch_size=t.int("batch_size", lo=1),
        learning_rate=t.float("learning_rate", lo=1e-6, hi=1.0),
        patience=t.int("patience", lo=1),
        augment_copies=t.int("augment_copies", lo=0, hi=20),
        calibration_clips=t.int("calibration_clips", lo=1),
        class_weights=t.str("class_weights", ("balanced", "none")),
        min_epochs=t.int("min_epochs", lo=0),
        mixup=t.float("mixup", lo=0.0, hi=10.0, default=0.0),
    )
    t.done()
    b = top.sub("budget")
    budget = BudgetSpec(island_bytes=b.int("island_bytes", lo=1024), target_bytes=b.int("target_bytes", lo=1024))
    b.done()
    if budget.target_bytes > budget.island_bytes:
        raise SpecError("budget.target_bytes", "must not exceed island_bytes", source)
    d = top.sub("detector")
    detector = DetectorSpec(
        stride_frames=d.int("stride_frames", lo=1, hi=100),
        smooth_windows=d.int("smooth_windows", lo=1, hi=16),
        refractory_ms=d.int("refractory_ms", lo=0, hi=10000),
        threshold=d.float("threshold", lo=0.0, hi=1.0),
        posterior_frac_bits=d.int("posterior_frac_bits", lo=8, hi=15),
    )
    d.done()
    mo = top.sub("monitor")
    monitor = MonitorSpec(
        bin_shift=mo.int("bin_shift", lo=0, hi=7),
        limit=mo.int("limit", lo=2, hi=65535),
        psi_warn=mo.float("psi_warn", lo=0.0),
        psi_alarm=mo.float("psi_alarm", lo=0.0),
        period_s=mo.float("period_s", lo=1.0),
    )
    mo.done()
    if monitor.psi_alarm < monitor.psi_warn:
        raise SpecError("monitor.psi_alarm", f"must be >= psi_warn ({monitor.psi_warn})", source)
    top.done()
    spec = Spec(
        frontend=frontend, model=model, train=train, budget=budget, detector=detector, monitor=monitor, source=source
    )
    # Derived-table checks (overflow bounds, empty mel bands) need the tables themselves.
    from kws.frontend.tables import build_tables  # local import: tables depend on this module

    build_tables(spec.frontend, source=source)
    return spec


def load_spec(path: str | Path | None = None) -> Spec:
    """Load and validate a spec file (the packaged default when ``path`` is None)."""
    path = Path(path) if path is not None else DEFAULT_SPEC_PATH
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SpecError("<file>", f"cannot read spec: {e.strerror}", str(path)) from e
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SpecError("<file>", f"not valid TOML: {e}", str(path)) from e
    return parse_spec(data, source=str(path))
