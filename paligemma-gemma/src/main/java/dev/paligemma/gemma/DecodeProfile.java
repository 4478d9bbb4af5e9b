package dev.paligemma.gemma;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a session's decode steps spent their time, summed over the steps since profiling was switched on
 * ({@link GemmaSession#profileDecode}): wall-clock time of each phase of {@link GemmaSession#step}, as seen by
 * the calling thread (a parallel phase counts from its dispatch to its last task's end).
 *
 * @param steps      decode steps measured
 * @param nanosByPhase total nanoseconds per phase, in step order: {@code qkv} (fused Q/K/V products),
 *                   {@code attention} (scores, softmax and weighted sums over the KV cache), {@code out}
 *                   (attention output projection), {@code gate_up} (fused gate/up products), {@code down}
 *                   (down projection), {@code head} (output head), {@code other} (embedding, norms, RoPE,
 *                   cache writes, GeLU, residual adds, final softcap)
 */
public record DecodeProfile(long steps, Map<String, Long> nanosByPhase) {
    public DecodeProfile {
        nanosByPhase = Collections.unmodifiableMap(new LinkedHashMap<>(nanosByPhase));
    }

    /** Milliseconds per step of each phase, in step order (empty when no step was measured). */
    public Map<String, Double> msPerStep() {
        Map<String, Double> m = new LinkedHashMap<>();
        if (steps > 0) {
            nanosByPhase.forEach((k, v) -> m.put(k, v / 1e6 / steps));
        }
        return Collections.unmodifiableMap(m);
    }

    /** Milliseconds per step over all phases. */
    public double totalMsPerStep() {
        long sum = 0;
        for (long v : nanosByPhase.values()) {
            sum += v;
        }
        return steps > 0 ? sum / 1e6 / steps : 0;
    }
}
