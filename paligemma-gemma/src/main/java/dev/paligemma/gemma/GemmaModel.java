package dev.paligemma.gemma;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.DType;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Tensor;
import dev.paligemma.core.TensorNames;
import dev.paligemma.core.config.PaliGemmaConfig;
import dev.paligemma.core.config.TextConfig;
import dev.paligemma.core.ops.Activations;
import dev.paligemma.core.ops.CachedAttention;
import dev.paligemma.core.ops.Matmul;
import dev.paligemma.core.ops.MatvecPlan;
import dev.paligemma.core.ops.Norms;
import dev.paligemma.core.ops.Parallel;
import dev.paligemma.core.ops.Rope;
import dev.paligemma.core.ops.ThreadBuffer;
import dev.paligemma.core.ops.TiledAttention;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * PaliGemma's language decoder: Gemma 1 (PaliGemma 1) or Gemma 2 (PaliGemma 2) blocks over a prefix of
 * image rows and text embeddings, with a tied (or separate) output head.
 *
 * <p>The object holds only immutable weights (zero-copy views of the checkpoint, valid while the
 * {@link Checkpoint} stays open) and is safe to share between threads. Per-call state (the KV cache)
 * lives in a {@link GemmaSession} from {@link #newSession(int)}.
 *
 * <p>Attention mask: the prefix attends to itself bidirectionally; each generated token attends
 * causally. With {@link #withSlidingWindow(boolean)} on, Gemma 2's even layers (0, 2, 4, ...) restrict
 * a generated token at position i to keys j with {@code i - j < sliding_window}; the prefix still sees
 * the whole prefix. Off by default.
 */
public final class GemmaModel {
    /**
     * Most rows of the MLP processed together during prefill, bounding the {@code [rows, intermediate]} buffers.
     * A prefix is cut into equal chunks ({@link #mlpChunk}): every chunk decodes each MLP weight once, and with
     * chunks of 256 a 266-token prefix paid that a second time for a chunk of 10 rows.
     */
    private static final int MLP_CHUNK = 512;
    /** Query rows per attention task during prefill, bounding each task's score buffer. */
    private static final int ATTENTION_BLOCK = 128;

    private final TextConfig config;
    private final int imageTokenIndex;
    private final List<Integer> eosTokenIds;
    private final Tensor embedTokens;
    private final Tensor outputHead;
    private final float[] finalNorm;
    private final LayerWeights[] layers;
    private final boolean slidingWindow;

    final int hidden;
    final int heads;
    final int kvHeads;
    final int headDim;
    final int qDim;
    final int kvDim;
    final int intermediate;
    final int vocab;
    final float eps;
    final float embedScale;
    final float attentionScale;

    private GemmaModel(TextConfig config, int imageTokenIndex, List<Integer> eosTokenIds, Tensor embedTokens,
                       Tensor outputHead, float[] finalNorm, LayerWeights[] layers, boolean slidingWindow) {
        this.config = config;
        this.imageTokenIndex = imageTokenIndex;
        this.eosTokenIds = List.copyOf(eosTokenIds);
        this.embedTokens = embedTokens;
        this.outputHead = outputHead;
        this.finalNorm = finalNorm;
        this.layers = layers;
        this.slidingWindow = slidingWindow;
        this.hidden = config.hiddenSize();
        this.heads = config.numAttentionHeads();
        this.kvHeads = config.numKeyValueHeads();
        this.headDim = config.headDim();
        this.qDim = heads * headDim;
        this.kvDim = kvHeads * headDim;
        this.intermediate = config.intermediateSize();
        this.vocab = config.vocabSize();
        this.eps = (float) config.rmsNormEps();
        // float32 sqrt(H), multiplied in float32, as the reference does
        this.embedScale = (float) Math.sqrt(hidden);
        this.attentionScale = (float) Math.pow(config.queryPreAttnScalar(), -0.5);
    }

    /**
     * Binds the decoder tensors of {@code checkpoint} ({@link TensorNames#DECODER} names; the output
     * head is {@link TensorNames#LM_HEAD} if present, else the tied embeddings) and checks every shape
     * against {@code config}.
     *
     * @throws CheckpointException naming the tensor that is missing, has the wrong shape or dtype, or
     *                             a layer the config does not declare
     */
    public static GemmaModel load(Checkpoint checkpoint, PaliGemmaConfig config) {
        TextConfig c = config.text();
        int h = c.hiddenSize();
        int qDim = c.numAttentionHeads() * c.headDim();
        int kvDim = c.numKeyValueHeads() * c.headDim();
        int inter = c.intermediateSize();
        String p = TensorNames.DECODER;
        Tensor embed = matrix(checkpoint, p + "embed_tokens.weight", c.vocabSize(), h);
        Tensor head = checkpoint.find(TensorNames.LM_HEAD).isPresent()
                ? matrix(checkpoint, TensorNames.LM_HEAD, c.vocabSize(), h) : embed;
        float[] norm = vector(checkpoint, p + "norm.weight", h);
        LayerWeights[] layers = new LayerWeights[c.numHiddenLayers()];
        for (int l = 0; l < layers.length; l++) {
            String lp = p + "layers." + l + ".";
            boolean g2 = c.isGemma2();
            layers[l] = new LayerWeights(
                    vector(checkpoint, lp + "input_layernorm.weight", h),
                    vector(checkpoint, lp + "post_attention_layernorm.weight", h),
                    g2 ? vector(checkpoint, lp + "pre_feedforward_layernorm.weight", h) : null,
                    g2 ? vector(checkpoint, lp + "post_feedforward_layernorm.weight", h) : null,
                    matrix(checkpoint, lp + "self_attn.q_proj.weight", qDim, h),
                    matrix(checkpoint, lp + "self_attn.k_proj.weight", kvDim, h),
                    matrix(checkpoint, lp + "self_attn.v_proj.weight", kvDim, h),
                    matrix(checkpoint, lp + "self_attn.o_proj.weight", h, qDim),
                    matrix(checkpoint, lp + "mlp.gate_proj.weight", inter, h),
                    matrix(checkpoint, lp + "mlp.up_proj.weight", inter, h),
                    matrix(checkpoint, lp + "mlp.down_proj.weight", h, inter));
        }
        Set<Integer> extra = new TreeSet<>();
        for (String name : checkpoint.names()) {
            if (name.startsWith(p + "layers.")) {
                String rest = name.substring((p + "layers.").length());
                int dot = rest.indexOf('.');
                try {
                    int idx = Integer.parseInt(dot < 0 ? rest : rest.substring(0, dot));
                    if (idx >= layers.length) {
                        extra.add(idx);
                    }
                } catch (NumberFormatException e) {
                    throw new CheckpointException(checkpoint.directory() + ": tensor '" + name + "' has no layer number");
                }
            }
        }
        if (!extra.isEmpty()) {
            throw new CheckpointException(checkpoint.directory() + ": checkpoint has decoder layers " + extra
                    + " but config.json declares num_hidden_layers = " + layers.length);
        }
        return new GemmaModel(c, config.imageTokenIndex(), config.eosTokenIds(), embed, head, norm, layers, false);
    }

    private static Tensor matrix(Checkpoint ckpt, String name, long rows, long cols) {
        Tensor t = ckpt.tensor(name);
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16 && t.dtype() != DType.Q8) {
            throw new CheckpointException(t.source() + ": tensor '" + name + "' is " + t.dtype()
                    + "; decoder weight matrices must be F32, BF16, F16 (or Q8 from Checkpoint.quantized)");
        }
        return t.requireShape(rows, cols);
    }

    private static float[] vector(Checkpoint ckpt, String name, long size) {
        Tensor t = ckpt.tensor(name);
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16) {
            throw new CheckpointException(t.source() + ": tensor '" + name + "' is " + t.dtype()
                    + "; decoder weights must be F32, BF16 or F16");
        }
        return t.requireShape(size).toFloatArray();
    }

    /**
     * This model with Gemma 2's sliding-window attention on or off (sharing the weights). Has no
     * effect for Gemma 1, which has no sliding window.
     */
    public GemmaModel withSlidingWindow(boolean on) {
        if (on == slidingWindow) {
            return this;
        }
        return new GemmaModel(config, imageTokenIndex, eosTokenIds, embedTokens, outputHead, finalNorm, layers, on);
    }

    /** Whether the sliding window is applied (see the class description). */
    public boolean slidingWindow() {
        return slidingWindow;
    }

    public TextConfig config() {
        return config;
    }

    /** Token ids that end generation ({@code eos_token_id} of the checkpoint). */
    public List<Integer> eosTokenIds() {
        return eosTokenIds;
    }

    /** Id of the {@code <image>} placeholder, whose embedding row is never used. */
    public int imageTokenIndex() {
        return imageTokenIndex;
    }

    /** Longest sequence (prefix plus generated tokens) the model accepts: {@code max_position_embeddings}. */
    public int maxPositions() {
        return config.maxPositionEmbeddings();
    }

    /**
     * Builds the decoder input {@code [image rows] + embed(textTokens) * sqrt(H)}.
     *
     * @param imageRows    {@code numImageRows * H} values: the multimodal projector's output, unscaled
     * @param numImageRows how many image rows (0 for a text-only prefix)
     * @param textTokens   the text part of the prefix as the tokenizer produced it, including the
     *                     leading {@code <bos>} and trailing {@code "\n"}; must not contain the image token
     * @throws InvalidArgumentException naming the argument at fault
     */
    public DecoderInput input(float[] imageRows, int numImageRows, int[] textTokens) {
        if (numImageRows < 0) {
            throw new InvalidArgumentException("numImageRows: must be >= 0, got " + numImageRows);
        }
        if (textTokens == null) {
            throw new InvalidArgumentException("textTokens: must not be null");
        }
        long expected = (long) numImageRows * hidden;
        int given = imageRows == null ? 0 : imageRows.length;
        if (given != expected) {
            throw new InvalidArgumentException("imageRows: has " + given + " values, expected numImageRows "
                    + numImageRows + " x hidden size " + hidden + " = " + expected);
        }
        long length = (long) numImageRows + textTokens.length;
        if (length < 1) {
            throw new InvalidArgumentException("textTokens: the prefix is empty (no image rows and no text tokens)");
        }
        if (length > maxPositions()) {
            throw new InvalidArgumentException("prompt: the prefix has " + length + " positions (" + numImageRows
                    + " image + " + textTokens.length + " text), more than max_position_embeddings " + maxPositions());
        }
        for (int i = 0; i < textTokens.length; i++) {
            checkToken("textTokens[" + i + "]", textTokens[i]);
            if (textTokens[i] == imageTokenIndex) {
                throw new InvalidArgumentException("textTokens[" + i + "]: is the image token " + imageTokenIndex
                        + "; pass image rows through imageRows instead");
            }
        }
        int len = (int) length;
        float[] rows = new float[len * hidden];
        if (numImageRows > 0) {
            System.arraycopy(imageRows, 0, rows, 0, numImageRows * hidden);
        }
        for (int i = 0; i < textTokens.length; i++) {
            embed(textTokens[i], rows, (numImageRows + i) * hidden);
        }
        return new DecoderInput(rows, len, hidden, numImageRows);
    }

    void checkToken(String what, int id) {
        if (id < 0 || id >= vocab) {
            throw new InvalidArgumentException(what + ": token id " + id + " is outside the vocabulary [0, " + vocab + ")");
        }
    }

    /** {@code dst[off..off+H) = embed_tokens[token] * sqrt(H)}, in float32. */
    void embed(int token, float[] dst, int off) {
        embedTokens.toFloats((long) token * hidden, dst, off, hidden);
        Activations.scale(dst, off, hidden, embedScale);
    }

    /**
     * A session (KV cache and scratch space) for up to {@code capacity} positions: prefix plus
     * generated tokens. Close it to release the off-heap cache.
     */
    public GemmaSession newSession(int capacity) {
        if (capacity < 1 || capacity > maxPositions()) {
            throw new InvalidArgumentException("capacity: " + capacity + " is outside [1, max_position_embeddings "
                    + maxPositions() + "]");
        }
        return new GemmaSession(this, capacity);
    }

    /**
     * Convenience: generates with a fresh session sized to the prefix plus {@code options.maxNewTokens()},
     * closed before returning.
     */
    public GenerationResult generate(DecoderInput input, GenerationOptions options, TokenListener listener,
                                     CancellationToken cancel) {
        return generate(input, options, listener, cancel, null);
    }

    /** As above, also showing each step's logits to {@code logitsListener} (may be null). */
    public GenerationResult generate(DecoderInput input, GenerationOptions options, TokenListener listener,
                                     CancellationToken cancel, LogitsListener logitsListener) {
        if (input == null) {
            throw new InvalidArgumentException("input: must not be null");
        }
        if (options == null) {
            throw new InvalidArgumentException("options: must not be null");
        }
        checkFits(input, options.maxNewTokens());
        try (GemmaSession s = newSession(input.length() + options.maxNewTokens())) {
            return s.generate(input, options, listener, cancel, logitsListener);
        }
    }

    void checkFits(DecoderInput input, int maxNewTokens) {
        if (input.hiddenSize() != hidden) {
            throw new InvalidArgumentException("input: rows have hidden size " + input.hiddenSize() + ", the model " + hidden);
        }
        if (input.length() > maxPositions()) {
            throw new InvalidArgumentException("prompt: the prefix has " + input.length()
                    + " positions, more than max_position_embeddings " + maxPositions());
        }
        if ((long) input.length() + maxNewTokens > maxPositions()) {
            throw new InvalidArgumentException("maxNewTokens: prefix " + input.length() + " + maxNewTokens " + maxNewTokens
                    + " exceeds max_position_embeddings " + maxPositions());
        }
    }

    /** Receives the hidden states after each layer during prefill (tests compare them with the reference). */
    interface LayerObserver {
        /** {@code index} 0 is the input, k the output of layer k-1; {@code x} is {@code [length, H]}, read only. */
        void accept(int index, float[] x);
    }

    /**
     * Runs the whole prefix through the decoder in one batched pass, filling the cache from position 0,
     * and returns the logits of the last {@code tailRows} positions ({@code [tailRows, V]}), or null if
     * {@code stop} reported true between layers.
     */
    float[] prefill(KvCache cache, DecoderInput input, int tailRows, LayerObserver observer, BooleanSupplier stop) {
        int n = input.length();
        int h = hidden;
        float[] x = input.rows().clone();
        if (observer != null) {
            observer.accept(0, x);
        }
        float[] xn = new float[n * h];
        float[] q = new float[n * qDim];
        float[] k = new float[n * kvDim];
        float[] v = new float[n * kvDim];
        float[] att = new float[n * qDim];
        float[] o = new float[n * h];
        // the tiled path's key and value strips, or the plain path's transposed keys
        TiledAttention.Workspace tiled = TiledAttention.supports(headDim)
                ? TiledAttention.workspace(1, heads, kvHeads, n, headDim) : null;
        float[] keysT = tiled != null ? null : new float[kvHeads * headDim * Matmul.vectorPadded(n)];
        // the MLP's chunk buffers, reused by every layer (a chunk's rows are fully rewritten before use)
        int chunk = mlpChunk(n);
        float[][] mlp = {new float[chunk * h], new float[chunk * intermediate], new float[chunk * intermediate],
                new float[chunk * h]};
        for (int l = 0; l < layers.length; l++) {
            if (stop != null && stop.getAsBoolean()) {
                return null;
            }
            LayerWeights w = layers[l];
            for (int i = 0; i < n; i++) {
                Norms.rmsNorm(xn, i * h, x, i * h, w.inputNorm(), h, eps);
            }
            Matmul.matmul(xn, n, h, new Tensor[] {w.q(), w.k(), w.v()}, new float[][] {q, k, v});
            for (int i = 0; i < n; i++) {
                Rope.apply(q, i * qDim, heads, headDim, i, config.ropeTheta());
                Rope.apply(k, i * kvDim, kvHeads, headDim, i, config.ropeTheta());
            }
            cache.store(l, 0, k, 0, v, 0, n);
            if (tiled != null) {
                TiledAttention.attention(q, qDim, k, v, kvDim, att, qDim, attentionScale, (float) config.attnLogitSoftcapping(), tiled);
            } else {
                prefixAttention(q, k, v, keysT, att, n);
            }
            Matmul.matmul(att, n, qDim, w.o(), o);
            if (config.isGemma2()) {
                normRows(o, 0, n, w.postAttentionNorm());
            }
            Activations.add(x, 0, o, 0, n * h);
            mlpRows(x, n, w, mlp);
            if (observer != null) {
                observer.accept(l + 1, x);
            }
        }
        cache.setLength(n);
        int tail = Math.min(tailRows, n);
        float[] last = new float[tail * h];
        for (int i = 0; i < tail; i++) {
            Norms.rmsNorm(last, i * h, x, (n - tail + i) * h, finalNorm, h, eps);
        }
        float[] logits = new float[tail * vocab];
        Matmul.matmul(last, tail, h, outputHead, logits);
        finalSoftcap(logits, tail * vocab);
        return logits;
    }

    private void normRows(float[] a, int from, int rows, float[] weight) {
        for (int i = from; i < from + rows; i++) {
            Norms.rmsNorm(a, i * hidden, a, i * hidden, weight, hidden, eps);
        }
    }

    /**
     * Bidirectional attention of the prefix over itself where {@link TiledAttention} does not run (the Vector API
     * not compiled to SIMD), parallel over (head, query block). Both products are
     * broadcast products ({@link Matmul#matmulPlain}, vectors along the output row, no lane sums): each KV head's
     * keys are transposed first into {@code keysT} ({@code [headDim, np]}, np = n rounded up to whole vectors, the
     * extra columns zero and their scores ignored), so the scores run along the keys.
     */
    private void prefixAttention(float[] q, float[] k, float[] v, float[] keysT, float[] att, int n) {
        int blocks = (n + ATTENTION_BLOCK - 1) / ATTENTION_BLOCK;
        int group = heads / kvHeads;
        int np = Matmul.vectorPadded(n);
        float cap = (float) config.attnLogitSoftcapping();
        Parallel.forEach(kvHeads, kvh -> Matmul.transpose(k, kvh * headDim, kvDim, n, headDim, keysT, kvh * headDim * np, np));
        Parallel.forEach(heads * blocks, t -> {
            int head = t / blocks;
            int r0 = (t % blocks) * ATTENTION_BLOCK;
            int rows = Math.min(ATTENTION_BLOCK, n - r0);
            int kvh = head / group;
            float[] s = ThreadBuffer.SCORES.get(rows * np);
            Matmul.matmulPlain(q, r0 * qDim + head * headDim, qDim, keysT, kvh * headDim * np, np, s, 0, np, rows, np, headDim);
            for (int i = 0; i < rows; i++) {
                Activations.scale(s, i * np, n, attentionScale);
                if (cap > 0) {
                    Activations.softcap(s, i * np, n, cap);
                }
                Activations.softmax(s, i * np, n);
            }
            Matmul.matmulPlain(s, 0, np, v, kvh * headDim, kvDim, att, r0 * qDim + head * headDim, qDim, rows, headDim, n);
        });
    }

    /** Rows per MLP chunk for a prefix of {@code n}: at most {@link #MLP_CHUNK}, all chunks but the last equal. */
    static int mlpChunk(int n) {
        int chunks = Math.max(1, (n + MLP_CHUNK - 1) / MLP_CHUNK);
        return (n + chunks - 1) / chunks;
    }

    /** {@code x += mlp(...)} for {@code n} rows, in chunks so the intermediate buffers stay bounded. */
    private void mlpRows(float[] x, int n, LayerWeights w, float[][] buffers) {
        int h = hidden;
        float[] preNorm = config.isGemma2() ? w.preFeedforwardNorm() : w.postAttentionNorm();
        float[] xn = buffers[0];
        float[] gate = buffers[1];
        float[] up = buffers[2];
        float[] down = buffers[3];
        int chunk = mlpChunk(n);
        for (int r0 = 0; r0 < n; r0 += chunk) {
            int rows = Math.min(chunk, n - r0);
            for (int i = 0; i < rows; i++) {
                Norms.rmsNorm(xn, i * h, x, (r0 + i) * h, preNorm, h, eps);
            }
            Matmul.matmul(xn, rows, h, new Tensor[] {w.gate(), w.up()}, new float[][] {gate, up});
            // row by row on every thread: on the calling thread alone this took 3.5 % of a paligemma2 prefill
            int width = intermediate;
            Parallel.forRange(rows, 8, (from, to) -> {
                Activations.geluTanh(gate, from * width, (to - from) * width);
                Activations.multiply(gate, from * width, up, from * width, (to - from) * width);
            });
            Matmul.matmul(gate, rows, intermediate, w.down(), down);
            if (config.isGemma2()) {
                normRows(down, 0, rows, w.postFeedforwardNorm());
            }
            Activations.add(x, r0 * h, down, 0, rows * h);
        }
    }

    private void finalSoftcap(float[] logits, int len) {
        double cap = config.finalLogitSoftcapping();
        if (cap > 0) {
            Activations.softcap(logits, 0, len, (float) cap);
        }
    }

    /**
     * Per-session scratch buffers and bound kernel plans for one decode step, so a step allocates nothing:
     * Q/K/V and gate/up are each one fused parallel pass over their weights ({@link MatvecPlan}); the
     * attention loop body is a reusable object rather than a capturing lambda.
     */
    static final class StepBuffers {
        final float[] x;
        final float[] xn;
        final float[] q;
        final float[] k;
        final float[] v;
        final float[] att;
        final float[] o;
        final float[] gate;
        final float[] up;
        final float[] scores;
        final MatvecPlan[] qkv;
        final MatvecPlan[] out;
        final MatvecPlan[] gateUp;
        final MatvecPlan[] down;
        /** Output head into {@link #logits}, copied to the caller's array. */
        final MatvecPlan head;
        final float[] logits;
        final Attention attention;

        /** Whether {@link #step} times its phases ({@link GemmaSession#profileDecode}). */
        boolean profile;
        /** Nanoseconds per {@link DecodePhase}, by ordinal. */
        final long[] phaseNanos = new long[DecodePhase.values().length];
        long profiledSteps;

        /** Adds the time since {@code since} to {@code phase} and returns the current time, when profiling. */
        long mark(DecodePhase phase, long since) {
            if (!profile) {
                return 0;
            }
            long now = System.nanoTime();
            phaseNanos[phase.ordinal()] += now - since;
            return now;
        }

        StepBuffers(GemmaModel m, int capacity) {
            x = new float[m.hidden];
            xn = new float[m.hidden];
            q = new float[m.qDim];
            k = new float[m.kvDim];
            v = new float[m.kvDim];
            att = new float[m.qDim];
            o = new float[m.hidden];
            gate = new float[m.intermediate];
            up = new float[m.intermediate];
            scores = new float[m.heads * capacity];
            int n = m.layers.length;
            qkv = new MatvecPlan[n];
            out = new MatvecPlan[n];
            gateUp = new MatvecPlan[n];
            down = new MatvecPlan[n];
            for (int l = 0; l < n; l++) {
                LayerWeights w = m.layers[l];
                qkv[l] = new MatvecPlan(xn, 0, new Tensor[] {w.q(), w.k(), w.v()}, new float[][] {q, k, v});
                out[l] = new MatvecPlan(att, 0, new Tensor[] {w.o()}, new float[][] {o});
                gateUp[l] = new MatvecPlan(xn, 0, new Tensor[] {w.gate(), w.up()}, new float[][] {gate, up});
                down[l] = new MatvecPlan(gate, 0, new Tensor[] {w.down()}, new float[][] {o});
            }
            logits = new float[m.vocab];
            head = new MatvecPlan(xn, 0, new Tensor[] {m.outputHead}, new float[][] {logits});
            attention = m.new Attention(this);
        }
    }

    /**
     * Feeds {@code token} at position {@code cache.length()} (the caller checked capacity and the id),
     * appends its keys and values, and writes the next-token logits into {@code logits}.
     */
    void step(KvCache cache, StepBuffers b, int token, float[] logits) {
        int pos = cache.length();
        int h = hidden;
        // phase marks cost two clock reads per phase when profiling, one untaken branch otherwise
        long t = b.profile ? System.nanoTime() : 0;
        embed(token, b.x, 0);
        for (int l = 0; l < layers.length; l++) {
            LayerWeights w = layers[l];
            Norms.rmsNorm(b.xn, 0, b.x, 0, w.inputNorm(), h, eps);
            t = b.mark(DecodePhase.OTHER, t);
            b.qkv[l].run();
            t = b.mark(DecodePhase.QKV, t);
            Rope.apply(b.q, 0, heads, headDim, pos, config.ropeTheta());
            Rope.apply(b.k, 0, kvHeads, headDim, pos, config.ropeTheta());
            cache.store(l, pos, b.k, 0, b.v, 0, 1);
            int from = 0;
            if (slidingWindow && config.isGemma2() && config.slidingWindow() > 0 && l % 2 == 0) {
                from = Math.max(0, pos - config.slidingWindow() + 1);
            }
            t = b.mark(DecodePhase.OTHER, t);
            b.attention.run(cache, l, from, pos + 1);
            t = b.mark(DecodePhase.ATTENTION, t);
            b.out[l].run();
            t = b.mark(DecodePhase.OUT, t);
            if (config.isGemma2()) {
                Norms.rmsNorm(b.o, 0, b.o, 0, w.postAttentionNorm(), h, eps);
            }
            Activations.add(b.x, 0, b.o, 0, h);
            float[] preNorm = config.isGemma2() ? w.preFeedforwardNorm() : w.postAttentionNorm();
            Norms.rmsNorm(b.xn, 0, b.x, 0, preNorm, h, eps);
            t = b.mark(DecodePhase.OTHER, t);
            b.gateUp[l].run();
            t = b.mark(DecodePhase.GATE_UP, t);
            Activations.geluTanh(b.gate, 0, intermediate);
            Activations.multiply(b.gate, 0, b.up, 0, intermediate);
            t = b.mark(DecodePhase.OTHER, t);
            b.down[l].run();
            t = b.mark(DecodePhase.DOWN, t);
            if (config.isGemma2()) {
                Norms.rmsNorm(b.o, 0, b.o, 0, w.postFeedforwardNorm(), h, eps);
            }
            Activations.add(b.x, 0, b.o, 0, h);
        }
        cache.setLength(pos + 1);
        Norms.rmsNorm(b.xn, 0, b.x, 0, finalNorm, h, eps);
        t = b.mark(DecodePhase.OTHER, t);
        b.head.run();
        t = b.mark(DecodePhase.HEAD, t);
        System.arraycopy(b.logits, 0, logits, 0, vocab);
        finalSoftcap(logits, vocab);
        b.mark(DecodePhase.OTHER, t);
        if (b.profile) {
            b.profiledSteps++;
        }
    }

    /**
     * One query row over cached keys {@code [from, to)} of a layer, parallel over pairs of query heads that
     * share a KV head (grouped-query attention), so each pair reads its keys and values once. A reusable loop
     * body (fields set before each dispatch; the pool's queue hand-off publishes them to the workers).
     */
    final class Attention implements IntConsumer {
        private final StepBuffers b;
        private KvCache cache;
        private int layer;
        private int from;
        private int span;

        Attention(StepBuffers b) {
            this.b = b;
        }

        /** Query-head pairs (a lone head when the group is odd) per KV head. */
        private int pairsPerKvHead() {
            return (heads / kvHeads + 1) / 2;
        }

        void run(KvCache c, int l, int f, int to) {
            cache = c;
            layer = l;
            from = f;
            span = to - f;
            Parallel.forEach(kvHeads * pairsPerKvHead(), this);
        }

        @Override
        public void accept(int unit) {
            MemorySegment kv = cache.data();
            int group = heads / kvHeads;
            int pairs = pairsPerKvHead();
            int kvh = unit / pairs;
            int head = kvh * group + unit % pairs * 2;
            int g = Math.min(2, (kvh + 1) * group - head);
            float cap = (float) config.attnLogitSoftcapping();
            int capacity = cache.capacity();
            float[] s = b.scores;
            long stride = (long) headDim * Float.BYTES;
            CachedAttention.scores(b.q, head * headDim, headDim, g, kv, cache.keyIndex(layer, kvh, from) * Float.BYTES,
                    stride, span, headDim, s, head * capacity, capacity);
            for (int i = 0; i < g; i++) {
                int sOff = (head + i) * capacity;
                Activations.scale(s, sOff, span, attentionScale);
                if (cap > 0) {
                    Activations.softcap(s, sOff, span, cap);
                }
                Activations.softmax(s, sOff, span);
            }
            CachedAttention.weightedSum(s, head * capacity, capacity, g, kv,
                    cache.valueIndex(layer, kvh, from) * Float.BYTES, stride, span, headDim, b.att, head * headDim, headDim);
        }
    }
}
