"""Thresholds other than a model's own (kws.release.thresholds): one for every keyword, or a calibration
file made for that very model; and the link's request for them, against firmware that predates it."""

import json
import struct

import pytest

from kws.device import protocol as p
from kws.errors import KwsError
from kws.paths import REPO_ROOT
from kws.release.thresholds import threshold_overrides
from kws.released import ReleasedModel

MODEL = REPO_ROOT / "models" / "commands"


@pytest.fixture
def man():
    return ReleasedModel.load(MODEL)


def test_one_threshold_for_every_keyword(man):
    assert threshold_overrides(man) is None
    assert threshold_overrides(man, threshold=0.8) == {k: 0.8 for k in man.keywords}
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(KwsError, match=f"threshold {bad}: a posterior threshold lies between 0 and 1"):
            threshold_overrides(man, threshold=bad)


def test_the_models_own_calibration_file_and_a_partial_one(man, tmp_path):
    cal = REPO_ROOT / "calibration" / "commands" / "thresholds.json"
    assert threshold_overrides(man, file=cal) == json.loads(cal.read_text())["thresholds"] == man.thresholds
    (tmp_path / "yes.json").write_text(json.dumps({"yes": 0.5}))  # the others keep the model's
    assert threshold_overrides(man, file=tmp_path / "yes.json") == {**man.thresholds, "yes": 0.5}
    ev = {"model_sha256": man.sha256, "calibrated_thresholds": {"go": 0.9}}  # kws eval's eval.json
    (tmp_path / "eval.json").write_text(json.dumps(ev))
    assert threshold_overrides(man, file=tmp_path / "eval.json")["go"] == 0.9


@pytest.mark.parametrize(
    "content, message",
    [
        ({"model_sha256": "ab" * 32, "thresholds": {"yes": 0.5}}, "calibrated for another model"),
        ({"thresholds": {"marvin": 0.5}}, "marvin is not a keyword of commands"),
        ({"thresholds": {"yes": 1.2}}, "thresholds must lie between 0 and 1"),
        ({"thresholds": {}}, "no thresholds in it"),
        ([0.5], "not a thresholds file"),
        ("{not json", "cannot read thresholds"),
    ],
)
def test_bad_threshold_files_are_refused_by_name(man, tmp_path, content, message):
    f = tmp_path / "t.json"
    f.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(KwsError, match=message) as e:
        threshold_overrides(man, file=f)
    assert str(f) in str(e.value)
    with pytest.raises(KwsError, match="not both"):
        threshold_overrides(man, threshold=0.5, file=f)


def test_firmware_that_predates_the_request_is_named(man):
    """A device answering THRESHOLDS_REQ with ERROR unknown_type (firmware before it): a clear
    error, not a timeout; pyserial's loop:// plays the device's answer back."""
    from kws.device.link import Link

    with Link("loop://", timeout=2) as link:
        link.hello = p.Hello(0x10000, 0, 0, 0, 16000, 320, 320, 4, len(man.labels))
        with pytest.raises(KwsError, match="4 thresholds for a device with 12 classes"):
            link.thresholds([0, 0, 1, 1])
        link.ser.write(p.encode(p.ERROR, 0, bytes([p.ERR_UNKNOWN]) + struct.pack("<H", link.seq)))
        with pytest.raises(KwsError, match="predates THRESHOLDS_REQ"):
            link.thresholds([0] * 12)
        link.ser.write(p.encode(p.THRESHOLDS, 1, bytes([1]) + struct.pack("<12H", *range(12))))
        with pytest.raises(KwsError, match="did not take the thresholds"):
            link.thresholds([5] * 12)
