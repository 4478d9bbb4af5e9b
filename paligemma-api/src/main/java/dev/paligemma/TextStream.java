package dev.paligemma;

/**
 * Receives generated text as it is produced. Text is handed out only once it is valid UTF-8, so a
 * character split over several byte tokens (emoji) arrives whole.
 */
@FunctionalInterface
public interface TextStream {
    /**
     * @param tokenId the id just generated
     * @param text    the text this token completed (may be empty while a multi-byte character is pending)
     */
    void onToken(int tokenId, String text);
}
