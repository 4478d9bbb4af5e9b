package dev.paligemma.siglip;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Tensor;
import dev.paligemma.core.TensorNames;
import dev.paligemma.core.config.VisionConfig;
import dev.paligemma.core.ops.Activations;
import dev.paligemma.core.ops.Im2col;
import dev.paligemma.core.ops.Matmul;
import dev.paligemma.core.ops.Norms;
import dev.paligemma.core.ops.Parallel;
import dev.paligemma.core.ops.ThreadBuffer;
import dev.paligemma.core.ops.TiledAttention;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The SigLIP vision encoder as PaliGemma uses it: a non-overlapping patch convolution, learned
 * position embeddings (no CLS token), pre-LN transformer blocks with full bidirectional attention and
 * a GeLU (tanh) MLP, then {@code post_layernorm}; no pooling head. The output has one row per patch,
 * patches in row-major order.
 *
 * <p>Immutable and thread-safe: every call allocates its own buffers, so several threads may encode at
 * once. Large weight matrices are read straight from the checkpoint mapping, so the {@link Checkpoint}
 * must stay open while this encoder is used.
 */
public final class SiglipEncoder {
    /** Query rows per attention task: bounds each task's score buffer to {@code QUERY_BLOCK x numPatches}. */
    private static final int QUERY_BLOCK = 128;

    private final VisionConfig config;
    private final Tensor patchWeight;
    private final float[] patchBias;
    private final float[] positions;
    private final List<SiglipLayer> layers;
    private final float[] postNormWeight;
    private final float[] postNormBias;

    private SiglipEncoder(VisionConfig config, Tensor patchWeight, float[] patchBias, float[] positions,
                          List<SiglipLayer> layers, float[] postNormWeight, float[] postNormBias) {
        this.config = config;
        this.patchWeight = patchWeight;
        this.patchBias = patchBias;
        this.positions = positions;
        this.layers = layers;
        this.postNormWeight = postNormWeight;
        this.postNormBias = postNormBias;
    }

    /**
     * Binds the {@code vision_tower.vision_model.*} tensors of {@code checkpoint}, checking that every one
     * is present, floating point and shaped as {@code config} says.
     *
     * @throws CheckpointException naming the first missing or misshapen tensor
     */
    public static SiglipEncoder load(Checkpoint checkpoint, VisionConfig config) {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(config, "config");
        int h = config.hiddenSize();
        int c = config.numChannels();
        int p = config.patchSize();
        String emb = TensorNames.VISION + "embeddings.";
        Tensor patchWeight = Weights.requireFloat(
                checkpoint.tensor(emb + "patch_embedding.weight").requireShape(h, c, p, p));
        float[] patchBias = SiglipLayer.vector(checkpoint, emb + "patch_embedding.bias", h);
        Tensor pos = checkpoint.tensor(emb + "position_embedding.weight");
        if (pos.rank() == 2 && pos.dim(1) == h && pos.dim(0) != config.numPatches()) {
            // The usual cause: a 448 or 896 checkpoint paired with a config saying another image size.
            throw new CheckpointException(pos.source() + ": tensor '" + pos.name() + "' holds " + pos.dim(0)
                    + " position embeddings but the config's image_size " + config.imageSize() + " / patch_size "
                    + p + " gives " + config.numPatches() + " patches");
        }
        float[] positions = Weights.requireFloat(pos.requireShape(config.numPatches(), h)).toFloatArray();
        List<SiglipLayer> layers = new ArrayList<>(config.numHiddenLayers());
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(SiglipLayer.load(checkpoint, config, i));
        }
        String post = TensorNames.VISION + "post_layernorm.";
        return new SiglipEncoder(config, patchWeight, patchBias, positions, List.copyOf(layers),
                SiglipLayer.vector(checkpoint, post + "weight", h), SiglipLayer.vector(checkpoint, post + "bias", h));
    }

    public VisionConfig config() {
        return config;
    }

    /** Rows one image contributes to the output. */
    public int numPatches() {
        return config.numPatches();
    }

    /**
     * Encodes {@code batch} images.
     *
     * @param pixelValues {@code [batch, channels, imageSize, imageSize]} row-major, normalised to [-1, 1]
     *                    as the PaliGemma preprocessor makes them
     * @return {@code [batch * numPatches, hiddenSize]}: the output of {@code post_layernorm}, image by image
     * @throws InvalidArgumentException if {@code batch < 1} or the array length does not match that shape
     */
    public float[] encode(float[] pixelValues, int batch) {
        return encode(pixelValues, batch, null);
    }

    /** Receives the hidden state {@code [batch * numPatches, hiddenSize]} after each encoder block (debugging). */
    @FunctionalInterface
    interface LayerObserver {
        void afterLayer(int layer, float[] hidden);
    }

    float[] encode(float[] pixelValues, int batch, LayerObserver observer) {
        int n = config.numPatches();
        int h = config.hiddenSize();
        int rows = checkInput(pixelValues, batch);
        float[] x = embed(pixelValues, batch);
        float[] normed = new float[rows * h];
        float[] q = new float[rows * h];
        float[] k = new float[rows * h];
        float[] v = new float[rows * h];
        float[] attn = new float[rows * h];
        float[] proj = new float[rows * h];
        float[] mlp = new float[Math.multiplyExact(rows, config.intermediateSize())];
        float eps = (float) config.layerNormEps();
        float scale = (float) (1.0 / Math.sqrt(config.headDim()));
        AttentionBuffers buffers = attentionBuffers(batch, config.numAttentionHeads(), n, config.headDim(),
                TiledAttention.supports(config.headDim()));
        for (int li = 0; li < layers.size(); li++) {
            SiglipLayer l = layers.get(li);
            layerNorm(x, normed, rows, l.norm1Weight(), l.norm1Bias(), eps);
            linear(normed, rows, h, new Tensor[] {l.qWeight(), l.kWeight(), l.vWeight()},
                    new float[][] {l.qBias(), l.kBias(), l.vBias()}, new float[][] {q, k, v});
            // Scaling q (rows x h) once is cheaper than scaling every score (rows x n per head).
            scaleAll(q, scale);
            attention(q, k, v, attn, batch, n, h, config.numAttentionHeads(), config.headDim(), buffers);
            linear(attn, rows, h, l.outWeight(), l.outBias(), proj);
            addAll(x, proj);
            layerNorm(x, normed, rows, l.norm2Weight(), l.norm2Bias(), eps);
            linear(normed, rows, h, l.fc1Weight(), l.fc1Bias(), mlp);
            geluAll(mlp);
            linear(mlp, rows, config.intermediateSize(), l.fc2Weight(), l.fc2Bias(), proj);
            addAll(x, proj);
            if (observer != null) {
                observer.afterLayer(li, x.clone());
            }
        }
        float[] out = new float[rows * h];
        layerNorm(x, out, rows, postNormWeight, postNormBias, eps);
        return out;
    }

    /** Validates the input and returns the number of output rows. */
    private int checkInput(float[] pixelValues, int batch) {
        int c = config.numChannels();
        int s = config.imageSize();
        String shape = "[" + batch + ", " + c + ", " + s + ", " + s + "]";
        if (batch < 1) {
            throw new InvalidArgumentException("batch must be at least 1, got " + batch);
        }
        if (pixelValues == null) {
            throw new InvalidArgumentException("pixelValues is null; expected " + shape + " floats");
        }
        long expected = (long) batch * c * s * s;
        if (pixelValues.length != expected) {
            throw new InvalidArgumentException("pixelValues has " + pixelValues.length + " floats; expected "
                    + expected + " for shape " + shape + " (batch, channels, imageSize, imageSize)");
        }
        long rows = (long) batch * config.numPatches();
        long widest = rows * Math.max(Math.max(config.hiddenSize(), config.intermediateSize()),
                c * config.patchSize() * config.patchSize());
        if (widest > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException("batch " + batch + " is too large for one call: its activations exceed "
                    + "one Java array; encode fewer images at a time");
        }
        return (int) rows;
    }

    /** Patch convolution as im2col + GEMM, plus bias and position embeddings. */
    private float[] embed(float[] pixels, int batch) {
        int c = config.numChannels();
        int s = config.imageSize();
        int p = config.patchSize();
        int n = config.numPatches();
        int h = config.hiddenSize();
        int kdim = c * p * p;
        float[] patches = new float[batch * n * kdim];
        Parallel.forEach(batch, b -> {
            float[] one = Im2col.patches(pixels, b * c * s * s, c, s, s, p);
            System.arraycopy(one, 0, patches, b * n * kdim, n * kdim);
        });
        int rows = batch * n;
        float[] x = new float[rows * h];
        // The conv weight [h, c, p, p] is read as [h, c*p*p]: Matmul flattens trailing dims.
        Matmul.matmul(patches, rows, kdim, patchWeight, x);
        Parallel.forRange(rows, Weights.ROW_GRAIN, (from, to) -> {
            for (int r = from; r < to; r++) {
                Activations.add(x, r * h, patchBias, 0, h);
                Activations.add(x, r * h, positions, (r % n) * h, h);
            }
        });
        return x;
    }

    /**
     * Full bidirectional multi-head attention within each image: {@link TiledAttention} where it runs (the Vector
     * API compiled to SIMD), else the plain products below.
     *
     * <p>The plain path is parallel over (image, head, query block); each task writes a disjoint slice of
     * {@code out}. Both products are broadcast products ({@link Matmul#matmulPlain}: vectors along the output
     * row, no lane sums). For the scores each head's keys are first transposed ({@code [hd, n]}), so the keys run
     * along the vectors. When the head size is not a whole number of vectors (So400m: 72 = 4.5 vectors of 16
     * floats) values and outputs go through zero-padded rows: otherwise every weighted-value row ends in a scalar
     * loop. The zero columns' outputs are dropped.
     */
    static void attention(float[] q, float[] k, float[] v, float[] out, int batch, int n, int h, int heads, int hd,
                          AttentionBuffers buffers) {
        if (buffers.tiled() != null) {
            TiledAttention.attention(q, h, k, v, h, out, h, 1f, 0f, buffers.tiled());
            return;
        }
        int blocks = (n + QUERY_BLOCK - 1) / QUERY_BLOCK;
        float[] keysT = buffers.keysT(), vp = buffers.values(), op = buffers.outputs();
        int hp = vp == null ? hd : Matmul.vectorPadded(hd);
        // one task per (image, head): its keys transposed, its value rows padded
        Parallel.forEach(batch * heads, g -> {
            int src = (g / heads) * n * h + (g % heads) * hd;
            Matmul.transpose(k, src, h, n, hd, keysT, g * hd * n, n);
            if (vp != null) {
                for (int r = 0; r < n; r++) {
                    System.arraycopy(v, src + r * h, vp, (g * n + r) * hp, hd);
                }
            }
        });
        Parallel.forEach(batch * heads * blocks, task -> {
            int g = task / blocks;
            int r0 = (task % blocks) * QUERY_BLOCK;
            int len = Math.min(QUERY_BLOCK, n - r0);
            int base = (g / heads) * n * h + (g % heads) * hd;
            float[] scores = ThreadBuffer.SCORES.get(len * n);
            Matmul.matmulPlain(q, base + r0 * h, h, keysT, g * hd * n, n, scores, 0, n, len, n, hd);
            for (int i = 0; i < len; i++) {
                Activations.softmax(scores, i * n, n);
            }
            if (vp == null) {
                Matmul.matmulPlain(scores, 0, n, v, base, h, out, base + r0 * h, h, len, hd, n);
            } else {
                Matmul.matmulPlain(scores, 0, n, vp, g * n * hp, hp, op, (g * n + r0) * hp, hp, len, hp, n);
            }
        });
        if (op != null) {
            Parallel.forEach(batch * heads, g -> {
                int dst = (g / heads) * n * h + (g % heads) * hd;
                for (int r = 0; r < n; r++) {
                    System.arraycopy(op, (g * n + r) * hp, out, dst + r * h, hd);
                }
            });
        }
    }

    /**
     * The buffers {@link #attention} reuses across layers: the tiled path's workspace, or the plain path's
     * transposed keys of every head, then its zero-padded value and output rows, which are null when the head
     * size is whole vectors.
     */
    record AttentionBuffers(float[] keysT, float[] values, float[] outputs, TiledAttention.Workspace tiled) {
    }

    static AttentionBuffers attentionBuffers(int batch, int heads, int n, int hd, boolean tiled) {
        if (tiled) {
            return new AttentionBuffers(null, null, null, TiledAttention.workspace(batch, heads, heads, n, hd));
        }
        int size = Math.multiplyExact(Math.multiplyExact(batch * heads, n), hd);
        int hp = Matmul.vectorPadded(hd);
        if (hp == hd) {
            return new AttentionBuffers(new float[size], null, null, null);
        }
        int padded = Math.multiplyExact(Math.multiplyExact(batch * heads, n), hp);
        return new AttentionBuffers(new float[size], new float[padded], new float[padded], null);
    }

    /** {@code out = x w^T + bias}, the bias added as the product is stored. */
    static void linear(float[] x, int rows, int in, Tensor w, float[] bias, float[] out) {
        Matmul.matmul(x, rows, in, new Tensor[] {w}, new float[][] {bias}, new float[][] {out});
    }

    /** {@link #linear} for several weights against the same input, as one product ({@code outs[i] = x ws[i]^T + biases[i]}). */
    static void linear(float[] x, int rows, int in, Tensor[] ws, float[][] biases, float[][] outs) {
        Matmul.matmul(x, rows, in, ws, biases, outs);
    }

    private void layerNorm(float[] x, float[] out, int rows, float[] w, float[] b, float eps) {
        int h = config.hiddenSize();
        Parallel.forRange(rows, Weights.ROW_GRAIN, (from, to) -> {
            for (int r = from; r < to; r++) {
                Norms.layerNorm(out, r * h, x, r * h, w, b, h, eps);
            }
        });
    }

    private static final int ELEMENT_GRAIN = 1 << 14;

    private static void addAll(float[] dst, float[] src) {
        Parallel.forRange(dst.length, ELEMENT_GRAIN, (from, to) -> Activations.add(dst, from, src, from, to - from));
    }

    private static void scaleAll(float[] x, float s) {
        Parallel.forRange(x.length, ELEMENT_GRAIN, (from, to) -> Activations.scale(x, from, to - from, s));
    }

    private static void geluAll(float[] x) {
        Parallel.forRange(x.length, ELEMENT_GRAIN, (from, to) -> Activations.geluTanh(x, from, to - from));
    }
}
