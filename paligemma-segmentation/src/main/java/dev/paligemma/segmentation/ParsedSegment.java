package dev.paligemma.segmentation;

import dev.paligemma.core.Box;
import java.util.List;

/**
 * One well-formed object group of a segmentation answer, before mask decoding.
 *
 * @param label the text after the tokens, trimmed (may be empty)
 * @param locY1 first {@code <locNNNN>} value, 0..1023 (and likewise the next three, in the model's order y1, x1, y2, x2)
 * @param codes the 16 {@code <segNNN>} values, 0..127
 * @param box   the pixel box, {@code y1 = int(locY1 / 1023 * height)} etc., non-empty
 */
public record ParsedSegment(String label, int locY1, int locX1, int locY2, int locX2, List<Integer> codes, Box box) {
    /** Copies {@code codes}. */
    public ParsedSegment {
        codes = List.copyOf(codes);
    }

    /** The codes as the array {@link MaskDecoder#decode} takes. */
    public int[] codeArray() {
        return codes.stream().mapToInt(Integer::intValue).toArray();
    }
}
