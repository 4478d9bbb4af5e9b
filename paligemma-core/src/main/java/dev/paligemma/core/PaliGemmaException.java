package dev.paligemma.core;

/**
 * Root of every error this library reports on purpose. Each subtype names what is at fault (a file,
 * a tensor, a config key, an argument), so callers can catch one type and still tell users exactly
 * what to fix.
 */
public class PaliGemmaException extends RuntimeException {
    public PaliGemmaException(String message) {
        super(message);
    }

    public PaliGemmaException(String message, Throwable cause) {
        super(message, cause);
    }
}
