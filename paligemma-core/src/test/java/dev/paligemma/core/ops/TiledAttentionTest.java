package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.paligemma.core.InvalidArgumentException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link TiledAttention} against a double-precision reference: grouped-query heads, Gemma's score scale and
 * softcap, several sequences, query blocks and key slices that end part-way, head sizes that are not whole
 * vectors, and row strides wider than the heads.
 */
class TiledAttentionTest {
    /** softmax(cap(scale q k^T)) v for every sequence and query head, in double. */
    private static double[] reference(float[] q, int ldq, float[] k, float[] v, int ldkv, int ldo, int batch, int n,
                                      int heads, int kvHeads, int hd, float scale, float cap) {
        double[] out = new double[batch * n * ldo];
        int group = heads / kvHeads;
        for (int b = 0; b < batch; b++) {
            for (int head = 0; head < heads; head++) {
                int kvCol = (head / group) * hd;
                for (int i = 0; i < n; i++) {
                    double[] s = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        double dot = 0;
                        for (int d = 0; d < hd; d++) {
                            dot += (double) q[(b * n + i) * ldq + head * hd + d] * k[(b * n + j) * ldkv + kvCol + d];
                        }
                        dot *= scale;
                        s[j] = cap > 0 ? cap * Math.tanh(dot / cap) : dot;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int d = 0; d < hd; d++) {
                        double acc = 0;
                        for (int j = 0; j < n; j++) {
                            acc += s[j] / sum * v[(b * n + j) * ldkv + kvCol + d];
                        }
                        out[(b * n + i) * ldo + head * hd + d] = acc;
                    }
                }
            }
        }
        return out;
    }

    private static void check(int batch, int n, int heads, int kvHeads, int hd, int extra, float scale, float cap) {
        assumeTrue(TiledAttention.supports(hd), "the Vector API is not compiled to SIMD here");
        int ldq = heads * hd + extra, ldkv = kvHeads * hd + extra, ldo = heads * hd + extra;
        Random r = new Random(31L * n + hd);
        float[] q = new float[batch * n * ldq];
        float[] k = new float[batch * n * ldkv];
        float[] v = new float[k.length];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) (r.nextGaussian() * 0.5);
        }
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) r.nextGaussian();
            v[i] = (float) r.nextGaussian();
        }
        float[] out = new float[batch * n * ldo];
        java.util.Arrays.fill(out, 7f);
        TiledAttention.Workspace ws = TiledAttention.workspace(batch, heads, kvHeads, n, hd);
        TiledAttention.attention(q, ldq, k, v, ldkv, out, ldo, scale, cap, ws);
        double[] want = reference(q, ldq, k, v, ldkv, ldo, batch, n, heads, kvHeads, hd, scale, cap);
        for (int row = 0; row < batch * n; row++) {
            for (int c = 0; c < ldo; c++) {
                int i = row * ldo + c;
                if (c < heads * hd) {
                    // float32 scores, softmax and products over n <= 600 terms of size ~1: errors ~1e-6
                    assertEquals(want[i], out[i], 1e-5, "n=" + n + " hd=" + hd + " row " + row + " column " + c);
                } else {
                    assertEquals(7f, out[i], "n=" + n + ": column " + c + " past the heads is not the attention's");
                }
            }
        }
    }

    @Test
    void groupedHeadsWithScaleAndSoftcap() {
        // Gemma 2's shape in small: 4 query heads on 2 key-value heads, scale and cap; 140 rows = a full query
        // block of 132 and a part of one; a head of 20 floats is not whole vectors
        check(1, 140, 4, 2, 20, 0, 0.3f, 5f);
        check(1, 37, 8, 1, 32, 0, 0.0625f, 0f);
    }

    @Test
    void sequencesStridesAndKeySlices() {
        // two images as in SigLIP, rows wider than the heads; 600 keys are a whole slice of 512 and part of one
        check(2, 50, 3, 3, 24, 5, 1f, 0f);
        check(1, 600, 1, 1, 72, 0, 1f, 0f);
    }

    @Test
    void badShapesAreTypedErrors() {
        assumeTrue(TiledAttention.supports(16), "the Vector API is not compiled to SIMD here");
        assertThrows(InvalidArgumentException.class, () -> TiledAttention.workspace(1, 3, 2, 10, 16));
        assertThrows(InvalidArgumentException.class, () -> TiledAttention.workspace(1, 2, 2, 0, 16));
        TiledAttention.Workspace ws = TiledAttention.workspace(1, 2, 2, 10, 16);
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> TiledAttention.attention(new float[10 * 32], 32, new float[10 * 32], new float[10 * 32], 32,
                        new float[5 * 32], 32, 1f, 0f, ws));
        assertTrue(e.getMessage().contains("do not fit"), e.getMessage());
        assertTrue(!TiledAttention.supports(PackedGemm.KC + 1), "a head longer than one slice");
    }
}
