package dev.paligemma.siglip;

import dev.paligemma.core.InvalidArgumentException;
import java.util.Arrays;

/**
 * A decoded image: {@code width x height} pixels, 8 bits per channel, interleaved R, G, B, rows top
 * to bottom. This is the form every input is brought to before preprocessing, the equivalent of a
 * PIL image after {@code convert("RGB")}.
 *
 * <p>Immutable: {@link #of} copies the caller's array and {@link #rgb()} returns a copy, so no
 * caller can change an image after it was made.
 */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] rgb;

    /** Takes ownership of {@code rgb} without copying; callers in this package must not keep it. */
    RgbImage(int width, int height, byte[] rgb, boolean owned) {
        checkSize(width, height, rgb);
        this.width = width;
        this.height = height;
        this.rgb = owned ? rgb : rgb.clone();
    }

    /**
     * An image from raw interleaved RGB bytes ({@code width * height * 3} of them, row-major).
     *
     * @throws InvalidArgumentException if a dimension is not positive or the array length does not
     *     match {@code width * height * 3}
     */
    public static RgbImage of(int width, int height, byte[] rgb) {
        return new RgbImage(width, height, rgb, false);
    }

    private static void checkSize(int width, int height, byte[] rgb) {
        if (width <= 0 || height <= 0) {
            throw new InvalidArgumentException(
                    "image size must be positive, got width " + width + " and height " + height);
        }
        if (rgb == null) {
            throw new InvalidArgumentException("rgb bytes must not be null");
        }
        long expected = (long) width * height * 3;
        if (rgb.length != expected) {
            throw new InvalidArgumentException(
                    "rgb bytes: expected width*height*3 = " + width + "*" + height + "*3 = " + expected
                            + " bytes, got " + rgb.length);
        }
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** A copy of the interleaved RGB bytes. */
    public byte[] rgb() {
        return rgb.clone();
    }

    /** The 0..255 value of channel {@code c} (0 = R, 1 = G, 2 = B) at column x, row y. */
    public int sample(int x, int y, int c) {
        if (x < 0 || x >= width || y < 0 || y >= height || c < 0 || c > 2) {
            throw new InvalidArgumentException(
                    "pixel (" + x + ", " + y + ") channel " + c + " is outside a " + width + "x"
                            + height + " RGB image");
        }
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }

    /** The backing array, for read-only use inside this package. */
    byte[] data() {
        return rgb;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage other
                && other.width == width
                && other.height == height
                && Arrays.equals(other.rgb, rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }
}
