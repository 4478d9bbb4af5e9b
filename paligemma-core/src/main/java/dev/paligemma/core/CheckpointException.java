package dev.paligemma.core;

/** A weights file (safetensors or its index) is missing, malformed or disagrees with the model. */
public class CheckpointException extends PaliGemmaException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
