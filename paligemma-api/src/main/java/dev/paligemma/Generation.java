package dev.paligemma;

import dev.paligemma.gemma.StopReason;

import java.time.Duration;
import java.util.List;

/**
 * The result of one generation: the decoded text (EOS excluded), the generated token ids, why it
 * stopped, and where the time went.
 *
 * @param text         decoded output, EOS and stop tokens excluded
 * @param tokenIds     generated ids, EOS and stop tokens excluded
 * @param stopReason   why generation ended
 * @param prefixLength tokens in the prefix (image tokens + {@code <bos>} + prompt + {@code "\n"})
 * @param imageEncode  time spent in the vision tower (zero when an {@link ImageEmbedding} was reused)
 * @param prefill      time of the batched prefix pass
 * @param decode       time of token-by-token decoding
 */
public record Generation(String text, List<Integer> tokenIds, StopReason stopReason, int prefixLength,
                         Duration imageEncode, Duration prefill, Duration decode) {
    public Generation {
        tokenIds = List.copyOf(tokenIds);
    }

    /** Decoding speed in tokens per second (0 when nothing was decoded). */
    public double tokensPerSecond() {
        double s = decode.toNanos() / 1e9;
        return s > 0 ? tokenIds.size() / s : 0;
    }
}
