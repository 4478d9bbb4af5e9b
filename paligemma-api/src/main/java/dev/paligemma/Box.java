package dev.paligemma;

/**
 * An axis-aligned box in pixel coordinates of the original image: columns {@code [x1, x2)}, rows
 * {@code [y1, y2)}, as big_vision's evaluators place it.
 */
public record Box(int x1, int y1, int x2, int y2) {

    public int width() {
        return x2 - x1;
    }

    public int height() {
        return y2 - y1;
    }

    /**
     * The box PaliGemma means by {@code <locY1><locX1><locY2><locX2>} on an image of the given size:
     * {@code int(v / 1023 * side)}, the exact inverse of the {@code round(v * 1023)} that made the
     * training targets. Returns null when a value is outside 0..1023 or the box is empty.
     */
    static Box fromLoc(int locY1, int locX1, int locY2, int locX2, int width, int height) {
        if (!inRange(locY1) || !inRange(locX1) || !inRange(locY2) || !inRange(locX2)) {
            return null;
        }
        int y1 = (int) (locY1 / 1023.0 * height);
        int x1 = (int) (locX1 / 1023.0 * width);
        int y2 = (int) (locY2 / 1023.0 * height);
        int x2 = (int) (locX2 / 1023.0 * width);
        if (y2 <= y1 || x2 <= x1) {
            return null;
        }
        return new Box(x1, y1, x2, y2);
    }

    private static boolean inRange(int loc) {
        return loc >= 0 && loc <= 1023;
    }
}
