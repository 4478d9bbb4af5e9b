package dev.paligemma.siglip;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.Tensor;
import dev.paligemma.core.TensorNames;
import dev.paligemma.core.config.VisionConfig;

/**
 * The weights of one pre-LN SigLIP encoder block. Matrices stay mapped checkpoint tensors; norm
 * weights and biases are converted to float32 once here because every row of every call reads them.
 */
record SiglipLayer(float[] norm1Weight, float[] norm1Bias,
                   Tensor qWeight, float[] qBias, Tensor kWeight, float[] kBias,
                   Tensor vWeight, float[] vBias, Tensor outWeight, float[] outBias,
                   float[] norm2Weight, float[] norm2Bias,
                   Tensor fc1Weight, float[] fc1Bias, Tensor fc2Weight, float[] fc2Bias) {

    static SiglipLayer load(Checkpoint ckpt, VisionConfig cfg, int index) {
        String p = TensorNames.VISION + "encoder.layers." + index + ".";
        int h = cfg.hiddenSize();
        int inter = cfg.intermediateSize();
        return new SiglipLayer(
                vector(ckpt, p + "layer_norm1.weight", h), vector(ckpt, p + "layer_norm1.bias", h),
                matrix(ckpt, p + "self_attn.q_proj.weight", h, h), vector(ckpt, p + "self_attn.q_proj.bias", h),
                matrix(ckpt, p + "self_attn.k_proj.weight", h, h), vector(ckpt, p + "self_attn.k_proj.bias", h),
                matrix(ckpt, p + "self_attn.v_proj.weight", h, h), vector(ckpt, p + "self_attn.v_proj.bias", h),
                matrix(ckpt, p + "self_attn.out_proj.weight", h, h), vector(ckpt, p + "self_attn.out_proj.bias", h),
                vector(ckpt, p + "layer_norm2.weight", h), vector(ckpt, p + "layer_norm2.bias", h),
                matrix(ckpt, p + "mlp.fc1.weight", inter, h), vector(ckpt, p + "mlp.fc1.bias", inter),
                matrix(ckpt, p + "mlp.fc2.weight", h, inter), vector(ckpt, p + "mlp.fc2.bias", h));
    }

    /** A float weight matrix {@code [rows, cols]}, left mapped. */
    static Tensor matrix(Checkpoint ckpt, String name, long rows, long cols) {
        return Weights.requireFloat(ckpt.tensor(name).requireShape(rows, cols));
    }

    /** A float vector {@code [size]}, copied to the heap. */
    static float[] vector(Checkpoint ckpt, String name, long size) {
        return Weights.requireFloat(ckpt.tensor(name).requireShape(size)).toFloatArray();
    }
}
