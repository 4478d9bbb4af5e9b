package dev.paligemma.segmentation;

import dev.paligemma.core.InvalidArgumentException;

/**
 * An axis-aligned box in pixel coordinates of the original image: columns {@code [x1, x2)} and rows
 * {@code [y1, y2)} (end-exclusive, like the numpy slice {@code [y1:y2, x1:x2]} big_vision pastes into).
 */
public record Box(int x1, int y1, int x2, int y2) {
    /** Validates {@code 0 <= x1 <= x2} and {@code 0 <= y1 <= y2}. */
    public Box {
        if (x1 < 0 || y1 < 0 || x2 < x1 || y2 < y1) {
            throw new InvalidArgumentException("box (x1=" + x1 + ", y1=" + y1 + ", x2=" + x2 + ", y2=" + y2
                    + ") needs 0 <= x1 <= x2 and 0 <= y1 <= y2");
        }
    }

    /** {@code x2 - x1}. */
    public int width() {
        return x2 - x1;
    }

    /** {@code y2 - y1}. */
    public int height() {
        return y2 - y1;
    }
}
