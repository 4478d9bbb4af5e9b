package dev.paligemma.gemma;

/** Why generation ended. */
public enum StopReason {
    /** The model produced one of the checkpoint's EOS ids (not included in the output tokens). */
    EOS,
    /** The model produced one of the caller's stop ids (not included in the output tokens). */
    STOP_TOKEN,
    /** {@link GenerationOptions#maxNewTokens()} tokens were produced. */
    MAX_TOKENS,
    /** A {@link CancellationToken} was cancelled; the tokens produced so far are returned. */
    CANCELLED,
    /** {@link GenerationOptions#timeout()} elapsed; the tokens produced so far are returned. */
    DEADLINE
}
