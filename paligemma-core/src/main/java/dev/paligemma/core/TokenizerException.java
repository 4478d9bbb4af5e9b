package dev.paligemma.core;

/** A tokenizer.model is missing, truncated or not a SentencePiece model this library implements. */
public class TokenizerException extends PaliGemmaException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
