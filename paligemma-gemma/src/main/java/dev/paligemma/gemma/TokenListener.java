package dev.paligemma.gemma;

/**
 * Receives each output token as soon as it is chosen, in order, on the generating thread. Stop tokens
 * (EOS or caller-given) are not reported. An exception thrown here ends generation and propagates to
 * the caller.
 */
@FunctionalInterface
public interface TokenListener {
    /**
     * @param index   0-based index of the token in the output
     * @param tokenId the token
     */
    void onToken(int index, int tokenId);

    /** A listener that ignores every token. */
    static TokenListener none() {
        return (index, tokenId) -> {
        };
    }
}
