package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.DType;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Q8;
import dev.paligemma.core.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Q8 block quantisation and the Q8 kernels: the stored bytes and scales against the definition (checked
 * from the raw segments, not through the code under test), the kernels against a double reference of the
 * dequantised weights (tight) and against the float weights (within the quantisation bound), on odd sizes
 * including SigLIP's 4304 (short last block) and 72.
 */
class Q8Test {
    private static final Arena ARENA = Arena.ofAuto();

    /**
     * Raw dequantised value of element (row, col), read from the segments in the documented layout: column
     * panels of kc = panelLength, panel after panel, each row-major (kc = k is plain row-major).
     */
    /** Rows per interleaved group, as the layout defines it: four in a row-major matrix of whole groups and blocks. */
    private static long group(Tensor t) {
        return t.dim(0) % 4 == 0 && t.panelLength() == t.dim(1) && t.dim(1) % 32 == 0 ? 4 : 1;
    }

    private static double deq(Tensor t, long row, long col) {
        long kc = t.panelLength(), g = group(t), c = col % kc;
        long at = (col / kc) * t.dim(0) * kc + (row / g) * g * kc + (c / 32) * g * 32 + (row % g) * 32 + c % 32;
        byte q = t.segment().get(ValueLayout.JAVA_BYTE, at);
        return q * (double) scale(t, row, col);
    }

    private static float scale(Tensor t, long row, long col) {
        long kc = t.panelLength(), g = group(t);
        long nbc = (kc + 31) / 32;
        long at = (col / kc) * t.dim(0) * nbc + (row / g) * g * nbc + (col % kc) / 32 * g + row % g;
        return Float.float16ToFloat(t.scales().getAtIndex(Ref.I16, at));
    }

    private static float[] gaussianBlocks(Random r, int m, int k) {
        float[] w = new float[m * k];
        for (int i = 0; i < w.length; i++) {
            // block magnitudes vary by orders of magnitude, as across real weight rows
            double mag = Math.pow(10, -3 + ((i / 32) % 5));
            w[i] = (float) (r.nextGaussian() * mag);
        }
        return w;
    }

    @Test
    void valuesAndScalesFollowTheDefinition() {
        Random r = new Random(5);
        // 9216 and 4352 are stored in panels of 3072 and 2176, 4192 (131 blocks, a prime) row-major
        // rows of a row-major matrix in whole groups of four are interleaved block by block (not with k = 4304: its
        // last block is short; not in panels)
        for (int[] s : new int[][] {{3, 4304, 4304}, {5, 72, 72}, {2, 1, 1}, {2, 33, 33}, {4, 64, 64}, {3, 9216, 3072},
                {2, 4352, 2176}, {2, 4192, 4192}, {12, 96, 96}, {8, 9216, 3072}, {4, 4304, 4304}, {8, 33, 33}}) {
            int m = s[0], k = s[1];
            float[] w = gaussianBlocks(r, m, k);
            Tensor q = Q8.quantize(Ref.weight(DType.F32, m, k, w.clone()), ARENA);
            assertEquals(DType.Q8, q.dtype());
            assertEquals(s[2], q.panelLength(), "panel length for k = " + k);
            assertEquals(m % 4 == 0 && k % 32 == 0 && s[2] == k ? 4 : 1, q.rowGroup(), "row group for " + m + " x " + k);
            assertEquals((long) m * k, q.segment().byteSize());
            assertEquals((long) m * ((k + 31) / 32) * 2, q.scales().byteSize());
            for (int i = 0; i < m; i++) {
                for (int b = 0; b * 32 < k; b++) {
                    double amax = 0;
                    for (int p = b * 32; p < Math.min(k, b * 32 + 32); p++) {
                        amax = Math.max(amax, Math.abs(w[i * k + p]));
                    }
                    float sc = scale(q, i, b * 32L);
                    assertTrue(sc * 127.0 >= amax, "no clipping, block " + b);
                    // at most one float16 step above max/127
                    assertTrue(sc <= amax / 127 * (1 + 1.0 / 512) + 1e-7, "scale " + sc + " vs amax " + amax);
                    for (int p = b * 32; p < Math.min(k, b * 32 + 32); p++) {
                        double e = Math.abs(deq(q, i, p) - w[i * k + p]);
                        assertTrue(e <= sc / 2.0, "element error " + e + " > s/2 = " + sc / 2);
                    }
                }
            }
            float[] all = q.toFloatArray();
            float[] part = new float[k + 5];
            for (int i = 0; i < m; i++) {
                q.toFloats((long) i * k + 1, part, 2, k - 1);
                for (int p = 0; p < k; p++) {
                    assertEquals((float) deq(q, i, p), all[i * k + p]);
                    assertEquals((float) deq(q, i, p), q.getFloat((long) i * k + p));
                    if (p >= 1) {
                        assertEquals((float) deq(q, i, p), part[p + 1]);
                    }
                }
            }
        }
    }

    @Test
    void panelLengthsOfTheRealShapes() {
        // up to 3072 and whatever is not whole blocks stays row-major
        assertEquals(2048, Q8.panelLength(2048));
        assertEquals(2304, Q8.panelLength(2304));
        assertEquals(3072, Q8.panelLength(3072));
        assertEquals(4304, Q8.panelLength(4304));
        assertEquals(4100, Q8.panelLength(4100));
        // Gemma 2 down projections (2B/9B: 9216, 9B hidden 3584 is short enough, 27B: 36864), Gemma's 16384,
        // Gemma 2 27B hidden 4608 and o_proj 4096
        assertEquals(3072, Q8.panelLength(9216));
        assertEquals(3072, Q8.panelLength(36864));
        assertEquals(2048, Q8.panelLength(16384));
        assertEquals(2304, Q8.panelLength(4608));
        assertEquals(2048, Q8.panelLength(4096));
        assertEquals(14336 / 7, Q8.panelLength(14336));
        // 131 blocks: panels would be one block long, so none
        assertEquals(4192, Q8.panelLength(4192));
    }

    @Test
    void panelLengthThatDoesNotCutRowsIntoWholeBlocksIsRefused() {
        MemorySegment v = MemorySegment.ofArray(new byte[2 * 128]);
        MemorySegment sc = MemorySegment.ofArray(new byte[2 * 4 * 2]);
        assertEquals(64, Q8.of("w", new long[] {2, 128}, 64, v, sc, "<test>").panelLength());
        assertEquals(128, Q8.of("w", new long[] {2, 128}, v, sc, "<test>").panelLength());
        for (long bad : new long[] {0, 48, 96, 256, -32}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> Q8.of("w.weight", new long[] {2, 128}, bad, v, sc, "<test>"));
            assertTrue(e.getMessage().contains("w.weight") && e.getMessage().contains("panel length " + bad), e.getMessage());
        }
    }

    @Test
    void roundsHalfToEvenWithAnExactScale() {
        // max |w| = 63.5 gives s = 63.5 / 127 = 0.5 exactly; w / s = 0.5, 1.5, 2.5, -0.5 round to 0, 2, 2, 0
        float[] w = new float[32];
        w[0] = 63.5f;
        w[1] = 0.25f;
        w[2] = 0.75f;
        w[3] = 1.25f;
        w[4] = -0.25f;
        w[5] = -63.5f;
        Tensor q = Q8.quantize(Tensor.ofFloats("w", new long[] {1, 32}, w), ARENA);
        assertEquals(0.5f, scale(q, 0, 0));
        byte[] got = q.segment().toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(new byte[] {127, 0, 2, 2, 0, -127}, java.util.Arrays.copyOf(got, 6));
    }

    @Test
    void shortLastBlockHasItsOwnScale() {
        // k = 72: blocks [0,32), [32,64), [64,72); only the short block holds large values
        float[] w = new float[72];
        for (int p = 0; p < 72; p++) {
            w[p] = p < 64 ? 0.001f * (p % 7 - 3) : 100f + p;
        }
        Tensor q = Q8.quantize(Tensor.ofFloats("w", new long[] {1, 72}, w), ARENA);
        assertEquals(3 * 2, q.scales().byteSize());
        assertTrue(scale(q, 0, 0) < 1e-4f);
        assertTrue(scale(q, 0, 64) > 1f);
        assertEquals(0.003, deq(q, 0, 6), 0.003 / 254 * 1.01);
    }

    @Test
    void zeroBlockAndNonFiniteWeights() {
        Tensor zero = Q8.quantize(Tensor.ofFloats("z", new long[] {2, 40}, new float[80]), ARENA);
        assertArrayEquals(new float[80], zero.toFloatArray());
        float[] bad = new float[40];
        bad[17] = Float.NaN;
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> Q8.quantize(Tensor.ofFloats("bad.weight", new long[] {1, 40}, bad), ARENA));
        assertTrue(e.getMessage().contains("bad.weight"), e.getMessage());
        assertTrue(DType.fromSafetensors("Q8").isEmpty(), "Q8 is not a safetensors dtype");
        assertThrows(RuntimeException.class, () -> new Tensor("q", DType.Q8, new long[] {1, 4},
                MemorySegment.ofArray(new byte[4]), "<test>"));
    }

    /** Dense float32 tensor of the dequantised values (read from the raw segments). */
    private static Tensor dequantised(Tensor q) {
        int m = (int) q.dim(0), k = (int) q.dim(1);
        float[] v = new float[m * k];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                v[i * k + p] = (float) deq(q, i, p);
            }
        }
        return Tensor.ofFloats("deq", new long[] {m, k}, v);
    }

    /**
     * The matvec kernel widens a row's half scales to floats by a bit shift and one multiply: every one of the
     * 65536 halves must come out with the bits {@link Float#float16ToFloat} gives, from groups that start on
     * and off a vector boundary and end in a scalar tail. Groups holding a negative half, an infinity or a NaN
     * take the scalar conversion; one negative among positives covers that.
     */
    @Test
    void scalesWidenToTheExactFloatOfEveryHalf() {
        int n = 1 << 16;
        MemorySegment sc = ARENA.allocate(2L * n + 64, 64);
        for (int h = 0; h < n; h++) {
            sc.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * h, (short) h);
        }
        for (int start : new int[] {0, 5}) {
            int count = n - start - 3;
            float[] dst = new float[count];
            Matmul.q8Scales(sc, 2L * start, count, dst);
            for (int i = 0; i < count; i++) {
                short h = (short) (start + i);
                assertEquals(Float.floatToRawIntBits(Float.float16ToFloat(h)), Float.floatToRawIntBits(dst[i]),
                        "half 0x" + Integer.toHexString(h & 0xFFFF) + " from start " + start);
            }
        }
        // with room in dst, the last partial group widens the halves after the n as well (never past the segment)
        int lanes = Math.max(1, Matmul.vectorPadded(1));
        for (int count : new int[] {72, 1, 100, 17}) {
            for (boolean atEnd : new boolean[] {false, true}) {
                MemorySegment row = atEnd ? sc.asSlice(2L * (n - count), 2L * count) : sc.asSlice(2L * 1000, 2L * (count + 64));
                int first = atEnd ? n - count : 1000;
                float[] roomy = new float[count + lanes];
                java.util.Arrays.fill(roomy, Float.NaN);
                Matmul.q8Scales(row, 0, count, roomy);
                for (int i = 0; i < count; i++) {
                    short h = (short) (first + i);
                    assertEquals(Float.floatToRawIntBits(Float.float16ToFloat(h)), Float.floatToRawIntBits(roomy[i]),
                            "half 0x" + Integer.toHexString(h & 0xFFFF) + ", count " + count + (atEnd ? " at the segment's end" : ""));
                }
            }
        }
        MemorySegment mixed = ARENA.allocate(64, 64);
        short[] halves = new short[32];
        for (int i = 0; i < 32; i++) {
            halves[i] = Float.floatToFloat16(0.001f * (i + 1));
        }
        halves[7] = Float.floatToFloat16(-0.5f);
        for (int i = 0; i < 32; i++) {
            mixed.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, halves[i]);
        }
        float[] dst = new float[32];
        Matmul.q8Scales(mixed, 0, 32, dst);
        for (int i = 0; i < 32; i++) {
            assertEquals(Float.float16ToFloat(halves[i]), dst[i], "scale " + i + " of a group with a negative one");
        }
        // 20 scales from the ninth: their last group would pass the segment's end, so it is not read whole
        float[] after = new float[32 + lanes];
        Matmul.q8Scales(mixed, 2L * 8, 20, after);
        for (int i = 0; i < 20; i++) {
            assertEquals(Float.float16ToFloat(halves[8 + i]), after[i], "scale " + (8 + i) + " before an over-read");
        }
        // 7 scales, the group read whole holds the negative eighth: the scalar path, the first 7 exact
        Matmul.q8Scales(mixed, 0, 7, after);
        for (int i = 0; i < 7; i++) {
            assertEquals(Float.float16ToFloat(halves[i]), after[i], "scale " + i + " before a negative one");
        }
    }

    @Test
    void matvecMatchesDoubleReferenceAndFloatWeights() {
        Random r = new Random(11);
        for (boolean scalar : new boolean[] {false, true}) {
            // 4192: row-major (131 blocks) and whole vector pairs beyond Matmul.SINGLE_ROW_MAX_K, the
            // four-rows-per-pass kernel (with m = 5 and 37 also its leftover rows); 4304 goes one row at a time
            // with 512-bit vectors; 4352 and 9216 are in two and three column panels (Matmul.rowsQ8Panels); with
            // m = 8 and 36 row-major rows of whole blocks (32, 4192) are interleaved in groups of four
            // (Matmul.rowsQ8Groups)
            for (int k : new int[] {1, 31, 32, 72, 301, 4304, 4192, 4352, 9216}) {
                for (int m : new int[] {1, 5, 37, 8, 36}) {
                    float[] wf = gaussianBlocks(r, m, k);
                    Tensor wb = Ref.weight(DType.BF16, m, k, wf);
                    Tensor q = Q8.quantize(wb, ARENA);
                    float[] x = Ref.random(r, k + 2);
                    float[] out = new float[m + 1];
                    Ref.withPath(scalar, () -> Matmul.matvec(x, 2 - 1, q, out, 1));
                    for (int j = 0; j < m; j++) {
                        double ref = 0, abs = 0, qbound = 0, refF = 0;
                        for (int p = 0; p < k; p++) {
                            double xv = x[1 + p];
                            ref += xv * deq(q, j, p);
                            abs += Math.abs(xv * deq(q, j, p));
                            refF += xv * wf[j * k + p];
                            qbound += Math.abs(xv) * scale(q, j, p) / 2;
                        }
                        String what = "matvec Q8 m=" + m + " k=" + k + " row " + j + (scalar ? " scalar" : " vector");
                        Ref.checkDot(what, out[1 + j], ref, abs, 1e-5);
                        assertTrue(Math.abs(out[1 + j] - refF) <= qbound + 1e-5 * abs,
                                what + ": error vs float weights " + Math.abs(out[1 + j] - refF) + " > bound " + qbound);
                    }
                    float[] f32 = new float[m + 1];
                    Tensor d = dequantised(q);
                    Ref.withPath(scalar, () -> Matmul.matvec(x, 1, d, f32, 1));
                    assertArrayEquals(f32, out, "Q8 matvec has the bits of F32 matvec over the dequantised weights");
                }
            }
        }
    }

    @Test
    void matmulMatchesDoubleReferenceAndFloatWeights() {
        Random r = new Random(12);
        for (boolean scalar : new boolean[] {false, true}) {
            // 9216: panels of 3072, which the GEMM's k slices (2304) cross
            // 4 x 32 and 16 x 4192: rows interleaved in groups of four, decoded into the GEMM's panels
            for (int[] s : new int[][] {{5, 9, 72}, {7, 67, 4304}, {2, 13, 2100}, {4, 4, 32}, {3, 70, 33}, {3, 21, 9216},
                    {3, 24, 9216}, {2, 16, 4192}}) {
                int n = s[0], m = s[1], k = s[2];
                float[] wf = gaussianBlocks(r, m, k);
                Tensor q = Q8.quantize(Ref.weight(DType.F16, m, k, wf), ARENA);
                float[] x = Ref.random(r, n * k);
                float[] out = new float[n * m];
                Ref.withPath(scalar, () -> Matmul.matmul(x, n, k, q, out));
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < m; j++) {
                        double ref = 0, abs = 0, qbound = 0, refF = 0;
                        for (int p = 0; p < k; p++) {
                            double xv = x[i * k + p];
                            ref += xv * deq(q, j, p);
                            abs += Math.abs(xv * deq(q, j, p));
                            refF += xv * wf[j * k + p];
                            qbound += Math.abs(xv) * scale(q, j, p) / 2;
                        }
                        String what = "matmul Q8 " + n + "x" + m + "x" + k + " [" + i + "," + j + "]" + (scalar ? " scalar" : "");
                        Ref.checkDot(what, out[i * m + j], ref, abs, 1e-5);
                        assertTrue(Math.abs(out[i * m + j] - refF) <= qbound + 1e-5 * abs, what + ": beyond quantisation bound");
                    }
                }
                float[] f32 = new float[n * m];
                Tensor d = dequantised(q);
                Ref.withPath(scalar, () -> Matmul.matmul(x, n, k, d, f32));
                assertArrayEquals(f32, out, "Q8 matmul has the bits of F32 matmul over the dequantised weights");
            }
        }
    }

    /**
     * A thread's row range may start or end inside a group of four interleaved rows: those rows go one at a
     * time, the whole groups four per pass, and every row keeps the bits of the F32 product over the
     * dequantised weights.
     */
    @Test
    void groupedRowsInAnyRangeKeepTheirBits() {
        Random r = new Random(13);
        for (int k : new int[] {96, 4192, 2304}) {
            int m = 12;
            Tensor q = Q8.quantize(Ref.weight(DType.F32, m, k, gaussianBlocks(r, m, k)), ARENA);
            assertEquals(Q8.GROUP, q.rowGroup());
            Tensor d = dequantised(q);
            float[] x = Ref.random(r, k + 3);
            for (int[] range : new int[][] {{0, 12}, {1, 12}, {0, 11}, {1, 3}, {2, 7}, {5, 6}, {4, 8}, {3, 10}, {6, 6}}) {
                float[] out = new float[m + 2], f32 = new float[m + 2];
                Arrays.fill(out, -7f);
                Arrays.fill(f32, -7f);
                Matmul.rowsOf(x, 3, k, q, range[0], range[1], out, 2, true);
                Matmul.rowsOf(x, 3, k, d, range[0], range[1], f32, 2, true);
                assertArrayEquals(f32, out, "k=" + k + " rows " + Arrays.toString(range));
                for (int j = 0; j < m; j++) {
                    boolean in = j >= range[0] && j < range[1];
                    assertEquals(!in, out[2 + j] == -7f, "row " + j + (in ? " computed" : " untouched") + ", k=" + k + " " + Arrays.toString(range));
                }
            }
        }
    }
}
