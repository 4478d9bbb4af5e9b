package dev.paligemma.cli;

import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.ConfigException;
import dev.paligemma.core.ImageException;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.TokenizerException;

/** The CLI's documented exit codes. */
final class ExitCodes {
    static final int OK = 0;
    /** Anything not covered below (a bug, an I/O failure writing output, cancellation). */
    static final int FAILURE = 1;
    /** Bad arguments: unknown option, missing value, out-of-range number. */
    static final int BAD_ARGUMENTS = 2;
    /** Bad input: missing or corrupt checkpoint, tokenizer, image or config. */
    static final int BAD_INPUT = 3;

    private ExitCodes() {
    }

    static int of(Throwable e) {
        if (e instanceof InvalidArgumentException) {
            return BAD_ARGUMENTS;
        }
        if (e instanceof CheckpointException || e instanceof ConfigException || e instanceof TokenizerException
                || e instanceof ImageException) {
            return BAD_INPUT;
        }
        return FAILURE;
    }
}
