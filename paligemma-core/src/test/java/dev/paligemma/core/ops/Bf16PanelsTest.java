package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.paligemma.core.DType;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Q8;
import dev.paligemma.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * BF16 matrices stored in column panels (a {@code Checkpoint.panelled} view's long rows): element access, the
 * decode kernel ({@code Matmul.rowsBf16Panels}) and the GEMM and scalar paths, against the same matrix row-major.
 */
class Bf16PanelsTest {
    /** The row-major BF16 matrix {@code w} moved into panels of {@code kc}, in the layout {@link Tensor#panelLength} documents. */
    static Tensor panelled(Tensor w, long kc) {
        long m = w.dim(0), k = w.dim(1);
        MemorySegment dst = MemorySegment.ofArray(new byte[Math.toIntExact(2 * m * k)]);
        for (long j = 0; j < m; j++) {
            for (long p = 0; p < k; p++) {
                long s = p / kc;
                long at = (s * m + j) * kc + p % kc;
                dst.setAtIndex(Ref.I16, at, w.segment().getAtIndex(Ref.I16, j * k + p));
            }
        }
        return Tensor.panelled(w.name(), DType.BF16, w.shape(), kc, dst, "<test panels>");
    }

    @Test
    void elementsReadAsTheRowMajorMatrix() {
        Random r = new Random(1);
        int m = 3, k = 4352;
        float[] v = Ref.random(r, m * k);
        Tensor w = Ref.weight(DType.BF16, m, k, v);
        Tensor p = panelled(w, Q8.panelLength(k));
        assertEquals(2176, p.panelLength());
        assertTrue(p.isPanelled());
        assertFalse(w.isPanelled());
        assertEquals(k, w.panelLength());
        assertArrayEquals(v, p.toFloatArray());
        for (long i : new long[] {0, 2175, 2176, 4351, 4352, 6000, 3L * k - 1}) {
            assertEquals(v[(int) i], p.getFloat(i), "element " + i);
        }
        float[] part = new float[100];
        p.toFloats(k + 2150, part, 0, 100); // crosses a panel boundary inside row 1
        for (int i = 0; i < 100; i++) {
            assertEquals(v[k + 2150 + i], part[i]);
        }
    }

    @Test
    void badPanelsAreRefused() {
        Tensor w = Ref.weight(DType.BF16, 2, 4096, new float[8192]);
        assertThrows(InvalidArgumentException.class, () -> Tensor.panelled("w", DType.BF16, w.shape(), 1000, w.segment(), "<t>"));
        assertThrows(InvalidArgumentException.class, () -> Tensor.panelled("w", DType.BF16, w.shape(), 3072, w.segment(), "<t>"));
        assertThrows(InvalidArgumentException.class, () -> Tensor.panelled("w", DType.BF16, w.shape(), 0, w.segment(), "<t>"));
        Tensor f = Ref.weight(DType.F32, 2, 4096, new float[8192]);
        assertThrows(InvalidArgumentException.class, () -> Tensor.panelled("w", DType.F32, f.shape(), 2048, f.segment(), "<t>"));
        assertThrows(InvalidArgumentException.class,
                () -> Tensor.panelled("w", DType.BF16, new long[] {2, 2, 2048}, 1024, w.segment(), "<t>"));
    }

    /**
     * The decode product over panels has the bits of the row-major one (a panel is whole vector pairs), on the
     * vector path (rowsBf16Panels against rowsBf16 and the eight-rows-per-pass rowsBf16Wide) and the scalar one,
     * and is within float rounding of a double reference. k = 4352 (two panels of 2176), 9216 (Gemma 2's down
     * projection: three of 3072) and 16384 (Gemma's: eight of 2048); m = 37 leaves rows over for the wide kernel.
     */
    @Test
    void matvecHasTheBitsOfTheRowMajorProduct() {
        Random r = new Random(2);
        for (boolean scalar : new boolean[] {false, true}) {
            for (int k : new int[] {4352, 9216, 16384}) {
                for (int m : new int[] {1, 37}) {
                    float[] v = Ref.random(r, m * k);
                    Tensor w = Ref.weight(DType.BF16, m, k, v);
                    Tensor p = panelled(w, Q8.panelLength(k));
                    float[] x = Ref.random(r, k + 3);
                    float[] rowMajor = new float[m + 2], panels = new float[m + 2];
                    Ref.withPath(scalar, () -> Matmul.matvec(x, 3, w, rowMajor, 2));
                    Ref.withPath(scalar, () -> Matmul.matvec(x, 3, p, panels, 2));
                    String what = "k=" + k + " m=" + m + (scalar ? " scalar" : " vector");
                    assertArrayEquals(rowMajor, panels, what);
                    for (int j = 0; j < m; j++) {
                        double ref = 0, abs = 0;
                        for (int q = 0; q < k; q++) {
                            ref += (double) x[3 + q] * v[j * k + q];
                            abs += Math.abs((double) x[3 + q] * v[j * k + q]);
                        }
                        Ref.checkDot(what + " row " + j, panels[2 + j], ref, abs, 1e-5);
                    }
                }
            }
        }
    }

    /** A decode step's MatvecPlan splits rows across threads anywhere; every split gives the same bits. */
    @Test
    void matvecPlanOverPanels() {
        Random r = new Random(4);
        int k = 9216;
        Tensor w = Ref.weight(DType.BF16, 70, k, Ref.random(r, 70 * k));
        Tensor p = panelled(w, 3072);
        float[] x = Ref.random(r, k);
        float[] a = new float[70], b = new float[70];
        Matmul.matvec(x, 0, w, a, 0);
        new MatvecPlan(x, 0, new Tensor[] {p}, new float[][] {b}).run();
        assertArrayEquals(a, b);
        for (int cut : new int[] {1, 13, 64}) {
            float[] c = new float[70];
            Matmul.rowsOf(x, 0, k, p, 0, cut, c, 0, true);
            Matmul.rowsOf(x, 0, k, p, cut, 70, c, 0, true);
            assertArrayEquals(a, c, "rows cut at " + cut);
        }
    }

    /**
     * The GEMM (prefill) over panels cuts k at the panel boundaries, so its sums are grouped differently from the
     * row-major GEMM's; both must be within float rounding of a double reference. The scalar path sums in one
     * order either way, so there the bits agree too.
     */
    @Test
    void matmulOverPanels() {
        Random r = new Random(3);
        for (boolean scalar : new boolean[] {false, true}) {
            for (int[] s : new int[][] {{5, 70, 9216}, {3, 9, 4352}, {2, 5, 16384}}) {
                int n = s[0], m = s[1], k = s[2];
                float[] v = Ref.random(r, m * k);
                Tensor w = Ref.weight(DType.BF16, m, k, v);
                Tensor p = panelled(w, Q8.panelLength(k));
                float[] x = Ref.random(r, n * k);
                float[] rowMajor = new float[n * m], panels = new float[n * m];
                Ref.withPath(scalar, () -> Matmul.matmul(x, n, k, w, rowMajor));
                Ref.withPath(scalar, () -> Matmul.matmul(x, n, k, p, panels));
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < m; j++) {
                        double ref = 0, abs = 0;
                        for (int q = 0; q < k; q++) {
                            ref += (double) x[i * k + q] * v[j * k + q];
                            abs += Math.abs((double) x[i * k + q] * v[j * k + q]);
                        }
                        String what = "matmul " + n + "x" + m + "x" + k + " [" + i + "," + j + "]" + (scalar ? " scalar" : "");
                        Ref.checkDot(what, panels[i * m + j], ref, abs, 1e-5);
                    }
                }
                if (scalar) {
                    assertArrayEquals(rowMajor, panels, "scalar GEMM " + n + "x" + m + "x" + k);
                }
            }
        }
    }
}
