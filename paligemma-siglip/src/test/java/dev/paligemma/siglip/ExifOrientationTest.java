package dev.paligemma.siglip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * A 64x32 JPEG with four flat quadrants, tagged with each Exif orientation, must come out with
 * the quadrants where Pillow's {@code exif_transpose} puts them.
 */
class ExifOrientationTest {
    private static final int W = 64;
    private static final int H = 32;
    private static final int[] RED = {220, 30, 30};
    private static final int[] GREEN = {30, 200, 30};
    private static final int[] BLUE = {30, 30, 220};
    private static final int[] YELLOW = {230, 220, 40};

    private static byte[] quadrantJpeg() {
        BufferedImage image = new BufferedImage(W, H, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                int[] c = y < H / 2 ? (x < W / 2 ? RED : GREEN) : (x < W / 2 ? BLUE : YELLOW);
                image.setRGB(x, y, (c[0] << 16) | (c[1] << 8) | c[2]);
            }
        }
        return TestImages.jpeg(image, 0.95f);
    }

    private static int[] colour(String name) {
        return switch (name) {
            case "R" -> RED;
            case "G" -> GREEN;
            case "B" -> BLUE;
            case "Y" -> YELLOW;
            default -> throw new IllegalArgumentException(name);
        };
    }

    /**
     * Source quadrants: top-left red, top-right green, bottom-left blue, bottom-right yellow. The
     * columns give the colour expected at the output's top-left, top-right, bottom-left and
     * bottom-right, worked out from the Exif definition of each orientation.
     */
    @ParameterizedTest(name = "orientation {0}")
    @CsvSource({
        "1, R, G, B, Y",
        "2, G, R, Y, B", // mirrored left-right
        "3, Y, B, G, R", // rotated 180
        "4, B, Y, R, G", // mirrored top-bottom
        "5, R, B, G, Y", // transposed
        "6, B, R, Y, G", // rotated 90 clockwise
        "7, Y, G, B, R", // transversed
        "8, G, Y, R, B", // rotated 90 counter-clockwise
    })
    void appliesOrientation(int orientation, String tl, String tr, String bl, String br) {
        for (boolean little : new boolean[] {true, false}) {
            byte[] jpeg = TestImages.withExifOrientation(quadrantJpeg(), orientation, little);
            assertEquals(orientation, ExifOrientation.of(jpeg));
            RgbImage image = ImageLoader.defaults().decode(jpeg, "oriented.jpg");
            boolean swapped = orientation >= 5;
            assertEquals(swapped ? H : W, image.width(), "width");
            assertEquals(swapped ? W : H, image.height(), "height");
            int w = image.width();
            int h = image.height();
            assertNear(image, w / 4, h / 4, colour(tl));
            assertNear(image, 3 * w / 4, h / 4, colour(tr));
            assertNear(image, w / 4, 3 * h / 4, colour(bl));
            assertNear(image, 3 * w / 4, 3 * h / 4, colour(br));
        }
    }

    @Test
    void orientationCanBeIgnored() {
        byte[] jpeg = TestImages.withExifOrientation(quadrantJpeg(), 6, true);
        RgbImage image = new ImageLoader(ImageLoader.DEFAULT_MAX_PIXELS, false).decode(jpeg, "oriented.jpg");
        assertEquals(W, image.width());
        assertNear(image, W / 4, H / 4, RED);
    }

    @Test
    void malformedExifMeansUpright() {
        byte[] jpeg = TestImages.withExifOrientation(quadrantJpeg(), 6, true);
        // IFD offset pointing past the segment
        byte[] badOffset = jpeg.clone();
        badOffset[2 + 4 + 6 + 4] = (byte) 0xF0;
        assertEquals(1, ExifOrientation.of(badOffset));
        // an out-of-range orientation value
        assertEquals(1, ExifOrientation.of(TestImages.withExifOrientation(quadrantJpeg(), 9, false)));
        // a segment length running past the end of the data
        assertEquals(1, ExifOrientation.of(Arrays.copyOf(jpeg, 20)));
        assertEquals(1, ExifOrientation.of(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}));
        assertEquals(1, ExifOrientation.of(new byte[0]));
        // a decodable JPEG with a broken Exif still loads, upright
        assertEquals(W, ImageLoader.defaults().decode(badOffset, "bad-exif.jpg").width());
    }

    private static void assertNear(RgbImage image, int x, int y, int[] expected) {
        for (int c = 0; c < 3; c++) {
            int actual = image.sample(x, y, c);
            assertTrue(Math.abs(actual - expected[c]) <= 12,
                    "pixel (" + x + ", " + y + ") channel " + c + ": " + actual + ", expected about " + expected[c]);
        }
    }
}
