package dev.paligemma.core;

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

    /** Largest value of a {@code <locNNNN>} token. */
    public static final int MAX_LOC = 1023;

    /**
     * The box PaliGemma means by {@code <locY1><locX1><locY2><locX2>} on an image of the given size, as
     * big_vision's evaluators compute it: {@code int(v / 1023 * side)} in double precision, the exact
     * inverse of the {@code round(v * 1023)} that made the training targets.
     *
     * @return the box, or empty when a value lies outside 0..1023 or the box has no area
     */
    public static java.util.Optional<Box> fromLoc(int locY1, int locX1, int locY2, int locX2, int width, int height) {
        if (width <= 0 || height <= 0 || !isLoc(locY1) || !isLoc(locX1) || !isLoc(locY2) || !isLoc(locX2)) {
            return java.util.Optional.empty();
        }
        int y1 = toPixel(locY1, height);
        int x1 = toPixel(locX1, width);
        int y2 = toPixel(locY2, height);
        int x2 = toPixel(locX2, width);
        if (y2 <= y1 || x2 <= x1) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new Box(x1, y1, x2, y2));
    }

    private static boolean isLoc(int v) {
        return v >= 0 && v <= MAX_LOC;
    }

    private static int toPixel(int loc, int size) {
        return (int) (loc / (double) MAX_LOC * size);
    }
}
