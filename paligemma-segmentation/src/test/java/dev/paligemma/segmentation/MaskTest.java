package dev.paligemma.segmentation;

import dev.paligemma.core.Box;
import dev.paligemma.core.InvalidArgumentException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MaskTest {
    @TempDir
    Path tmp;

    // 3 wide, 2 high:
    //   . # #
    //   . . #
    private static final Mask SMALL = Mask.of(3, 2, new boolean[] {false, true, true, false, false, true});

    @Test
    void pixelsAreaAndBox() {
        assertEquals(3, SMALL.width());
        assertEquals(2, SMALL.height());
        assertTrue(SMALL.contains(1, 0));
        assertTrue(SMALL.contains(2, 1));
        assertFalse(SMALL.contains(0, 0));
        assertFalse(SMALL.contains(1, 1));
        assertFalse(SMALL.contains(-1, 0));
        assertFalse(SMALL.contains(3, 0));
        assertEquals(3, SMALL.area());
        assertEquals(Optional.of(new Box(1, 0, 3, 2)), SMALL.boundingBox());
        assertEquals(Optional.empty(), Mask.of(2, 2, new boolean[4]).boundingBox());
    }

    @Test
    void cocoRleIsColumnMajorStartingWithOutside() {
        // column-major: 0 0 | 1 0 | 1 1
        assertArrayEquals(new int[] {2, 1, 1, 2}, SMALL.toRle());
        assertEquals("{\"size\":[2,3],\"counts\":[2,1,1,2]}", SMALL.toRleJson());
        assertArrayEquals(new int[] {0, 4}, Mask.of(2, 2, new boolean[] {true, true, true, true}).toRle());
        assertArrayEquals(new int[] {4}, Mask.of(2, 2, new boolean[4]).toRle());
        assertEquals(SMALL, Mask.fromRle(3, 2, new int[] {2, 1, 1, 2}));
        assertThrows(InvalidArgumentException.class, () -> Mask.fromRle(3, 2, new int[] {2, 1}));
        assertThrows(InvalidArgumentException.class, () -> Mask.fromRle(3, 2, new int[] {7}));
    }

    @Test
    void randomRoundTripsThroughRle() {
        Random r = new Random(7);
        boolean[] px = new boolean[67 * 45];
        for (int i = 0; i < px.length; i++) {
            px[i] = r.nextInt(3) == 0;
        }
        Mask m = Mask.of(67, 45, px);
        assertEquals(m, Mask.fromRle(67, 45, m.toRle()));
    }

    @Test
    void pngHasTheSamePixels() throws IOException {
        Random r = new Random(3);
        boolean[] px = new boolean[13 * 9];
        for (int i = 0; i < px.length; i++) {
            px[i] = r.nextBoolean();
        }
        Mask m = Mask.of(13, 9, px);
        Path p = tmp.resolve("m.png");
        m.toPng(p);
        BufferedImage img = ImageIO.read(p.toFile());
        assertEquals(13, img.getWidth());
        assertEquals(9, img.getHeight());
        for (int y = 0; y < 9; y++) {
            for (int x = 0; x < 13; x++) {
                assertEquals(px[y * 13 + x] ? 0xffffff : 0, img.getRGB(x, y) & 0xffffff, x + "," + y);
            }
        }
    }

    @Test
    void rejectsBadSizes() {
        assertThrows(InvalidArgumentException.class, () -> Mask.of(0, 2, new boolean[0]));
        assertThrows(InvalidArgumentException.class, () -> Mask.of(2, 2, new boolean[3]));
        assertThrows(InvalidArgumentException.class, () -> new Box(3, 0, 2, 1));
        assertThrows(InvalidArgumentException.class, () -> Segmenter.paste(new float[4096], new Box(0, 0, 11, 5), 10, 10));
        assertThrows(InvalidArgumentException.class, () -> Segmenter.paste(new float[100], new Box(0, 0, 5, 5), 10, 10));
    }
}
