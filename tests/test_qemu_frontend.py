"""The same golden vectors, run by the firmware's front end on an emulated Cortex-M4F
(QEMU netduinoplus2), audio streamed in through semihosting: every frame equal."""

import pytest

from kws.device.qemu import parse_fields, run_semihosted
from kws.paths import REPO_ROOT
from kws.reference.golden import DEFAULT_DIR, read_index

ELF = REPO_ROOT / "build" / "qemu" / "fe_golden.elf"


@pytest.fixture(scope="module")
def fe_golden_elf(qemu_images):
    return qemu_images / "fe_golden.elf"


CASES = read_index(DEFAULT_DIR)[1]


@pytest.mark.parametrize("name,samples,frames", CASES, ids=[c[0] for c in CASES])
def test_golden_case_in_qemu(fe_golden_elf, fe_spec, name, samples, frames):
    run = run_semihosted(fe_golden_elf, [str(DEFAULT_DIR / name)], timeout=60)
    line = [ln for ln in run.output.splitlines() if ln.startswith("fe_golden ")]
    assert run.exit_code == 0 and line, run.output
    f = parse_fields(line[0])
    assert int(f["frames"]) == frames
    assert int(f["equal"]) == frames
    assert int(f["spec"], 16) == fe_spec.hash32


def test_a_wrong_vector_fails_in_qemu(fe_golden_elf, tmp_path):
    import shutil

    for ext in ("pcm", "cep", "feat"):
        shutil.copy(DEFAULT_DIR / f"speech_flite.{ext}", tmp_path / f"case.{ext}")
    cep = tmp_path / "case.cep"
    data = bytearray(cep.read_bytes())
    data[4 * 13 * 10] ^= 1  # one bit of frame 10, c0
    cep.write_bytes(bytes(data))
    run = run_semihosted(fe_golden_elf, [str(tmp_path / "case")], timeout=60)
    f = parse_fields([ln for ln in run.output.splitlines() if ln.startswith("fe_golden ")][0])
    assert run.exit_code == 1 and int(f["equal"]) == int(f["frames"]) - 1


def test_missing_files_are_reported(fe_golden_elf, tmp_path):
    run = run_semihosted(fe_golden_elf, [str(tmp_path / "nothing")], timeout=60)
    assert run.exit_code == 2 and "cannot open" in run.output
