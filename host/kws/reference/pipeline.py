"""The host reference pipeline of the device: front end (kws.frontend.fixed) -> int8 network
(TFLM's interpreter, the oracle, or the firmware's C built for the host, proven equal) ->
detector (kws.reference.detector). What the device must reproduce, window by window, event by event."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kws.frontend import fixed
from kws.reference import detector as det
from kws.reference.tflite_model import TFLiteModel
from kws.released import ReleasedModel


class ReferencePipeline:
    def __init__(
        self, spec, model_dir: str | Path, *, engine: str = "tflm", thresholds: dict[str, float] | None = None
    ):
        """``thresholds``: per-keyword posterior thresholds in place of the model's calibrated ones."""
        self.spec = spec
        self.model_dir = Path(model_dir)
        self.model = ReleasedModel.load(self.model_dir)
        self.labels = list(self.model.labels)
        self.blob = self.model.blob()
        m = TFLiteModel.from_bytes(self.blob)
        self.out_scale = float(m.tensors[m.outputs[0]].scale[0])
        self.engine = engine
        self.thresholds = thresholds if thresholds is not None else self.model.thresholds

    def infer(self, windows: np.ndarray) -> np.ndarray:
        if self.engine == "tflm":
            from kws.reference.tflm import tflm_logits

            return tflm_logits(self.blob, windows)
        raise ValueError(self.engine)

    def new_detector(self) -> det.Detector:
        d = self.spec.detector
        thr = det.class_thresholds_q(d, self.labels, self.thresholds)
        thr_map = dict(enumerate(thr))
        return det.Detector(
            d,
            keyword_classes=list(range(2, len(self.labels))),
            lut=det.exp_lut(self.out_scale, d.posterior_frac_bits),
            thresholds_q=thr_map,
            refractory=det.refractory_runs(d, self.spec.frontend.hop_samples, self.spec.frontend.sample_rate_hz),
        )

    def run(self, pcm: np.ndarray) -> tuple[np.ndarray, list[det.Event]]:
        """(logits of every network window [runs, classes], events) for an int16 stream."""
        feats = fixed.quantize_cepstra(fixed.cepstra(pcm, self.spec.frontend), self.spec.frontend)
        return det.run_stream(feats, self.infer, self.spec, self.new_detector())

    def stream(self) -> PipelineStream:
        return PipelineStream(self)


class PipelineStream:
    """The reference pipeline fed in chunks of any size (a microphone): the same windows,
    logits and events as :meth:`ReferencePipeline.run` over the concatenated audio."""

    def __init__(self, pipe: ReferencePipeline):
        from kws.frontend import Frontend

        self.pipe = pipe
        spec = pipe.spec
        self.fe = Frontend(spec.frontend).stream()
        self.window = spec.model.window_frames
        self.stride = spec.detector.stride_frames
        self.ring = np.zeros((self.window, spec.frontend.num_cepstra), np.int8)
        self.frames = 0
        self.detector = pipe.new_detector()
        self.last_logits: np.ndarray | None = None

    def push(self, pcm: np.ndarray) -> list[det.Event]:
        """Audio in; the events it completed out. ``last_logits`` holds the newest window's."""
        fe = self.pipe.spec.frontend
        events = []
        for f in self.fe.push(pcm):
            self.ring = np.roll(self.ring, -1, axis=0)
            self.ring[-1] = f
            self.frames += 1
            if self.frames < self.window or (self.frames - self.window) % self.stride:
                continue
            self.last_logits = self.pipe.infer(self.ring[None])[0]
            ev = self.detector.push(self.last_logits, (self.frames - 1) * fe.hop_samples + fe.window_samples)
            if ev is not None:
                events.append(ev)
        return events
