package dev.paligemma.core.config;

/**
 * The Gemma decoder's shape and numerical constants, from {@code config.json}'s {@code text_config},
 * with transformers' defaults applied for omitted keys.
 *
 * @param modelType             {@code gemma} (PaliGemma 1) or {@code gemma2} (PaliGemma 2)
 * @param queryPreAttnScalar    attention scores are scaled by {@code queryPreAttnScalar^-0.5}
 *                              (Gemma 1: head_dim)
 * @param attnLogitSoftcapping  Gemma 2 attention softcap, 0 when off
 * @param finalLogitSoftcapping Gemma 2 final-logit softcap, 0 when off
 * @param slidingWindow         Gemma 2 sliding window (applied only on request), 0 for Gemma 1
 */
public record TextConfig(String modelType, int hiddenSize, int intermediateSize, int numHiddenLayers,
                         int numAttentionHeads, int numKeyValueHeads, int headDim, double rmsNormEps,
                         double ropeTheta, String hiddenActivation, int vocabSize, int maxPositionEmbeddings,
                         double queryPreAttnScalar, double attnLogitSoftcapping, double finalLogitSoftcapping,
                         int slidingWindow) {

    public boolean isGemma2() {
        return modelType.equals("gemma2");
    }

    static TextConfig parse(JsonConfig t, int vocabDefault) {
        String type = t.string("model_type", "gemma");
        boolean gemma2 = switch (type) {
            case "gemma" -> false;
            case "gemma2" -> true;
            default -> throw t.error("model_type", "is '" + type + "'; supported: gemma (PaliGemma 1), gemma2 (PaliGemma 2)");
        };
        // Defaults are transformers' GemmaConfig / Gemma2Config ones: hub configs omit keys equal to them
        // (PaliGemma 2 3B's text_config has no num_attention_heads, relying on Gemma2Config's 8).
        int heads = t.integer("num_attention_heads", gemma2 ? 8 : 16, 1, 1024);
        int kvHeads = t.integer("num_key_value_heads", gemma2 ? 4 : 16, 1, 1024);
        if (heads % kvHeads != 0) {
            throw t.error("num_key_value_heads", "(" + kvHeads + ") does not divide num_attention_heads " + heads);
        }
        int headDim = t.integer("head_dim", 256, 2, 1 << 14);
        if (headDim % 2 != 0) {
            throw t.error("head_dim", "must be even for rotary embeddings, got " + headDim);
        }
        String act = t.has("hidden_activation") ? t.string("hidden_activation", null)
                : t.string("hidden_act", "gelu_pytorch_tanh");
        if (!act.equals("gelu_pytorch_tanh") && !act.equals("gelu_tanh") && !act.equals("gelu")) {
            throw t.error("hidden_activation", "is '" + act + "'; only the GeLU family is supported");
        }
        double theta = t.object("rope_parameters").number("rope_theta", t.number("rope_theta", 10000.0));
        String ropeType = t.object("rope_parameters").string("rope_type", "default");
        if (!ropeType.equals("default")) {
            throw t.error("rope_parameters.rope_type", "is '" + ropeType + "'; only default RoPE is supported");
        }
        return new TextConfig(type,
                t.integer("hidden_size", gemma2 ? 2304 : 3072, 1, 1 << 16),
                t.integer("intermediate_size", gemma2 ? 9216 : 24576, 1, 1 << 20),
                t.integer("num_hidden_layers", gemma2 ? 26 : 28, 1, 1024),
                heads, kvHeads, headDim,
                t.number("rms_norm_eps", 1e-6),
                theta, act,
                t.integer("vocab_size", vocabDefault, 1, 1 << 24),
                t.integer("max_position_embeddings", 8192, 1, 1 << 24),
                gemma2 ? t.number("query_pre_attn_scalar", 256) : headDim,
                gemma2 ? t.optionalNumber("attn_logit_softcapping", 50.0, 0) : 0,
                gemma2 ? t.optionalNumber("final_logit_softcapping", 30.0, 0) : 0,
                gemma2 ? slidingWindow(t) : 0);
    }

    private static int slidingWindow(JsonConfig t) {
        double w = t.optionalNumber("sliding_window", 4096, 0);
        if (w < 0 || w != Math.rint(w) || w > Integer.MAX_VALUE) {
            throw t.error("sliding_window", "must be a non-negative integer or null, got " + w);
        }
        return (int) w;
    }
}
