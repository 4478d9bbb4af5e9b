package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.paligemma.core.DType;
import dev.paligemma.core.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Matmul#bf16EightRows} picks a memory access pattern, not an order of operations: a BF16 decode product
 * has the same bits one row at a time and eight rows per pass, row-major and in column panels, for row counts
 * that leave one to seven rows over and for every split of the rows across calls.
 */
class Bf16EightRowsTest {
    @Test
    void eightRowsPerPassKeepsTheBitsOfOneRowAtATime() {
        Random r = new Random(8);
        boolean before = Matmul.bf16EightRows;
        try {
            // row-major, and in column panels (9216: Gemma 2's down projection, three of 3072)
            for (int k : new int[] {2 * Simd.L, 2304, 2048 + 2 * Simd.L, 9216}) {
                for (int m : new int[] {1, 4, 8, 15, 37, 258}) {
                    float[] x = Ref.random(r, k + 3);
                    Tensor rowMajor = Ref.weight(DType.BF16, m, k, Ref.random(r, m * k));
                    Tensor w = k == 9216 ? Bf16PanelsTest.panelled(rowMajor, dev.paligemma.core.Q8.panelLength(k)) : rowMajor;
                    float[] one = new float[m + 1];
                    float[] eight = new float[m + 1];
                    Matmul.bf16EightRows = false;
                    Matmul.matvec(x, 3, w, one, 1);
                    Matmul.bf16EightRows = true;
                    Matmul.matvec(x, 3, w, eight, 1);
                    assertArrayEquals(one, eight, "k=" + k + " m=" + m);
                    for (int cut = 1; cut < Math.min(m, 17); cut++) {
                        float[] split = new float[m + 1];
                        Matmul.rowsOf(x, 3, k, w, 0, cut, split, 1, Simd.vector());
                        Matmul.rowsOf(x, 3, k, w, cut, m, split, 1, Simd.vector());
                        assertArrayEquals(one, split, "k=" + k + " m=" + m + " rows cut at " + cut);
                    }
                }
            }
        } finally {
            Matmul.bf16EightRows = before;
        }
    }
}
