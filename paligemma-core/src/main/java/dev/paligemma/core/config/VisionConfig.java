package dev.paligemma.core.config;

/**
 * The SigLIP vision tower's shape, from {@code config.json}'s {@code vision_config}.
 *
 * @param hiddenSize        width of the encoder (1152 for So400m)
 * @param intermediateSize  MLP width (4304 for So400m)
 * @param numHiddenLayers   encoder layers (27)
 * @param numAttentionHeads heads (16)
 * @param imageSize         input side in pixels (224, 448 or 896)
 * @param patchSize         patch side in pixels (14)
 * @param numChannels       input channels (3)
 * @param layerNormEps      LayerNorm epsilon (1e-6)
 * @param projectionDim     output width of the multi-modal projector (the decoder's hidden size)
 */
public record VisionConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
                           int imageSize, int patchSize, int numChannels, double layerNormEps, int projectionDim) {

    /** Number of image tokens one image contributes: {@code (imageSize / patchSize)^2}. */
    public int numPatches() {
        int side = imageSize / patchSize;
        return side * side;
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** @param projectionDim the top-level {@code projection_dim}, which (as in transformers) overrides vision_config's */
    static VisionConfig parse(JsonConfig v, Integer projectionDim, int projectionDimDefault) {
        String type = v.string("model_type", "siglip_vision_model");
        if (!type.equals("siglip_vision_model")) {
            throw v.error("model_type", "is '" + type + "'; only siglip_vision_model is supported");
        }
        // Defaults are transformers' SiglipVisionConfig ones (patch 16, not PaliGemma's 14: hub configs state 14).
        int hidden = v.integer("hidden_size", 768, 1, 1 << 16);
        int heads = v.integer("num_attention_heads", 12, 1, 1024);
        if (hidden % heads != 0) {
            throw v.error("num_attention_heads", "(" + heads + ") does not divide hidden_size " + hidden);
        }
        int image = v.integer("image_size", 224, 1, 1 << 14);
        int patch = v.integer("patch_size", 16, 1, 1 << 10);
        if (image % patch != 0) {
            throw v.error("patch_size", "(" + patch + ") does not divide image_size " + image);
        }
        return new VisionConfig(hidden,
                v.integer("intermediate_size", 3072, 1, 1 << 20),
                v.integer("num_hidden_layers", 12, 1, 1024),
                heads, image, patch,
                v.integer("num_channels", 3, 1, 16),
                v.number("layer_norm_eps", 1e-6),
                projectionDim != null ? projectionDim : v.integer("projection_dim", projectionDimDefault, 1, 1 << 20));
    }
}
