package dev.paligemma.segmentation;

import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.InvalidArgumentException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MaskDecoderTest {
    /** float32 decoder vs big_vision's JAX decoder on the same weights. */
    private static final float TOLERANCE = 1e-4f;

    static final Path DIR = Path.of(System.getProperty("paligemma.fixtures")).resolve("segmentation");
    private static MaskDecoder decoder;
    private static GoldenSafetensors golden;

    @BeforeAll
    static void load() throws IOException {
        decoder = MaskDecoder.load(DIR.resolve("vae-tiny.npz"));
        golden = GoldenSafetensors.read(DIR.resolve("golden.safetensors"));
    }

    static int[] codesRow(GoldenSafetensors g, int row) {
        return Arrays.copyOfRange(g.ints("codes"), row * 16, row * 16 + 16);
    }

    @Test
    void decodesEveryGoldenRowWithin1e4() {
        assertArrayEquals(new int[] {3, 16}, golden.shape("codes"));
        assertArrayEquals(new int[] {3, 64, 64}, golden.shape("mask64"));
        float[] mask64 = golden.floats("mask64");
        for (int row = 0; row < 3; row++) {
            float[] got = decoder.decode(codesRow(golden, row));
            assertEquals(64 * 64, got.length);
            float maxDiff = 0;
            for (int i = 0; i < got.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(got[i] - mask64[row * 4096 + i]));
            }
            assertTrue(maxDiff <= TOLERANCE, "row " + row + " max abs diff " + maxDiff);
            System.out.println("mask64 row " + row + ": max abs diff " + maxDiff);
        }
    }

    @Test
    void concurrentCallsAgree() throws Exception {
        int[] codes = codesRow(golden, 2);
        float[] expected = decoder.decode(codes);
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            Future<?>[] fs = new Future<?>[8];
            for (int i = 0; i < fs.length; i++) {
                fs[i] = pool.submit(() -> assertArrayEquals(expected, decoder.decode(codes)));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        }
    }

    @Test
    void rejectsBadCodes() {
        assertThrows(InvalidArgumentException.class, () -> decoder.decode(new int[15]));
        assertThrows(InvalidArgumentException.class, () -> decoder.decode(new int[17]));
        assertThrows(InvalidArgumentException.class, () -> decoder.decode(null));
        int[] c = new int[16];
        c[5] = 128;
        assertThrows(InvalidArgumentException.class, () -> decoder.decode(c));
        c[5] = -1;
        assertThrows(InvalidArgumentException.class, () -> decoder.decode(c));
    }

    @Test
    void missingFileIsCheckpointError() {
        assertThrows(CheckpointException.class, () -> MaskDecoder.load(DIR.resolve("no-such.npz")));
    }
}
