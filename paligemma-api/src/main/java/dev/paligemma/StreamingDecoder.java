package dev.paligemma;

import dev.paligemma.gemma.TokenListener;
import dev.paligemma.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * Turns generated ids into text increments. Re-decodes the whole output each step (cheap next to a
 * decoder step) so byte pieces that together form one character are emitted only once complete.
 */
final class StreamingDecoder implements TokenListener {
    private final Tokenizer tokenizer;
    private final TextStream stream;
    private int[] ids = new int[16];
    private int count;
    private int emitted;

    StreamingDecoder(Tokenizer tokenizer, TextStream stream) {
        this.tokenizer = tokenizer;
        this.stream = stream;
    }

    @Override
    public void onToken(int index, int tokenId) {
        if (count == ids.length) {
            ids = Arrays.copyOf(ids, count * 2);
        }
        ids[count++] = tokenId;
        String text = tokenizer.decode(Arrays.copyOf(ids, count));
        int end = text.length();
        // hold back a trailing replacement character: it may be a multi-byte character still arriving
        while (end > emitted && text.charAt(end - 1) == '\uFFFD') {
            end--;
        }
        String delta = end > emitted ? text.substring(emitted, end) : "";
        emitted = Math.max(emitted, end);
        stream.onToken(tokenId, delta);
    }
}
