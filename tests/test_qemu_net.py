"""The generated network on the emulated Cortex-M4F (SIMD kernels, QEMU netduinoplus2) equals
TFLM's host interpreter: the MLPerf Tiny KWS reference model (to its logits) and our model."""

import numpy as np
import pytest

from kws.device.qemu import net_bench
from kws.paths import REPO_ROOT
from kws.reference.tflite_model import TFLiteModel
from test_codegen_model import ANCHOR, tflm_reference


@pytest.mark.skipif(not ANCHOR.exists(), reason="shared/anchors not beside the checkout")
def test_mlperf_reference_model_in_qemu(tmp_path):
    blob = ANCHOR.read_bytes()
    x = np.fromfile(ANCHOR.with_name("mlperf_tiny_kws_input0.int8"), dtype=np.int8).reshape(1, 1, 49, 10, 1)
    ref = tflm_reference(blob, x, TFLiteModel.from_bytes(blob).operators[-1].inputs[0])[0]
    r = net_bench(blob, x, ref, tmp_path, name="test_anchor", drop_softmax=True, source=str(ANCHOR))
    assert r["equal"]
    assert [k for k, _ in r["layers"]] == ["conv2d"] + ["dwconv2d", "pwconv"] * 4 + ["avgpool", "fc"]
    assert r["instructions"] > 1e6


@pytest.mark.parametrize("seed", [0, 1])
def test_our_model_in_qemu(tmp_path, seed):
    model = REPO_ROOT / "models" / "commands" / "model.tflite"
    if not model.exists():
        pytest.skip("no released commands model")
    blob = model.read_bytes()
    x = np.random.default_rng(seed).integers(-128, 128, (1, 1, 49, 13, 1)).astype(np.int8)
    r = net_bench(blob, x, tflm_reference(blob, x)[0], tmp_path, name=f"test_ours{seed}", source=str(model))
    assert r["equal"]
