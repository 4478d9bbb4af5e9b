package dev.paligemma.gemma;

import dev.paligemma.core.InvalidArgumentException;

import java.time.Duration;
import java.util.List;

/**
 * How to choose tokens and when to stop. Immutable; build with {@link #builder()} or start from
 * {@link #greedy(int)}.
 *
 * @param maxNewTokens most tokens to generate, at least 1
 * @param temperature  0 for greedy (argmax; ties go to the lowest id), otherwise logits are divided by it
 *                     before sampling
 * @param topK         keep only the k most likely tokens when sampling; 0 = no limit
 * @param topP         nucleus sampling: keep the smallest set of most likely tokens whose probability
 *                     reaches topP; 1 = no limit
 * @param seed         seed of the sampler's random generator: equal seeds give equal samples
 * @param stopTokenIds extra ids that end generation, besides the checkpoint's EOS ids
 * @param timeout      wall-clock limit from the start of the call, or null for none; generation then
 *                     ends with {@link StopReason#DEADLINE}
 */
public record GenerationOptions(int maxNewTokens, double temperature, int topK, double topP, long seed,
                                List<Integer> stopTokenIds, Duration timeout) {

    public GenerationOptions {
        if (maxNewTokens < 1) {
            throw new InvalidArgumentException("maxNewTokens: must be >= 1, got " + maxNewTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new InvalidArgumentException("temperature: must be a finite number >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new InvalidArgumentException("topK: must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidArgumentException("topP: must be in (0, 1] (1 = off), got " + topP);
        }
        if (stopTokenIds == null) {
            throw new InvalidArgumentException("stopTokenIds: must not be null (use an empty list)");
        }
        for (Integer id : stopTokenIds) {
            if (id == null || id < 0) {
                throw new InvalidArgumentException("stopTokenIds: contains " + id + ", not a token id");
            }
        }
        stopTokenIds = List.copyOf(stopTokenIds);
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new InvalidArgumentException("timeout: must be positive, got " + timeout);
        }
    }

    /** Greedy decoding of at most {@code maxNewTokens} tokens, no extra stop ids, no timeout. */
    public static GenerationOptions greedy(int maxNewTokens) {
        return builder().maxNewTokens(maxNewTokens).build();
    }

    /** Whether tokens are chosen by argmax. */
    public boolean isGreedy() {
        return temperature == 0;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder().maxNewTokens(maxNewTokens).temperature(temperature).topK(topK).topP(topP).seed(seed)
                .stopTokenIds(stopTokenIds).timeout(timeout);
    }

    /** Builder for {@link GenerationOptions}; defaults: 32 tokens, greedy, no top-k/top-p, seed 0. */
    public static final class Builder {
        private int maxNewTokens = 32;
        private double temperature = 0;
        private int topK = 0;
        private double topP = 1;
        private long seed = 0;
        private List<Integer> stopTokenIds = List.of();
        private Duration timeout;

        private Builder() {
        }

        public Builder maxNewTokens(int v) {
            maxNewTokens = v;
            return this;
        }

        public Builder temperature(double v) {
            temperature = v;
            return this;
        }

        public Builder topK(int v) {
            topK = v;
            return this;
        }

        public Builder topP(double v) {
            topP = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder stopTokenIds(List<Integer> v) {
            stopTokenIds = v;
            return this;
        }

        public Builder stopTokenIds(int... v) {
            stopTokenIds = v == null ? null : java.util.Arrays.stream(v).boxed().toList();
            return this;
        }

        public Builder timeout(Duration v) {
            timeout = v;
            return this;
        }

        /** @throws InvalidArgumentException naming the first invalid option */
        public GenerationOptions build() {
            return new GenerationOptions(maxNewTokens, temperature, topK, topP, seed, stopTokenIds, timeout);
        }
    }
}
