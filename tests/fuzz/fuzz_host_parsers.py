"""atheris target: the host's side of the serial protocol (kws.device.protocol) on any bytes:
the decoder, then every message parser on every frame it decodes and on the raw input as a
payload. Anything but a result or the project's own MalformedFrame (a KwsError) is a finding.

    python tests/fuzz/fuzz_host_parsers.py tests/fuzz/corpus/host -max_total_time=60
"""

import sys

import atheris

with atheris.instrument_imports():
    from kws.device import protocol as p

PARSERS = (
    p.Hello.parse,
    p.parse_event,
    p.parse_credit,
    p.parse_error,
    p.parse_thresholds,
    p.parse_logits,
    p.parse_stats,
)


def one(data: bytes) -> None:
    dec = p.Decoder()
    frames = dec.feed(data) + dec.feed(b"\x00")
    assert len(dec.buf) <= p.MAX_WIRE
    for payload in [data[: p.MAX_BODY]] + [f.payload for f in frames]:
        for parse in PARSERS:
            try:
                parse(payload)
            except p.MalformedFrame:
                pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
