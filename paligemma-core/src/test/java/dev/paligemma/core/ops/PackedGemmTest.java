package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.paligemma.core.DType;
import dev.paligemma.core.Q8;
import dev.paligemma.core.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link PackedGemm}: every output of {@link Matmul#matmul} on the vector path is one FMA chain over k in
 * increasing order, {@code acc = fma(x[i, p], w[j, p], acc)} from zero, so it is compared bit for bit with that
 * scalar chain, across the cases its tiling cuts differently: activation rows that fill whole strips, end in a
 * half-wide strip or in a padded one, and more rows than one pass holds; weight rows that fill a task, end in a
 * partial micro-tile or a partial task; k within one slice, across slices, across decode chunks and across Q8
 * column panels.
 */
class PackedGemmTest {
    private static final Arena ARENA = Arena.ofAuto();

    /** The documented order: one fused multiply-add per k, in increasing k, starting from zero. */
    private static float chain(float[] x, int i, float[] w, int j, int k) {
        float acc = 0f;
        for (int p = 0; p < k; p++) {
            acc = Math.fma(x[i * k + p], w[j * k + p], acc);
        }
        return acc;
    }

    private static void check(String what, float[] x, int n, int k, Tensor w, float[] wv, int m) {
        float[] out = new float[n * m];
        java.util.Arrays.fill(out, Float.NaN);
        Matmul.matmul(x, n, k, w, out);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                float want = chain(x, i, wv, j, k);
                if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(out[i * m + j])) {
                    assertEquals(want, out[i * m + j], what + " n=" + n + " m=" + m + " k=" + k + " [" + i + "," + j + "]");
                }
            }
        }
    }

    @Test
    void everyStripAndTaskShapeIsTheFmaChain() {
        assumeTrue(Simd.vector(), "the vector path");
        Random r = new Random(3);
        int nr = PackedGemm.NR;
        int[] ns = {2, Simd.L - 1, Simd.L, Simd.L + 1, nr, nr + 1, nr + Simd.L, 2 * nr + 3, 266};
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int n : ns) {
                int m = PackedGemm.MB + PackedGemm.MR + 1;
                int k = PackedGemm.KC + 1;
                float[] x = Ref.random(r, n * k);
                float[] wv = Ref.random(r, m * k);
                Tensor w = Ref.weight(dt, m, k, wv);
                check(dt.toString(), x, n, k, w, wv, m);
            }
        }
    }

    @Test
    void kAcrossSlicesChunksAndPanels() {
        assumeTrue(Simd.vector(), "the vector path");
        Random r = new Random(4);
        // 1; a slice and one more; past one decode chunk (whole rows up to PackedGemm.CHUNK)
        for (int k : new int[] {1, PackedGemm.KC * 2 + 5, PackedGemm.CHUNK + 48}) {
            int n = 21, m = 13;
            float[] x = Ref.random(r, n * k);
            float[] wv = Ref.random(r, m * k);
            check("BF16", x, n, k, Ref.weight(DType.BF16, m, k, wv), wv, m);
        }
        // Q8 in column panels (9216: three of 3072): the dequantised values, chained across the panels
        assumeTrue(Simd.Q8_VECTOR, "the vector Q8 path");
        int n = 19, m = 14, k = 9216;
        Tensor q = Q8.quantize(Ref.weight(DType.F32, m, k, Ref.random(r, m * k)), ARENA);
        assertEquals(3072, q.panelLength());
        float[] wv = new float[m * k];
        for (int j = 0; j < m; j++) {
            for (int p = 0; p < k; p++) {
                wv[j * k + p] = q.getFloat((long) j * k + p);
            }
        }
        check("Q8", Ref.random(r, n * k), n, k, q, wv, m);
    }

    @Test
    void severalWeightsTogetherGiveEachItsOwnProduct() {
        Random r = new Random(6);
        int n = 37, k = 300;
        int[] ms = {PackedGemm.MB + 5, 7, 2 * PackedGemm.MB};
        DType[] dts = {DType.BF16, DType.F32, DType.F16};
        float[] x = Ref.random(r, n * k);
        Tensor[] ws = new Tensor[ms.length];
        float[][] wvs = new float[ms.length][];
        float[][] outs = new float[ms.length][];
        for (int w = 0; w < ms.length; w++) {
            wvs[w] = Ref.random(r, ms[w] * k);
            ws[w] = Ref.weight(dts[w], ms[w], k, wvs[w]);
            outs[w] = new float[n * ms[w]];
        }
        for (boolean scalar : new boolean[] {false, true}) {
            Ref.withPath(scalar, () -> Matmul.matmul(x, n, k, ws, outs));
            for (int w = 0; w < ms.length; w++) {
                float[] alone = new float[n * ms[w]];
                Tensor one = ws[w];
                Ref.withPath(scalar, () -> Matmul.matmul(x, n, k, one, alone));
                org.junit.jupiter.api.Assertions.assertArrayEquals(alone, outs[w], "weight " + w + (scalar ? " scalar" : " vector"));
                if (!scalar && Simd.vector()) {
                    assertEquals(chain(x, n - 1, wvs[w], ms[w] - 1, k), outs[w][n * ms[w] - 1], "weight " + w + " last output");
                }
            }
        }
        float[][] small = {outs[0], new float[3], outs[2]};
        dev.paligemma.core.InvalidArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                dev.paligemma.core.InvalidArgumentException.class, () -> Matmul.matmul(x, n, k, ws, small));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(ws[1].name()) && e.getMessage().contains("out 1"), e.getMessage());
    }

    @Test
    void morePrefixRowsThanOnePassHolds() {
        assumeTrue(Simd.vector(), "the vector path");
        Random r = new Random(5);
        int n = 2 * PackedGemm.NC + 7, m = 5, k = 40;
        float[] x = Ref.random(r, n * k);
        float[] wv = Ref.random(r, m * k);
        check("F32", x, n, k, Ref.weight(DType.F32, m, k, wv), wv, m);
    }
}
