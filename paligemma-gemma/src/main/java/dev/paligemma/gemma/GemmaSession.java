package dev.paligemma.gemma;

import dev.paligemma.core.InvalidArgumentException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Per-call state of a {@link GemmaModel}: an off-heap KV cache for up to {@link #capacity()} positions
 * and the scratch buffers of a decode step. Reusable: {@link #prefill} and {@link #generate} start
 * over from an empty cache, so one session can serve many calls (one at a time). Not thread-safe:
 * use one session per concurrent generation; only {@link CancellationToken#cancel()} may be called from
 * other threads. {@link #close()} releases the cache.
 */
public final class GemmaSession implements AutoCloseable {
    private final GemmaModel model;
    private final KvCache cache;
    private final GemmaModel.StepBuffers buffers;
    private boolean closed;

    GemmaSession(GemmaModel model, int capacity) {
        this.model = model;
        this.cache = new KvCache(model.config().numHiddenLayers(), capacity, model.kvHeads, model.headDim);
        this.buffers = new GemmaModel.StepBuffers(model, capacity);
    }

    /** Most positions (prefix plus fed tokens) the cache holds. */
    public int capacity() {
        return cache.capacity();
    }

    /** Positions currently in the cache. */
    public int length() {
        return cache.length();
    }

    /**
     * Starts (or with {@code false} stops) timing the phases of every following {@link #step}, from zero:
     * {@link #decodeProfile()} then tells where the steps' time went. Costs two clock reads per phase, about
     * 400 per step.
     */
    public void profileDecode(boolean on) {
        ensureOpen();
        buffers.profile = on;
        Arrays.fill(buffers.phaseNanos, 0);
        buffers.profiledSteps = 0;
    }

    /** The phase times of the steps since {@link #profileDecode} switched profiling on (zero steps if it is off). */
    public DecodeProfile decodeProfile() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (DecodePhase p : DecodePhase.values()) {
            m.put(p.key(), buffers.phaseNanos[p.ordinal()]);
        }
        return new DecodeProfile(buffers.profiledSteps, m);
    }

    /** Empties the cache (its memory is kept for the next call). */
    public void reset() {
        ensureOpen();
        cache.setLength(0);
    }

    /**
     * Empties the cache, runs the whole prefix in one batched pass and returns the logits
     * ({@code vocab_size} values, final softcap applied) for the token after the prefix.
     */
    public float[] prefill(DecoderInput input) {
        return prefillTail(input, 1);
    }

    /** Like {@link #prefill} but returns the logits of the last {@code rows} prefix positions, {@code [rows, V]}. */
    float[] prefillTail(DecoderInput input, int rows) {
        return prefill(input, rows, null);
    }

    float[] prefill(DecoderInput input, int rows, GemmaModel.LayerObserver observer) {
        ensureOpen();
        checkPrefix(input);
        cache.setLength(0);
        return model.prefill(cache, input, rows, observer, null);
    }

    /**
     * Feeds one token at the next position through the cached path and returns the logits for the
     * token after it.
     *
     * @throws InvalidArgumentException if the id is outside the vocabulary, the cache is empty or full,
     *                                  or the position would pass {@code max_position_embeddings}
     */
    public float[] step(int tokenId) {
        float[] logits = new float[model.vocab];
        step(tokenId, logits);
        return logits;
    }

    /**
     * As {@link #step(int)}, writing the logits into {@code logits} ({@code vocab_size} values from index 0);
     * allocates nothing once the session is warm.
     */
    public void step(int tokenId, float[] logits) {
        ensureOpen();
        model.checkToken("tokenId", tokenId);
        if (logits == null || logits.length < model.vocab) {
            throw new InvalidArgumentException("logits: need room for " + model.vocab + " values");
        }
        checkRoom();
        model.step(cache, buffers, tokenId, logits);
    }

    private void checkRoom() {
        if (cache.length() == 0) {
            throw new InvalidArgumentException("tokenId: the session has no prefix; call prefill first");
        }
        if (cache.length() >= cache.capacity()) {
            throw new InvalidArgumentException("tokenId: the session's cache is full (" + cache.capacity() + " positions)");
        }
        if (cache.length() >= model.maxPositions()) {
            throw new InvalidArgumentException("tokenId: position " + cache.length() + " is beyond max_position_embeddings "
                    + model.maxPositions());
        }
    }

    private void checkPrefix(DecoderInput input) {
        if (input == null) {
            throw new InvalidArgumentException("input: must not be null");
        }
        model.checkFits(input, 0);
        if (input.length() > cache.capacity()) {
            throw new InvalidArgumentException("input: the prefix has " + input.length()
                    + " positions, more than the session capacity " + cache.capacity());
        }
    }

    /**
     * Generates up to {@code options.maxNewTokens()} tokens after {@code input}, starting from an empty
     * cache. Ends on an EOS id of the checkpoint or a caller stop id (neither is included in the
     * output), at the token limit, on cancellation or at the timeout; the last two return normally with
     * {@link StopReason#CANCELLED} / {@link StopReason#DEADLINE} and the tokens so far.
     *
     * @param listener called with each output token in order (may be null)
     * @param cancel   checked before prefill, between prefill layers and before every step (may be null)
     * @throws InvalidArgumentException if the prefix plus {@code maxNewTokens} does not fit the session
     *                                  or {@code max_position_embeddings}, or a stop id is outside the vocabulary
     */
    public GenerationResult generate(DecoderInput input, GenerationOptions options, TokenListener listener,
                                     CancellationToken cancel) {
        return generate(input, options, listener, cancel, null);
    }

    /** As {@link #generate(DecoderInput, GenerationOptions, TokenListener, CancellationToken)}, also showing each step's logits to {@code logitsListener} (may be null). */
    public GenerationResult generate(DecoderInput input, GenerationOptions options, TokenListener listener,
                                     CancellationToken cancel, LogitsListener logitsListener) {
        ensureOpen();
        if (options == null) {
            throw new InvalidArgumentException("options: must not be null");
        }
        checkPrefix(input);
        model.checkFits(input, options.maxNewTokens());
        // the last token is returned, never fed, so the cache needs one position less
        if ((long) input.length() + options.maxNewTokens() - 1 > cache.capacity()) {
            throw new InvalidArgumentException("maxNewTokens: prefix " + input.length() + " + maxNewTokens "
                    + options.maxNewTokens() + " does not fit the session capacity " + cache.capacity());
        }
        for (int id : options.stopTokenIds()) {
            model.checkToken("stopTokenIds", id);
        }
        Set<Integer> eos = new HashSet<>(model.eosTokenIds());
        Set<Integer> stop = new HashSet<>(options.stopTokenIds());
        TokenListener out = listener == null ? TokenListener.none() : listener;
        long start = System.nanoTime();
        boolean timed = options.timeout() != null;
        long deadline = timed ? start + options.timeout().toNanos() : 0;
        List<Integer> tokens = new ArrayList<>();
        cache.setLength(0);
        if (cancel != null && cancel.isCancelled()) {
            return result(tokens, StopReason.CANCELLED, -1, input, start, start);
        }
        float[] logits = model.prefill(cache, input, 1, null,
                () -> (cancel != null && cancel.isCancelled()) || (timed && System.nanoTime() - deadline > 0));
        long prefillEnd = System.nanoTime();
        if (logits == null) {
            StopReason why = cancel != null && cancel.isCancelled() ? StopReason.CANCELLED : StopReason.DEADLINE;
            return result(tokens, why, -1, input, start, prefillEnd);
        }
        Sampler sampler = new Sampler(options);
        int step = 0;
        while (true) {
            if (cancel != null && cancel.isCancelled()) {
                return result(tokens, StopReason.CANCELLED, -1, input, start, prefillEnd);
            }
            if (timed && System.nanoTime() - deadline > 0) {
                return result(tokens, StopReason.DEADLINE, -1, input, start, prefillEnd);
            }
            if (logitsListener != null) {
                logitsListener.onLogits(step++, logits);
            }
            int token = sampler.next(logits, model.vocab);
            if (eos.contains(token)) {
                return result(tokens, StopReason.EOS, token, input, start, prefillEnd);
            }
            if (stop.contains(token)) {
                return result(tokens, StopReason.STOP_TOKEN, token, input, start, prefillEnd);
            }
            tokens.add(token);
            out.onToken(tokens.size() - 1, token);
            if (tokens.size() >= options.maxNewTokens()) {
                return result(tokens, StopReason.MAX_TOKENS, -1, input, start, prefillEnd);
            }
            model.step(cache, buffers, token, logits);
        }
    }

    private static GenerationResult result(List<Integer> tokens, StopReason why, int stopToken, DecoderInput input,
                                           long start, long prefillEnd) {
        long end = System.nanoTime();
        return new GenerationResult(tokens, why, stopToken, input.length(), Duration.ofNanos(prefillEnd - start),
                Duration.ofNanos(end - prefillEnd));
    }

    private void ensureOpen() {
        if (closed) {
            throw new InvalidArgumentException("session: already closed");
        }
    }

    /** Releases the off-heap cache; the session cannot be used afterwards. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            cache.close();
        }
    }
}
