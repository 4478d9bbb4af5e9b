package dev.paligemma.core;

/** An image cannot be read, is of an unsupported format, or is outside the accepted size. */
public class ImageException extends PaliGemmaException {
    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
