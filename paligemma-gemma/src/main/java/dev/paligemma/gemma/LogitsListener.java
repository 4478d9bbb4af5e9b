package dev.paligemma.gemma;

/**
 * Sees the logits of every generation step before a token is chosen: step 0 is the last prefix
 * position, step k the logits after feeding the k-th generated token. For checks against reference
 * runs and {@code --dump-logits}.
 */
@FunctionalInterface
public interface LogitsListener {
    /** @param logits the vocabulary's logits; the array is reused, copy it to keep it */
    void onLogits(int step, float[] logits);
}
