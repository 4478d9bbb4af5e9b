package dev.paligemma.segmentation;

import dev.paligemma.core.Box;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Full pipeline against big_vision's evaluator paste (PIL bilinear, mode F, threshold > 0). The values
 * come from fixtures/segmentation/golden.json. Tolerance: our decoder differs from JAX by ~1e-6, which can
 * flip a resized value sitting at 0, so at most 0.5% of the box's pixels may differ, and only on the mask
 * border (a differing pixel must have a 4-neighbour of the other value in the golden mask).
 */
class PasteTest {
    private static MaskDecoder decoder;
    private static GoldenSafetensors golden;

    @BeforeAll
    static void load() throws IOException {
        Path dir = MaskDecoderTest.DIR;
        decoder = MaskDecoder.load(dir.resolve("vae-tiny.npz"));
        golden = GoldenSafetensors.read(dir.resolve("golden.safetensors"));
    }

    @ParameterizedTest
    // paste, width, height, locY1, locX1, locY2, locX2, codes row, box y1, x1, y2, x2, golden mask pixels
    @CsvSource({
            "paste0, 320, 240, 100, 40, 700, 500, 0, 23, 12, 164, 156, 19930",
            "paste1, 640, 480, 10, 900, 60, 1000, 1, 4, 563, 28, 625, 1488",
    })
    void pasteMatchesBigVision(String name, int w, int h, int ly1, int lx1, int ly2, int lx2, int row,
                               int by1, int bx1, int by2, int bx2, int goldenPixels) {
        assertArrayEquals(new int[] {h, w}, golden.shape(name));
        int[] expected = golden.ints(name);
        int expectedArea = 0;
        for (int v : expected) {
            expectedArea += v != 0 ? 1 : 0;
        }
        assertEquals(goldenPixels, expectedArea, "fixture self-check");

        StringBuilder text = new StringBuilder();
        for (int loc : new int[] {ly1, lx1, ly2, lx2}) {
            text.append(String.format("<loc%04d>", loc));
        }
        for (int c : MaskDecoderTest.codesRow(golden, row)) {
            text.append(String.format("<seg%03d>", c));
        }
        text.append(" car");
        var segs = new Segmenter(decoder).segment(text.toString(), w, h);
        assertEquals(1, segs.size());
        Segmentation s = segs.getFirst();
        assertEquals("car", s.label());
        assertEquals(new Box(bx1, by1, bx2, by2), s.box());
        Mask m = s.mask();
        assertEquals(w, m.width());
        assertEquals(h, m.height());

        int differ = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                boolean e = expected[y * w + x] != 0;
                if (m.contains(x, y) != e) {
                    differ++;
                    assertTrue(onBorder(expected, w, h, x, y), name + ": pixel (" + x + "," + y + ") differs off the border");
                }
            }
        }
        int boxPixels = (bx2 - bx1) * (by2 - by1);
        assertTrue(differ <= boxPixels * 0.005, name + ": " + differ + " of " + boxPixels + " box pixels differ");
        System.out.println(name + ": " + differ + " pixels differ, area " + m.area() + " vs " + expectedArea);
    }

    private static boolean onBorder(int[] g, int w, int h, int x, int y) {
        boolean v = g[y * w + x] != 0;
        int[][] nb = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
        for (int[] d : nb) {
            int nx = x + d[0];
            int ny = y + d[1];
            if (nx >= 0 && ny >= 0 && nx < w && ny < h && (g[ny * w + nx] != 0) != v) {
                return true;
            }
        }
        return false;
    }
}
