"""`kws codegen frontend`: the front end's C configuration header and tables.

Writes into firmware/generated/:

- ``kws_fe_config.h``  every size, format and shift as a macro, plus the spec hash
- ``kws_fe_tables.h``  declarations of the tables
- ``kws_fe_tables.c``  the tables: exactly the arrays of :func:`kws.frontend.tables.build_tables`
- ``kws_mon_config.h`` the feature monitor's settings (the spec's [monitor]: the same for every model)
"""

from __future__ import annotations

from pathlib import Path

from kws.codegen.common import DEFAULT_GENERATED_DIR, c_array, display_path, smallest_unsigned, stamp
from kws.frontend.tables import ALGORITHM, MAX_NORM_SHIFT, SPLIT_GAIN_LOG2, build_tables
from kws.fsio import write_if_changed

GENERATOR = "kws codegen frontend"
FILES = ("kws_fe_config.h", "kws_fe_tables.h", "kws_fe_tables.c", "kws_mon_config.h")


def _sources(spec) -> list[tuple[str, str]]:
    fe = spec.frontend
    return [
        ("spec", display_path(spec.source)),
        (f'frontend "{fe.name}" v{fe.version}, algorithm {ALGORITHM}, sha256', fe.hash),
    ]


def render(spec) -> dict[str, str]:
    """File name -> text of every generated front-end file."""
    fe = spec.frontend
    fp = fe.fixed_point
    t = build_tables(fe)
    head = stamp(GENERATOR, _sources(spec))
    half = fe.fft_size // 2
    bitrev_t = smallest_unsigned(t.bitrev)
    melidx_t = smallest_unsigned(list(t.mel_start) + list(t.mel_len))
    defs = [
        ("KWS_FE_SPEC_HASH32", f"0x{fe.hash32:08x}u", "first 32 bits of the spec sha256 (handshake)"),
        ("KWS_FE_SPEC_HASH", f'"{fe.hash}"', "sha256 of the [frontend] spec"),
        ("KWS_FE_SAMPLE_RATE", fe.sample_rate_hz, "Hz, mono int16"),
        ("KWS_FE_WINDOW", fe.window_samples, "samples per analysis window"),
        ("KWS_FE_HOP", fe.hop_samples, "samples between frames"),
        ("KWS_FE_FFT_SIZE", fe.fft_size, "real FFT length"),
        ("KWS_FE_FFT_HALF", half, "complex FFT length (fft_size / 2)"),
        ("KWS_FE_NUM_BANDS", fe.mel.num_bands, "mel bands"),
        ("KWS_FE_NUM_CEPSTRA", fe.num_cepstra, "cepstral coefficients per frame"),
        ("KWS_FE_MEL_BIN_LO", t.mel_bin_lo, "lowest FFT bin with a mel weight"),
        ("KWS_FE_MEL_BIN_HI", t.mel_bin_hi, "highest FFT bin with a mel weight"),
        ("KWS_FE_MEL_NUM_WEIGHTS", len(t.mel_weights), "entries of kws_fe_mel_weights"),
        ("KWS_FE_LOG_FLOOR", f"{fe.log.floor}u", "added to mel energy (int16^2 units) before the log"),
        ("KWS_FE_MAX_NORM_SHIFT", MAX_NORM_SHIFT, "normalization shift of an all-zero frame"),
        ("KWS_FE_SPLIT_GAIN_LOG2", SPLIT_GAIN_LOG2, "the split step yields 2*X[k]: power carries 2^(2*this)"),
        ("KWS_FE_WINDOW_FRAC", fp.window_frac_bits, f"window table: uint16 Q{fp.window_frac_bits}"),
        ("KWS_FE_FFT_GUARD_BITS", fp.fft_guard_bits, "extra fraction bits carried through the FFT"),
        ("KWS_FE_WINDOW_SHIFT", fp.window_frac_bits - fp.fft_guard_bits, "right shift after windowing"),
        ("KWS_FE_TWIDDLE_FRAC", fp.twiddle_frac_bits, f"twiddles: int32 Q{fp.twiddle_frac_bits}"),
        ("KWS_FE_POWER_SHIFT", 2 * fp.fft_guard_bits, "right shift of |X'|^2 dropping the guard bits"),
        ("KWS_FE_MEL_WEIGHT_FRAC", fp.mel_weight_frac_bits, f"mel weights: uint16 Q{fp.mel_weight_frac_bits}"),
        ("KWS_FE_LOG_FRAC", fp.log_frac_bits, f"log2 values: int32 Q{fp.log_frac_bits}"),
        ("KWS_FE_LOG_TABLE_BITS", fp.log_table_bits, "log2(1+x) table has 2^this segments"),
        ("KWS_FE_LOG_INTERP_BITS", fp.log_interp_bits, "mantissa bits used for interpolation"),
        ("KWS_FE_DCT_FRAC", fp.dct_frac_bits, f"DCT (with ln 2): int16 Q{fp.dct_frac_bits}"),
        ("KWS_FE_DCT_SHIFT", t.dct_shift, "right shift of the DCT sum to the cepstrum format"),
        ("KWS_FE_CEPSTRUM_FRAC", fp.cepstrum_frac_bits, f"cepstra: int32 Q{fp.cepstrum_frac_bits} natural-log units"),
        ("KWS_FE_OUT_GAIN_FRAC", fe.output.gain_frac_bits, "int8 output gain fraction bits"),
        ("KWS_FE_BOUND_FFT", t.bound_fft, "proven bound on |FFT component| (int32)"),
        ("KWS_FE_SCRATCH_BYTES", 8 * half + 4 * fe.mel.num_bands, "size of kws_fe_scratch_t"),
    ]
    w = max(len(d[0]) for d in defs)
    lines = [f"#define {n:<{w}} {v}  /* {c} */" for n, v, c in defs]
    config_h = (
        head + "#ifndef KWS_FE_CONFIG_H\n#define KWS_FE_CONFIG_H\n\n" + "\n".join(lines) + "\n\n"
        f"typedef {bitrev_t} kws_fe_bitrev_t;\ntypedef {melidx_t} kws_fe_melidx_t;\n\n"
        "#endif /* KWS_FE_CONFIG_H */\n"
    )

    decls = [
        (
            "uint16_t",
            "kws_fe_window_half",
            "[(KWS_FE_WINDOW + 1) / 2 + 1]",
            "periodic window w[n], first half (w[WINDOW - n] = w[n]), Q(KWS_FE_WINDOW_FRAC)",
        ),
        (
            "int32_t",
            "kws_fe_cos",
            "[KWS_FE_FFT_SIZE / 4 + 1]",
            "quarter wave cos(2*pi*i/FFT_SIZE): every twiddle, Q(KWS_FE_TWIDDLE_FRAC)",
        ),
        ("kws_fe_bitrev_t", "kws_fe_bitrev", "[KWS_FE_FFT_HALF]", "bit reversal of the complex FFT"),
        ("kws_fe_melidx_t", "kws_fe_mel_start", "[KWS_FE_NUM_BANDS]", "first FFT bin of each band"),
        ("kws_fe_melidx_t", "kws_fe_mel_len", "[KWS_FE_NUM_BANDS]", "bins per band"),
        ("uint16_t", "kws_fe_mel_offset", "[KWS_FE_NUM_BANDS]", "first weight of each band"),
        ("uint16_t", "kws_fe_mel_weights", "[KWS_FE_MEL_NUM_WEIGHTS]", "triangular weights, Q(KWS_FE_MEL_WEIGHT_FRAC)"),
        ("int32_t", "kws_fe_log2_table", "[(1 << KWS_FE_LOG_TABLE_BITS) + 1]", "log2(1 + i/2^T), Q(KWS_FE_LOG_FRAC)"),
        (
            "int16_t",
            "kws_fe_dct",
            "[KWS_FE_NUM_CEPSTRA * KWS_FE_NUM_BANDS]",
            "ln2 * DCT-II ortho, row-major, Q(KWS_FE_DCT_FRAC)",
        ),
        ("int32_t", "kws_fe_out_offset", "[KWS_FE_NUM_CEPSTRA]", "int8 output offset, cepstrum format"),
        ("int32_t", "kws_fe_out_gain", "[KWS_FE_NUM_CEPSTRA]", "int8 output gain, Q(OUT_GAIN_FRAC)"),
    ]
    tables_h = (
        head + "#ifndef KWS_FE_TABLES_H\n#define KWS_FE_TABLES_H\n\n#include <stdint.h>\n\n"
        '#include "kws_fe_config.h"\n\n'
        + "".join(f"extern const {ct} {n}{dim};  /* {c} */\n" for ct, n, dim, c in decls)
        + "\n#endif /* KWS_FE_TABLES_H */\n"
    )

    arrays = [
        c_array("uint16_t", "kws_fe_window_half", t.window_half_q),
        c_array("int32_t", "kws_fe_cos", t.cos_q, per_line=6),
        c_array(bitrev_t, "kws_fe_bitrev", t.bitrev, per_line=16),
        c_array(melidx_t, "kws_fe_mel_start", t.mel_start, per_line=16),
        c_array(melidx_t, "kws_fe_mel_len", t.mel_len, per_line=16),
        c_array("uint16_t", "kws_fe_mel_offset", t.mel_offset, per_line=16),
        c_array("uint16_t", "kws_fe_mel_weights", t.mel_weights),
        c_array("int32_t", "kws_fe_log2_table", t.log2_table, per_line=8),
        c_array("int16_t", "kws_fe_dct", t.dct_q),
        c_array("int32_t", "kws_fe_out_offset", t.out_offset_q, per_line=7),
        c_array("int32_t", "kws_fe_out_gain", t.out_gain_q, per_line=7),
    ]
    tables_c = head + '#include "kws_fe_tables.h"\n\n' + "\n".join(arrays)
    mo = spec.monitor
    mdefs = [
        ("KWS_MON_BIN_SHIFT", mo.bin_shift, "feature monitor: bin = (v + 128) >> SHIFT"),
        ("KWS_MON_LIMIT", f"{mo.limit}u", "feature monitor: a bin at LIMIT halves all"),
    ]
    mw = max(len(d[0]) for d in mdefs)
    mon_h = (
        stamp(GENERATOR, [*_sources(spec), ("[monitor]", f"bin_shift {mo.bin_shift}, limit {mo.limit}")])
        + "/* The feature monitor's settings (kws_monitor.c): the spec's [monitor], the same for every model. */\n"
        "#ifndef KWS_MON_CONFIG_H\n#define KWS_MON_CONFIG_H\n\n"
        + "\n".join(f"#define {n:<{mw}} {v}  /* {c} */" for n, v, c in mdefs)
        + "\n\n#endif /* KWS_MON_CONFIG_H */\n"
    )
    return {
        "kws_fe_config.h": config_h,
        "kws_fe_tables.h": tables_h,
        "kws_fe_tables.c": tables_c,
        "kws_mon_config.h": mon_h,
    }


def generate(spec, out_dir: str | Path = DEFAULT_GENERATED_DIR) -> list[Path]:
    """Write the front-end files into ``out_dir``; returns the paths that changed."""
    out_dir = Path(out_dir)
    changed = []
    for name, text in render(spec).items():
        if write_if_changed(out_dir / name, text):
            changed.append(out_dir / name)
    return changed
