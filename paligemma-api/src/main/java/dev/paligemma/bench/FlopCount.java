package dev.paligemma.bench;

import dev.paligemma.core.config.TextConfig;
import dev.paligemma.core.config.VisionConfig;

/**
 * Floating-point operation counts of the model's passes, counting a multiply-add as 2 FLOPs and only
 * the matrix products (norms, softmax, GeLU, RoPE and residual adds are O(tokens x width), under 1 %).
 *
 * <p>Vision, one image of {@code N = (S/p)^2} patches, width {@code h}, MLP {@code I}, {@code L} layers,
 * {@code c} channels, projector to {@code D}:
 * <pre>
 *   2N * (h*c*p*p                       patch embedding (a [h, c*p*p] matmul per patch)
 *         + L * (4h^2 + 2h*I)           q, k, v, out projections and fc1, fc2
 *         + h*D)                        multi-modal projector
 *   + L * 4 * N^2 * h                   attention: Q K^T and P V, N x N per head, summed over heads
 * </pre>
 *
 * <p>Decoder prefill of {@code T} tokens, width {@code H}, MLP {@code I}, query width {@code Q = heads*headDim},
 * key/value width {@code K = kvHeads*headDim}, vocabulary {@code V}, {@code L} layers (the prefix attends to
 * the whole prefix, so attention is T x T):
 * <pre>
 *   L * (2T * H * (2Q + 2K)             q, k, v, o projections
 *        + 2T * 3 * H * I               gate, up, down
 *        + 4 * T^2 * Q)                 Q K^T and P V
 *   + 2 * H * V                         output head, for the last position only
 * </pre>
 *
 * <p>One decode step at a cache of {@code C} positions (the new token included): the same with T = 1
 * and the attention term {@code 4 * C * Q}.
 */
public final class FlopCount {
    private FlopCount() {
    }

    /** FLOPs of encoding one image and projecting it to the decoder width. */
    public static double vision(VisionConfig v) {
        double n = v.numPatches();
        double h = v.hiddenSize();
        double patch = (double) v.numChannels() * v.patchSize() * v.patchSize();
        double layers = v.numHiddenLayers();
        return 2 * n * (h * patch + layers * (4 * h * h + 2 * h * v.intermediateSize()) + h * v.projectionDim())
                + layers * 4 * n * n * h;
    }

    /** FLOPs of a prefill of {@code tokens} positions, logits for the last one. */
    public static double prefill(TextConfig t, int tokens) {
        double tt = tokens;
        double h = t.hiddenSize();
        double q = (double) t.numAttentionHeads() * t.headDim();
        double kv = (double) t.numKeyValueHeads() * t.headDim();
        double perLayer = 2 * tt * h * (2 * q + 2 * kv) + 2 * tt * 3 * h * t.intermediateSize() + 4 * tt * tt * q;
        return t.numHiddenLayers() * perLayer + 2 * h * t.vocabSize();
    }

    /** FLOPs of one decode step when the cache holds {@code cached} positions including the new one. */
    public static double decodeStep(TextConfig t, int cached) {
        double h = t.hiddenSize();
        double q = (double) t.numAttentionHeads() * t.headDim();
        double kv = (double) t.numKeyValueHeads() * t.headDim();
        double perLayer = 2 * h * (2 * q + 2 * kv) + 2 * 3 * h * t.intermediateSize() + 4.0 * cached * q;
        return t.numHiddenLayers() * perLayer + 2 * h * t.vocabSize();
    }
}
