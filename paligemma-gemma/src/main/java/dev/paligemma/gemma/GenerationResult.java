package dev.paligemma.gemma;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of one generation.
 *
 * @param tokens       generated token ids, without the stop token
 * @param stopReason   why generation ended
 * @param stopTokenId  the EOS or stop id that ended generation, or -1 if none did
 * @param prefixLength positions in the prefix (image rows plus text tokens)
 * @param prefillTime  time to run the prefix through the decoder
 * @param decodeTime   time spent choosing and feeding generated tokens
 */
public record GenerationResult(List<Integer> tokens, StopReason stopReason, int stopTokenId, int prefixLength,
                               Duration prefillTime, Duration decodeTime) {
    public GenerationResult {
        tokens = List.copyOf(tokens);
    }

    /** The tokens as an int array. */
    public int[] tokenArray() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Generated tokens per second of decode time (0 if none). */
    public double tokensPerSecond() {
        long nanos = decodeTime.toNanos();
        return nanos == 0 ? 0 : tokens.size() * 1e9 / nanos;
    }
}
