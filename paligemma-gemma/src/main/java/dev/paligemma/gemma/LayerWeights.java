package dev.paligemma.gemma;

import dev.paligemma.core.Tensor;

/**
 * One decoder block's weights. Projections stay as mapped checkpoint tensors (read by the matmul
 * kernels in their stored dtype); the small norm vectors are float32 copies.
 *
 * <p>{@code postAttentionNorm} is the pre-MLP norm in Gemma 1 (the checkpoint name is historical) and
 * the norm applied to the attention output in Gemma 2; {@code preFeedforwardNorm} and
 * {@code postFeedforwardNorm} exist only in Gemma 2 (null otherwise).
 */
record LayerWeights(float[] inputNorm, float[] postAttentionNorm, float[] preFeedforwardNorm,
                    float[] postFeedforwardNorm, Tensor q, Tensor k, Tensor v, Tensor o,
                    Tensor gate, Tensor up, Tensor down) {
}
