package dev.paligemma.core;

/** A caller-supplied argument (prompt, token id, option) is outside what the model accepts. */
public class InvalidArgumentException extends PaliGemmaException {
    public InvalidArgumentException(String message) {
        super(message);
    }

    public InvalidArgumentException(String message, Throwable cause) {
        super(message, cause);
    }
}
