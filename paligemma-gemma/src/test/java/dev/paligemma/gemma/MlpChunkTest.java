package dev.paligemma.gemma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The prefill MLP's row chunks: one for a 224-px prefix, equal ones beyond the bound, never a small tail. */
class MlpChunkTest {
    @Test
    void prefixesSplitIntoEqualChunksWithinTheBound() {
        assertEquals(266, GemmaModel.mlpChunk(266), "a 224-px prefix (256 image tokens + 10) is one chunk");
        assertEquals(512, GemmaModel.mlpChunk(512));
        assertEquals(257, GemmaModel.mlpChunk(513), "not 512 + 1");
        assertEquals(345, GemmaModel.mlpChunk(1034), "a 448-px prefix: three chunks of 345, 345, 344");
        assertEquals(1, GemmaModel.mlpChunk(1));
        for (int n = 1; n <= 5000; n++) {
            int c = GemmaModel.mlpChunk(n);
            int chunks = (n + c - 1) / c;
            assertTrue(c <= 512 && c >= 1, "n=" + n + " chunk " + c);
            assertTrue(n - (chunks - 1) * c > c - chunks, "n=" + n + ": last chunk " + (n - (chunks - 1) * c) + " of " + c);
        }
    }
}
