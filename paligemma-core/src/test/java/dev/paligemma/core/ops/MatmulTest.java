package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.paligemma.core.DType;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Matrix products against a double-precision reference. Tolerance: |error| <= 1e-5 * sum_p |x_p w_p|
 * (float32 accumulation of up to a few thousand terms stays well inside it); weights are the exact
 * decoded BF16/F16 values, so only the accumulation is under test.
 */
class MatmulTest {
    static final double REL = 1e-5;
    /**
     * n, k, m: odd sizes, the SigLIP head dim 72, the fixture widths 24/48, k cut into several slices with a
     * tail (4304 and 4103 for F32 and F16, 4700 also for BF16, whose slices are twice as long).
     */
    static final int[][] SHAPES = {
        {1, 1, 1}, {2, 3, 1}, {3, 7, 5}, {5, 24, 9}, {7, 48, 13}, {4, 72, 3}, {6, 4304, 10}, {9, 16, 66}, {5, 4103, 6}, {13, 33, 70},
        {3, 4700, 5},
    };

    @Test
    void transposeMovesEachElementOfTheBlockAndNothingElse() {
        Random r = new Random(7);
        int rows = 5, cols = 3, lda = 7, aOff = 2, ldt = 8, tOff = 1;
        float[] a = Ref.random(r, aOff + rows * lda);
        float[] t = new float[tOff + cols * ldt];
        java.util.Arrays.fill(t, Float.NaN);
        Matmul.transpose(a, aOff, lda, rows, cols, t, tOff, ldt);
        for (int i = 0; i < t.length; i++) {
            int c = (i - tOff) / ldt, row = (i - tOff) % ldt;
            if (i >= tOff && row < rows) {
                assertEquals(a[aOff + row * lda + c], t[i], "t[" + i + "]");
            } else {
                assertTrue(Float.isNaN(t[i]), "t[" + i + "] outside the block was written");
            }
        }
    }

    @Test
    void sliceLengthsCoverKInEqualSlicesWithinTheByteBudget() {
        for (int bytes : new int[] {1, 2, 4}) {
            int unit = Matmul.SLICE_UNIT;
            assertEquals(0, unit % Simd.L, "slices are whole vectors");
            assertEquals(0, unit % dev.paligemma.core.Q8.BLOCK, "slices are whole Q8 blocks");
            {
                for (int k = 1; k <= 40_000; k += k < 300 ? 1 : 97) {
                    int len = Matmul.sliceLength(k, bytes);
                    int max = Matmul.SLICE_BYTES / bytes / unit * unit;
                    String at = "k=" + k + " bytes=" + bytes + ": " + len;
                    if (k <= max) {
                        assertEquals(k, len, at);
                        continue;
                    }
                    assertEquals(0, len % unit, at);
                    assertTrue(len <= max, at);
                    int slices = (k + len - 1) / len;
                    // as few slices as the budget allows, and the last one not a short remainder
                    assertEquals((k + max - 1) / max, slices, at);
                    assertTrue(k - (slices - 1) * len > len - unit * slices, at);
                }
            }
        }
        // matvec: the real long rows (Gemma 2 and Gemma MLP widths, and the tests' 4352) go four per pass, rows
        // up to SINGLE_ROW_MAX_K or with a vector tail (odd k, at any vector width) one at a time
        for (int k : new int[] {9216, 16384, 4352}) {
            assertTrue(Matmul.severalRowsPerPass(k), "four rows per pass at k = " + k);
        }
        for (int k : new int[] {2048, 2304, 4096, 4103, 4097}) {
            assertFalse(Matmul.severalRowsPerPass(k), "one row at a time at k = " + k);
        }
        assertEquals(2304, Matmul.sliceLength(2304, 2), "Gemma 2 width, BF16: one slice");
        assertEquals(2304, Matmul.sliceLength(2304, 4), "Gemma 2 width, F32: one slice");
        assertEquals(4608, Matmul.sliceLength(9216, 2), "Gemma 2 MLP, BF16: two equal slices");
        assertEquals(4096, Matmul.sliceLength(16384, 2), "Gemma MLP, BF16: four equal slices");
        assertEquals(2176, Matmul.sliceLength(4304, 4), "SigLIP MLP, F32: two slices of whole Q8 blocks");
    }

    @ParameterizedTest(name = "scalar={0}")
    @ValueSource(booleans = {false, true})
    void matmulEveryDtypeAndShape(boolean scalar) {
        Random r = new Random(1);
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int[] s : SHAPES) {
                int n = s[0], k = s[1], m = s[2];
                float[] x = Ref.random(r, n * k);
                float[] wv = Ref.random(r, m * k);
                Tensor w = Ref.weight(dt, m, k, wv);
                float[] out = new float[n * m];
                java.util.Arrays.fill(out, Float.NaN);
                Ref.withPath(scalar, () -> Matmul.matmul(x, n, k, w, out));
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < m; j++) {
                        double ref = 0, abs = 0;
                        for (int p = 0; p < k; p++) {
                            ref += (double) x[i * k + p] * wv[j * k + p];
                            abs += Math.abs((double) x[i * k + p] * wv[j * k + p]);
                        }
                        Ref.checkDot(dt + " " + n + "x" + k + "x" + m + " [" + i + "," + j + "]", out[i * m + j], ref, abs, REL);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "scalar={0}")
    @ValueSource(booleans = {false, true})
    void matvecEveryDtypeWithOffsets(boolean scalar) {
        Random r = new Random(2);
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int[] s : new int[][] {{1, 1}, {7, 3}, {24, 5}, {48, 9}, {72, 7}, {4304, 11}, {4352, 11}, {2048, 300}, {17, 1031}}) {
                int k = s[0], m = s[1];
                float[] x = Ref.random(r, k + 3);
                float[] wv = Ref.random(r, m * k);
                Tensor w = Ref.weight(dt, m, k, wv);
                float[] out = new float[m + 5];
                Ref.withPath(scalar, () -> Matmul.matvec(x, 3, w, out, 2));
                for (int j = 0; j < m; j++) {
                    double ref = 0, abs = 0;
                    for (int p = 0; p < k; p++) {
                        ref += (double) x[3 + p] * wv[j * k + p];
                        abs += Math.abs((double) x[3 + p] * wv[j * k + p]);
                    }
                    Ref.checkDot(dt + " k=" + k + " row " + j, out[2 + j], ref, abs, REL);
                }
                assertEquals(0f, out[0]);
                assertEquals(0f, out[1]);
                assertEquals(0f, out[m + 2]);
            }
        }
    }

    @ParameterizedTest(name = "scalar={0}")
    @ValueSource(booleans = {false, true})
    void attentionProductsWithLeadingDims(boolean scalar) {
        Random r = new Random(3);
        // small (inline) and large enough to run on the pool (n*m*k >= 2^20)
        for (int[] s : new int[][] {{1, 1, 1}, {3, 5, 7}, {6, 37, 72}, {67, 129, 130}, {10, 200, 256}}) {
            int n = s[0], m = s[1], k = s[2];
            int lda = k + 3, ldb = k + 1, ldc = m + 2, aOff = 5, bOff = 4, cOff = 1;
            float[] a = Ref.random(r, aOff + n * lda);
            float[] b = Ref.random(r, bOff + m * ldb);
            float[] c = new float[cOff + n * ldc];
            Ref.withPath(scalar, () -> Matmul.matmulTransposed(a, aOff, lda, b, bOff, ldb, c, cOff, ldc, n, m, k));
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    double ref = 0, abs = 0;
                    for (int p = 0; p < k; p++) {
                        double t = (double) a[aOff + i * lda + p] * b[bOff + j * ldb + p];
                        ref += t;
                        abs += Math.abs(t);
                    }
                    Ref.checkDot("transposed " + n + "x" + m + "x" + k, c[cOff + i * ldc + j], ref, abs, REL);
                }
            }
            // plain: b is [k, m] with leading dim ldbP
            int ldbP = m + 3;
            float[] bp = Ref.random(r, bOff + k * ldbP);
            float[] cp = new float[cOff + n * ldc];
            Ref.withPath(scalar, () -> Matmul.matmulPlain(a, aOff, lda, bp, bOff, ldbP, cp, cOff, ldc, n, m, k));
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    double ref = 0, abs = 0;
                    for (int p = 0; p < k; p++) {
                        double t = (double) a[aOff + i * lda + p] * bp[bOff + p * ldbP + j];
                        ref += t;
                        abs += Math.abs(t);
                    }
                    Ref.checkDot("plain " + n + "x" + m + "x" + k, cp[cOff + i * ldc + j], ref, abs, REL);
                }
                // padding between rows is left alone
                for (int j = m; j < ldc && cOff + i * ldc + j < cp.length; j++) {
                    assertEquals(0f, cp[cOff + i * ldc + j]);
                }
            }
        }
    }

    /** Every one of the 65536 half and bfloat16 bit patterns decodes exactly as the scalar conversions do. */
    @Test
    void vectorDecodersAreExactForAllBitPatterns() {
        MemorySegment seg = MemorySegment.ofArray(new byte[2 * 65536]);
        for (int i = 0; i < 65536; i++) {
            seg.setAtIndex(Ref.I16, i, (short) i);
        }
        for (int i = 0; i < 65536; i += Simd.L) {
            float[] h = Simd.f16(seg, 2L * i).toArray();
            float[] b = Simd.bf16(seg, 2L * i).toArray();
            for (int l = 0; l < Simd.L; l++) {
                short bits = (short) (i + l);
                assertEquals(Float.floatToRawIntBits(Float.float16ToFloat(bits)), Float.floatToRawIntBits(h[l]), "f16 " + (i + l));
                assertEquals(Float.floatToRawIntBits(Float.intBitsToFloat(bits << 16)), Float.floatToRawIntBits(b[l]), "bf16 " + (i + l));
            }
        }
    }

    /**
     * Byte offsets beyond 2^31: a 257216 x 2304 float32 weight (2.37 GB, the Gemma vocabulary size) in native
     * memory. About 10 s and 2.4 GB of RAM, so it runs only with {@code -Dpaligemma.largeTests=true}.
     */
    @Test
    @EnabledIfSystemProperty(named = "paligemma.largeTests", matches = "true")
    void rowsBeyondTwoGigabytes() {
        int m = 257216, k = 2304;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate((long) m * k * 4, 64);
            Tensor w = new Tensor("embed", DType.F32, new long[] {m, k}, seg, "<native>");
            int[] probe = {0, 1, 233016, m - 5, m - 1};
            for (int j : probe) {
                for (int p = 0; p < k; p++) {
                    seg.setAtIndex(Ref.F32, (long) j * k + p, (float) ((j % 7) + 1) * ((p % 5) - 2));
                }
            }
            float[] x = new float[2 * k];
            for (int p = 0; p < k; p++) {
                x[p] = (p % 5) - 2;
                x[k + p] = 1;
            }
            float[] out = new float[m];
            Matmul.matvec(x, 0, w, out, 0);
            float[] out2 = new float[2 * m];
            Matmul.matmul(x, 2, k, w, out2);
            double sq = 0, lin = 0;
            for (int p = 0; p < k; p++) {
                sq += ((p % 5) - 2) * ((p % 5) - 2);
                lin += (p % 5) - 2;
            }
            for (int j : probe) {
                assertEquals(((j % 7) + 1) * sq, out[j], 1e-3, "matvec row " + j);
                assertEquals(((j % 7) + 1) * sq, out2[j], 1e-3, "matmul row 0, col " + j);
                assertEquals(((j % 7) + 1) * lin, out2[m + j], 1e-3, "matmul row 1, col " + j);
            }
            assertEquals(0f, out[m - 2]);
            assertEquals(0f, out2[m + m - 3]);
        }
    }

    /**
     * A bias given to the several-weight product is the product's bits plus one float add: the same bits as the
     * product without biases followed by {@code out[i, j] + bias[j]}, on the packed path (added as the output is
     * stored), for one activation row (matvec) and on the scalar path; a null entry adds nothing.
     */
    @ParameterizedTest(name = "scalar={0}")
    @ValueSource(booleans = {false, true})
    void biasesAddToTheProductsBitForBit(boolean scalar) {
        Random r = new Random(11);
        for (int[] s : new int[][] {{5, 48, 13}, {1, 72, 9}, {37, 33, 70}, {266, 20, 100}}) {
            int n = s[0], k = s[1], m = s[2];
            float[] x = Ref.random(r, n * k);
            Tensor a = Ref.weight(DType.BF16, m, k, Ref.random(r, m * k));
            Tensor b = Ref.weight(DType.F32, m + 3, k, Ref.random(r, (m + 3) * k));
            float[] biasA = Ref.random(r, m);
            float[][] plain = {new float[n * m], new float[n * (m + 3)]};
            float[][] biased = {new float[n * m], new float[n * (m + 3)]};
            Ref.withPath(scalar, () -> {
                Matmul.matmul(x, n, k, new Tensor[] {a, b}, plain);
                Matmul.matmul(x, n, k, new Tensor[] {a, b}, new float[][] {biasA, null}, biased);
            });
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    assertEquals(Float.floatToRawIntBits(plain[0][i * m + j] + biasA[j]),
                            Float.floatToRawIntBits(biased[0][i * m + j]), n + "x" + k + "x" + m + " [" + i + "," + j + "]");
                }
            }
            assertArrayEquals(plain[1], biased[1], "no bias for the second weight");
        }
        Tensor w = Tensor.ofFloats("proj", new long[] {3, 4}, new float[12]);
        assertThrows(InvalidArgumentException.class,
                () -> Matmul.matmul(new float[8], 2, 4, new Tensor[] {w}, new float[][] {new float[2]}, new float[][] {new float[6]}),
                "a bias shorter than the weight's rows");
        assertThrows(InvalidArgumentException.class,
                () -> Matmul.matmul(new float[8], 2, 4, new Tensor[] {w}, new float[][] {new float[3], new float[3]}, new float[][] {new float[6]}),
                "more biases than weights");
    }

    @Test
    void rejectsBadArguments() {
        Tensor w = Tensor.ofFloats("proj", new long[] {3, 4}, new float[12]);
        assertThrows(InvalidArgumentException.class, () -> Matmul.matmul(new float[8], 2, 5, w, new float[6]));
        assertThrows(InvalidArgumentException.class, () -> Matmul.matmul(new float[7], 2, 4, w, new float[6]));
        assertThrows(InvalidArgumentException.class, () -> Matmul.matmul(new float[8], 2, 4, w, new float[5]));
        assertThrows(InvalidArgumentException.class, () -> Matmul.matvec(new float[4], 1, w, new float[3], 0));
        assertThrows(InvalidArgumentException.class, () -> Matmul.matvec(new float[4], 0, w, new float[3], 1));
        Tensor ints = new Tensor("ids", DType.I32, new long[] {3, 4}, MemorySegment.ofArray(new byte[48]), "<test>");
        assertThrows(InvalidArgumentException.class, () -> Matmul.matmul(new float[8], 2, 4, ints, new float[6]));
    }
}
