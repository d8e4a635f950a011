"""Task configs: what to recognize and every data-pipeline constant for it.

Shipped tasks live in ``tasks/`` beside this module (``commands``, ``wakeword``); a user
task is any TOML file of the same layout (``--task path.toml``).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from kws.data.voices import FESTIVAL_VOICES, FLITE_VOICES, KOKORO_VOICES, resolve_pins
from kws.errors import KwsError, SpecError
from kws.tomlfields import Section

TASK_DIR = Path(__file__).with_name("tasks")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SynthConfig:
    seed: int
    renders_per_keyword: int
    carrier_fraction: float
    carriers_keyword_first: tuple[str, ...]
    carriers_keyword_last: tuple[str, ...]
    unknown_renders: int
    near_miss_fraction: float
    near_misses: tuple[str, ...]
    silence_clips: int
    engines: tuple[str, ...]
    engine_weights: tuple[float, ...]
    espeak_voices: tuple[str, ...]
    rate_range: tuple[float, float]
    pitch_range: tuple[float, float]
    flite_voices: tuple[str, ...] = FLITE_VOICES
    festival_voices: tuple[str, ...] = FESTIVAL_VOICES
    kokoro_voices: tuple[str, ...] = KOKORO_VOICES
    kokoro_mixes: int = 0  # blended Kokoro voices (kws.data.voices.kokoro_mixes), split key kokoro:mix


@dataclass(frozen=True)
class SplitConfig:
    val_percent: float
    test_percent: float
    pin: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ValidateConfig:
    min_duration_s: float
    max_duration_s: float
    keyword_speech_ms: tuple[float, float]
    min_snr_db: float
    max_clip_ratio: float
    max_dc_offset: float
    min_peak_dbfs: float
    max_file_mb: float
    # [validate.recorded]: the fields that differ for recorded speech (every source but the TTS
    # corpus's), held to what makes a clip unusable rather than to a synthesizer's cleanliness
    recorded: tuple[tuple[str, Any], ...] = ()

    def for_source(self, source: str) -> ValidateConfig:
        """The rules a clip of ``source`` is held to: ``tts:*`` clips the table's, recordings with
        ``[validate.recorded]`` in place."""
        if source.startswith("tts:") or not self.recorded:
            return self
        return replace(self, **dict(self.recorded), recorded=())


@dataclass(frozen=True)
class AugmentConfig:
    noise_prob: float
    snr_db: tuple[float, float]
    shift_ms: float
    gain_db: tuple[float, float]
    speed_range: tuple[float, float]
    reverb_prob: float
    rt60_s: tuple[float, float]
    end_align_prob: float = 0.0
    end_align_ms: float = 100.0
    voice_prob: float = 0.0  # share of copies whose voice is shifted (kws.data.augment)
    voice_shift: tuple[float, float] = (1.0, 1.0)  # every frequency times a factor drawn log-uniform here
    lpc_prob: float = 0.0  # share of copies resynthesized by an LPC vocoder (kws.data.augment)

    def key(self) -> dict:
        """The fields as hashed (augmentation seeds, feature cache, task hash): the voice shift and
        the LPC vocoder are left out while off, so configs written before them keep their hashes
        and bytes."""
        d = asdict(self)
        if not self.voice_prob:
            d.pop("voice_prob")
            d.pop("voice_shift")
        if not self.lpc_prob:
            d.pop("lpc_prob")
        return d


@dataclass(frozen=True)
class StreamConfig:
    seed: int
    keyword_gap_s: tuple[float, float]
    background_dbfs: tuple[float, float]
    speech_fraction: float


@dataclass(frozen=True)
class Task:
    name: str
    keywords: tuple[str, ...]
    unknown_label: str
    silence_label: str
    clip_seconds: float
    synth: SynthConfig
    split: SplitConfig
    validate: ValidateConfig
    augment: AugmentConfig
    streams: StreamConfig
    source: str
    model: tuple[tuple[str, Any], ...] = ()  # the task's own [model] fields (kws.spec.TASK_MODEL_FIELDS)

    @property
    def labels(self) -> tuple[str, ...]:
        """Class list in model output order: silence, unknown, then the keywords."""
        return (self.silence_label, self.unknown_label, *self.keywords)

    def _hash(self, *leave_out: str) -> str:
        d = asdict(self)
        d["augment"] = self.augment.key()
        if not d["validate"]["recorded"]:  # no [validate.recorded]: hashes as before the field
            d["validate"].pop("recorded")
        for k in ("source", *leave_out):
            d.pop(k)
        if not d.get("model"):  # no [model] of its own: hashes as before the field
            d.pop("model", None)
        for k, default in (
            ("flite_voices", FLITE_VOICES),
            ("festival_voices", FESTIVAL_VOICES),
            ("kokoro_voices", KOKORO_VOICES),
            ("kokoro_mixes", 0),
        ):
            v = d["synth"][k]
            if (
                tuple(v) if isinstance(v, list) else v
            ) == default:  # written or not, the default hashes as before the field
                d["synth"].pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    @property
    def hash(self) -> str:
        """The whole task config (training's augmentation and the evaluation streams included)."""
        return self._hash()

    @property
    def data_hash(self) -> str:
        """What decides the clips of a data set: the task without [augment], [streams] and [model],
        so a change of training augmentation or network does not make a new data set version."""
        return self._hash("augment", "streams", "model")

    def spec(self, spec):
        """``spec`` with this task's own [model] fields in place of the spec's (the network trained,
        quantized and released for this task)."""
        from kws.spec import with_model

        return with_model(spec, dict(self.model), self.source)

    def is_keyword(self, label: str) -> bool:
        return label in self.keywords

    def is_speech(self, label: str) -> bool:
        return label != self.silence_label


def load_task(name_or_path: str | Path) -> Task:
    """A shipped task by name (``commands``, ``wakeword``) or a task TOML file."""
    p = Path(name_or_path)
    if not p.suffix:
        p = TASK_DIR / f"{name_or_path}.toml"
        if not p.exists():
            shipped = sorted(q.stem for q in TASK_DIR.glob("*.toml"))
            raise SpecError("task", f"no shipped task {str(name_or_path)!r}; shipped: {shipped}")
    try:
        data = tomllib.loads(p.read_text())
    except OSError as e:
        raise SpecError("<file>", f"cannot read task: {e.strerror}", str(p)) from e
    except tomllib.TOMLDecodeError as e:
        raise SpecError("<file>", f"not valid TOML: {e}", str(p)) from e
    src = str(p)
    top = Section(data, "", src)
    top.int("schema", lo=1, hi=1)
    t = top.sub("task")
    kws = t.strs("keywords")
    task_kw = dict(
        name=t.name("name"),
        keywords=kws,
        unknown_label=t.name("unknown_label"),
        silence_label=t.name("silence_label"),
        clip_seconds=t.float("clip_seconds", lo=0.25, hi=10.0),
    )
    t.done()
    if {task_kw["unknown_label"], task_kw["silence_label"]} & set(kws):
        raise SpecError("task.keywords", "must not contain the unknown or silence label", src)

    s = top.sub("synth")
    synth = SynthConfig(
        seed=s.int("seed"),
        renders_per_keyword=s.int("renders_per_keyword", lo=1),
        carrier_fraction=s.float("carrier_fraction", 0, 1),
        carriers_keyword_first=s.strs("carriers_keyword_first"),
        carriers_keyword_last=s.strs("carriers_keyword_last"),
        unknown_renders=s.int("unknown_renders", lo=0),
        near_miss_fraction=s.float("near_miss_fraction", 0, 1),
        near_misses=s.strs("near_misses"),
        silence_clips=s.int("silence_clips", lo=0),
        engines=s.strs("engines"),
        engine_weights=s.floats("engine_weights", len(s.table.get("engines", []))),
        espeak_voices=s.strs("espeak_voices"),
        rate_range=s.range("rate_range", 0.5, 2.0),
        pitch_range=s.range("pitch_range", -1.0, 1.0),
        flite_voices=s.strs("flite_voices") if "flite_voices" in s.table else FLITE_VOICES,
        festival_voices=s.strs("festival_voices") if "festival_voices" in s.table else FESTIVAL_VOICES,
        kokoro_voices=s.strs("kokoro_voices") if "kokoro_voices" in s.table else KOKORO_VOICES,
        kokoro_mixes=s.int("kokoro_mixes", lo=0) if "kokoro_mixes" in s.table else 0,
    )
    s.done()
    for c in synth.carriers_keyword_first + synth.carriers_keyword_last:
        if c.count("{}") != 1:
            raise SpecError("synth.carriers", f"carrier {c!r} must contain exactly one {{}}", src)
        if set(c.replace("{}", " ").split()) & set(kws):
            raise SpecError("synth.carriers", f"carrier {c!r} contains a keyword", src)
    clash = set(synth.near_misses) & set(kws)
    if clash:
        raise SpecError("synth.near_misses", f"contains keywords {sorted(clash)}", src)
    if any(w < 0 for w in synth.engine_weights) or sum(synth.engine_weights) <= 0:
        raise SpecError("synth.engine_weights", "must be >= 0 with a positive sum", src)
    from kws.data.tts import ENGINES

    bad = set(synth.engines) - set(ENGINES)
    if bad:
        raise SpecError("synth.engines", f"unknown engines {sorted(bad)}; known {list(ENGINES)}", src)

    sp = top.sub("split")
    split = SplitConfig(
        val_percent=sp.float("val_percent", 0, 50),
        test_percent=sp.float("test_percent", 0, 50),
        pin=tuple(sorted(sp.mapping("pin", SPLITS).items())),
    )
    sp.done()
    try:
        resolve_pins(dict(split.pin))
    except KwsError as e:
        raise SpecError("split.pin", str(e), src) from None

    v = top.sub("validate")
    validate = ValidateConfig(
        min_duration_s=v.float("min_duration_s", lo=0),
        max_duration_s=v.float("max_duration_s", lo=0),
        keyword_speech_ms=v.range("keyword_speech_ms", 0),
        min_snr_db=v.float("min_snr_db"),
        max_clip_ratio=v.float("max_clip_ratio", 0, 1),
        max_dc_offset=v.float("max_dc_offset", 0, 1),
        min_peak_dbfs=v.float("min_peak_dbfs", hi=0),
        max_file_mb=v.float("max_file_mb", lo=0),
        recorded=_recorded_rules(v),
    )
    v.done()
    if validate.max_duration_s <= validate.min_duration_s:
        raise SpecError("validate.max_duration_s", "must exceed min_duration_s", src)

    a = top.sub("augment")
    augment = AugmentConfig(
        noise_prob=a.float("noise_prob", 0, 1),
        snr_db=a.range("snr_db"),
        shift_ms=a.float("shift_ms", lo=0),
        gain_db=a.range("gain_db"),
        speed_range=a.range("speed_range", 0.5, 2.0),
        reverb_prob=a.float("reverb_prob", 0, 1),
        rt60_s=a.range("rt60_s", 0.01, 5.0),
        end_align_prob=a.float("end_align_prob", 0, 1),
        end_align_ms=a.float("end_align_ms", lo=0),
        **(
            {"voice_prob": a.float("voice_prob", 0, 1), "voice_shift": a.range("voice_shift", 0.5, 2.0)}
            if "voice_prob" in a.table or "voice_shift" in a.table
            else {}
        ),
        **({"lpc_prob": a.float("lpc_prob", 0, 1)} if "lpc_prob" in a.table else {}),
    )
    a.done()

    st = top.sub("streams")
    streams = StreamConfig(
        seed=st.int("seed"),
        keyword_gap_s=st.range("keyword_gap_s", 0.5),
        background_dbfs=st.range("background_dbfs", hi=0),
        speech_fraction=st.float("speech_fraction", 0, 1),
    )
    st.done()
    model = _task_model(top.table.get("model", {}), src)
    top.used.add("model")
    top.done()
    return Task(
        **task_kw,
        synth=synth,
        split=split,
        validate=validate,
        augment=augment,
        streams=streams,
        source=src,
        model=model,
    )


def _recorded_rules(v) -> tuple[tuple[str, Any], ...]:
    """[validate.recorded]: any of [validate]'s rules, checked like them, for recorded sources."""
    if "recorded" not in v.table:
        return ()
    r = v.sub("recorded")
    getters = {
        "min_duration_s": lambda k: r.float(k, lo=0),
        "max_duration_s": lambda k: r.float(k, lo=0),
        "keyword_speech_ms": lambda k: r.range(k, 0),
        "min_snr_db": lambda k: r.float(k),
        "max_clip_ratio": lambda k: r.float(k, 0, 1),
        "max_dc_offset": lambda k: r.float(k, 0, 1),
        "min_peak_dbfs": lambda k: r.float(k, hi=0),
        "max_file_mb": lambda k: r.float(k, lo=0),
    }
    out = tuple(sorted((k, getters[k](k)) for k in r.table if k in getters))
    r.done()
    return out


def _task_model(table, src: str) -> tuple[tuple[str, Any], ...]:
    """The task's optional [model]: which of the spec's network fields it sets (checked against a
    spec, whose [model] it completes, by :meth:`Task.spec`)."""
    from kws.spec import check_task_model_fields

    if not isinstance(table, dict):
        raise SpecError("model", "must be a table", src)
    check_task_model_fields(table, src)
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in table.items()))
