"""The island measured from the real linked firmware image: its breakdown adds up to what
arm-none-eabi-size says of the ELF, the stack high-water mark is real and under the call graph's
bound, and the default model fits the 48 KB target."""

import re
import subprocess

import pytest

from kws.footprint import budget as b
from kws.paths import REPO_ROOT

ELF = REPO_ROOT / "build" / "qemu" / "kws_app.elf"


@pytest.fixture(scope="module")
def image(qemu_images):
    return qemu_images / "kws_app.elf"


def test_map_breakdown_matches_arm_none_eabi_size(image):
    out = subprocess.run(["arm-none-eabi-size", "-A", str(image)], capture_output=True, text=True, check=True).stdout
    sizes = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)\s+\d+", out, re.M)}
    loaded = b.loaded_bytes(image.with_suffix(".map"))
    flash = sizes.get(".isr_vector", 0) + sizes[".text"] + sizes.get(".ARM.exidx", 0)
    # input sections + alignment fill = output sections
    assert 0 <= flash - (loaded["code"] + loaded["rodata"]) <= 64
    assert 0 <= sizes.get(".bss", 0) - loaded["bss"] <= 64
    assert sizes.get(".data", 0) == loaded["data"]


def test_measured_island_fits_the_target(image, spec):
    from kws.footprint.budget import measured_budget

    rep = measured_budget(spec, image)
    assert rep["all_measured"] and rep["fits"]
    names = {i["name"] for i in rep["items"]}
    assert {
        "kws_frontend (code)",
        "kws_fe_tables (rodata)",
        "kws_nn_pwconv_s8 (code)",
        "kws_nn_dwconv_s8 (code)",
        "kws_net (rodata)",
        "kws_app (bss)",
        "worst-case stack (call graph)",
        "peak stack (painted, whole run)",
    } <= names
    sizes = {i["name"]: i["bytes"] for i in rep["items"]}
    # the run's high-water mark stays under the bound from the call graph, which the total counts
    assert 100 < sizes["peak stack (painted, whole run)"] <= sizes["worst-case stack (call graph)"] < 4096
    port = [i for i in rep["items"] if "not counted" in i["source"]]
    assert "peak stack (painted, whole run)" in {i["name"] for i in port} and rep["total_bytes"] == sum(
        i["bytes"] for i in rep["items"] if i not in port
    )
    assert rep["meets_target"], b.format_table(rep)


def test_recording_the_measured_budget_into_a_released_model(image, spec, tmp_path):
    """`kws budget --elf ... --record MODEL_DIR`: the measured island goes into the manifest
    (still valid: hashes point at the files) and the card; an image running another model, an
    estimate, or a directory without a manifest is refused."""
    import json
    import shutil

    from kws.errors import KwsError
    from kws.footprint.budget import estimated_budget, measured_budget
    from kws.release import record_budget, validate
    from kws.released import ReleasedModel

    model = tmp_path / "commands"
    shutil.copytree(REPO_ROOT / "models" / "commands", model)
    rep = measured_budget(spec, image, model_sha256=ReleasedModel.load(model).sha256)
    record_budget(model, rep)
    got = json.loads((model / "manifest.json").read_text())
    validate(got, model)
    assert got["budget"] == rep and got["budget"]["all_measured"]
    assert f"{rep['total_bytes']:,} B of the" in (model / "MODEL_CARD.md").read_text()
    assert "(all measured from `kws_app.elf`)" in (model / "MODEL_CARD.md").read_text()
    with pytest.raises(KwsError, match="runs model .*generate the network from that model"):
        measured_budget(spec, image, model_sha256="0" * 64)
    with pytest.raises(KwsError, match="only a budget measured"):
        record_budget(model, estimated_budget(spec, (model / "model.tflite").read_bytes()))
    with pytest.raises(KwsError, match="not a released model"):
        ReleasedModel.load(tmp_path)


@pytest.mark.slow
def test_the_serial_protocol_image_is_measured_with_its_stack_over_the_link(image, spec):
    """kws_serial.elf (what `kws device` talks to) runs in QEMU, gets 3 s of audio over its link and
    reports its painted stack in STATS; its hello names the released model."""
    import json

    from kws.footprint.budget import measured_budget

    sha = json.loads((REPO_ROOT / "models" / "commands" / "manifest.json").read_text())["model"]["sha256"]
    rep = measured_budget(spec, image.with_name("kws_serial.elf"), model_sha256=sha)
    assert rep["all_measured"] and rep["image"] == "kws_serial.elf" and rep["meets_target"], b.format_table(rep)
    items = {i["name"]: i["bytes"] for i in rep["items"]}
    assert "kws_proto (code)" in items
    assert 100 < items["peak stack (painted, whole run)"] <= items["worst-case stack (call graph)"] < 4096
