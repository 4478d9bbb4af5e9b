package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The decode-step attention products over a KV-cache-shaped off-heap segment, against double references. */
class CachedAttentionTest {
    /** {@code values} copied into a 64-byte-aligned off-heap segment, like a KV cache. */
    private static MemorySegment cache(Arena arena, float[] values) {
        MemorySegment seg = arena.allocate(4L * values.length, 64);
        MemorySegment.copy(values, 0, seg, ValueLayout.JAVA_FLOAT, 0, values.length);
        return seg;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void scoresAndWeightedSumMatchDoubleReference(boolean scalar) {
        Random r = new Random(7);
        // head sizes: Gemma's 256, SigLIP-like 72 (vector tail), tiny 8 (below one vector), 100 (odd tail)
        for (int d : new int[] {256, 72, 8, 100}) {
            int heads = 3;
            int stride = heads * d + 5; // a row holds every head plus padding
            int span = 37;
            int head = 2;
            float[] kv = Ref.random(r, (span + 2) * stride);
            float[] q = Ref.random(r, d + 3);
            float[] w = Ref.random(r, span + 1);
            float[] s = new float[span + 4];
            float[] out = new float[d + 6];
            long base = 4L * (stride + head * d); // start at row 1
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = cache(arena, kv);
                Ref.withPath(scalar, () -> {
                    CachedAttention.scores(q, 3, seg, base, 4L * stride, span, d, s, 4);
                    CachedAttention.weightedSum(w, 1, seg, base, 4L * stride, span, d, out, 6);
                });
            }
            String path = scalar ? " scalar" : " vector";
            for (int j = 0; j < span; j++) {
                int row = stride * (1 + j) + head * d;
                Ref.checkSum("score d=" + d + " j=" + j + path, s[4 + j], d, p -> (double) q[3 + p] * kv[row + p], 1e-6);
            }
            for (int p = 0; p < d; p++) {
                int col = head * d + p;
                Ref.checkSum("weighted sum d=" + d + " p=" + p + path, out[6 + p], span,
                        j -> (double) w[1 + j] * kv[stride * (1 + j) + col], 1e-6);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {256, 72, 100})
    void weightedSumHasTheScalarLoopsBits(int d) {
        // each output lane sums its rows in order with separate multiply and add, like the scalar loop
        Random r = new Random(d);
        int span = 301;
        float[] kv = Ref.random(r, span * d);
        float[] w = Ref.random(r, span);
        float[] vector = new float[d];
        float[] scalar = new float[d];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = cache(arena, kv);
            Ref.withPath(false, () -> CachedAttention.weightedSum(w, 0, seg, 0, 4L * d, span, d, vector, 0));
            Ref.withPath(true, () -> CachedAttention.weightedSum(w, 0, seg, 0, 4L * d, span, d, scalar, 0));
        }
        assertArrayEquals(scalar, vector);
    }

    @ParameterizedTest
    @ValueSource(ints = {256, 72, 8, 100, 216})
    void groupedHeadsHaveEachHeadsOwnBits(int d) {
        // g query heads over one KV head (pairs plus a lone head for g = 3) give exactly the per-head calls' floats
        Random r = new Random(31 + d);
        // spans: odd, with a partial block of the lane sums and a row after the last four; two whole blocks;
        // fewer rows than four
        for (int span : new int[] {45, 64, 3}) {
            int stride = d + 3;
            for (int g = 1; g <= 4; g++) {
                for (boolean scalar : new boolean[] {false, true}) {
                    float[] kv = Ref.random(r, (span + 1) * stride);
                    float[] q = Ref.random(r, 2 + g * (d + 1));
                    float[] w = Ref.random(r, 1 + g * (span + 2));
                    float[] sGrouped = new float[5 + g * (span + 2)];
                    float[] sAlone = new float[sGrouped.length];
                    float[] oGrouped = new float[4 + g * (d + 5)];
                    float[] oAlone = new float[oGrouped.length];
                    long base = 4L * stride; // start at row 1
                    int heads = g;
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment seg = cache(arena, kv);
                        Ref.withPath(scalar, () -> {
                            CachedAttention.scores(q, 2, d + 1, heads, seg, base, 4L * stride, span, d, sGrouped, 5, span + 2);
                            CachedAttention.weightedSum(w, 1, span + 2, heads, seg, base, 4L * stride, span, d, oGrouped, 4, d + 5);
                            for (int i = 0; i < heads; i++) {
                                CachedAttention.scores(q, 2 + i * (d + 1), seg, base, 4L * stride, span, d, sAlone, 5 + i * (span + 2));
                                CachedAttention.weightedSum(w, 1 + i * (span + 2), seg, base, 4L * stride, span, d, oAlone, 4 + i * (d + 5));
                            }
                        });
                    }
                    assertArrayEquals(sAlone, sGrouped, "scores d=" + d + " span=" + span + " g=" + g + (scalar ? " scalar" : " vector"));
                    assertArrayEquals(oAlone, oGrouped, "weighted sums d=" + d + " span=" + span + " g=" + g + (scalar ? " scalar" : " vector"));
                }
            }
        }
    }
}
