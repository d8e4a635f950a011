"""The DS-CNN family (Zhang et al., "Hello Edge"; MLPerf Tiny's KWS model), on int8 features.

input [window_frames, cepstra, 1] (float = int8 feature * 2^input_scale_log2)
-> Conv2D(width, first_kernel, first_stride) + BN + ReLU
   (time_padding "valid": no padding along time in any layer, SAME padding along cepstra made
   explicit: each output row then depends on input rows of its own window only, so the device
   computes every row once and reuses it across overlapping windows — the streaming network;
   cepstra_padding "valid" with a first kernel as wide as the cepstra: they become the channels
   of a temporal network, every later layer one column wide)
-> blocks x [DepthwiseConv2D block_kernel (3x3; 9x1 temporal) + BN + ReLU -> Conv2D 1x1 (width) + BN + ReLU]
-> AveragePooling2D over the whole map -> Reshape(width) -> Dropout -> Dense(classes): logits

Batch normalization folds into the convolutions at conversion; the network ends in logits
(the detector turns them into posteriors with its own integer softmax). Only ops the C
generator supports appear in the converted model: CONV_2D, DEPTHWISE_CONV_2D,
AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _feature_mask_layer():
    import keras
    from keras import ops

    class FeatureMask(keras.layers.Layer):
        """SpecAugment on features, training only: zero ``time_masks`` runs of up to
        ``time_width`` frames and ``freq_masks`` runs of up to ``freq_width`` cepstra."""

        def __init__(self, time_masks=2, time_width=6, freq_masks=1, freq_width=2, seed=0, **kw):
            super().__init__(**kw)
            self.cfg = dict(
                time_masks=time_masks, time_width=time_width, freq_masks=freq_masks, freq_width=freq_width, seed=seed
            )
            self.gen = keras.random.SeedGenerator(seed)

        def _masks(self, batch, length, count, width):
            pos = ops.arange(length, dtype="float32")[None, :]
            keep = ops.ones((batch, length))
            for _ in range(count):
                w = keras.random.uniform((batch, 1), 0, width + 1, seed=self.gen)
                s = keras.random.uniform((batch, 1), 0, length, seed=self.gen)
                keep = keep * ops.cast(ops.logical_or(pos < s, pos >= s + ops.floor(w)), "float32")
            return keep

        def call(self, x, training=False):
            if not training:
                return x
            b = ops.shape(x)[0]
            t = self._masks(b, x.shape[1], self.cfg["time_masks"], self.cfg["time_width"])
            f = self._masks(b, x.shape[2], self.cfg["freq_masks"], self.cfg["freq_width"])
            return x * t[:, :, None, None] * f[:, None, :, None]

        def get_config(self):
            return {**super().get_config(), **self.cfg}

    return FeatureMask


def custom_objects() -> dict:
    return {"FeatureMask": _feature_mask_layer()}


def build(
    model_spec,
    num_cepstra: int,
    num_classes: int,
    *,
    batch_size: int | None = None,
    dropout: float = 0.2,
    mask: bool = True,
    keras_mod=None,
):
    """The network; ``mask`` adds the training-only feature masking in front (export without it).
    ``keras_mod``: build with another Keras of the same API (tf-keras, for QAT; no mask there)."""
    if keras_mod is None:
        import keras
    else:
        keras = keras_mod
        if mask:
            raise ValueError("the feature mask is a Keras 3 layer: build other Keras modules with mask=False")
    layers = keras.layers

    m = model_spec
    c = m.channels  # an ensemble (members > 1) is built merged: its 1x1 weights are set block-diagonal
    inp = keras.Input((m.window_frames, num_cepstra, 1), batch_size=batch_size, name="features")
    x = _feature_mask_layer()(name="feature_mask")(inp) if mask else inp
    if m.time_padding == "valid":
        # no padding along time (the device reuses every row across windows), SAME along cepstra
        if m.cepstra_padding == "same":
            x = layers.ZeroPadding2D(((0, 0), _same_pad(num_cepstra, m.first_kernel[1], m.first_stride[1])))(x)
        x = layers.Conv2D(c, m.first_kernel, strides=m.first_stride, padding="valid", use_bias=False)(x)
    else:
        x = layers.Conv2D(c, m.first_kernel, strides=m.first_stride, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for _ in range(m.blocks):
        if m.time_padding == "valid":
            pad = _same_pad(x.shape[2], m.block_kernel[1], 1)
            if any(pad):
                x = layers.ZeroPadding2D(((0, 0), pad))(x)
            x = layers.DepthwiseConv2D(m.block_kernel, padding="valid", use_bias=False)(x)
        else:
            x = layers.DepthwiseConv2D(m.block_kernel, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.Conv2D(c, (1, 1), use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
    x = layers.Reshape((c,))(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    out = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inp, out, name=f"dscnn_w{m.width}_b{m.blocks}" + (f"_x{m.members}" if m.members > 1 else ""))


def _same_pad(size: int, k: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME padding along one axis: (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def parameter_count(model_spec, num_cepstra: int, num_classes: int) -> int:
    """Weights after batch-norm folding (what the device stores), without building the model."""
    m = model_spec
    k = m.first_kernel[0] * m.first_kernel[1]
    n = k * m.width + m.width
    n += m.blocks * (m.block_kernel[0] * m.block_kernel[1] * m.width + m.width + m.width * m.width + m.width)
    return m.members * n + m.channels * num_classes + num_classes  # members: one classifier over all
