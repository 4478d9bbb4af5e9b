package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.paligemma.core.DType;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Q8;
import dev.paligemma.core.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A fused pass over several matrices gives each matrix's {@link Matmul#matvec} bits, whatever the split. */
class MatvecPlanTest {
    @Test
    void fusedPassEqualsSeparateMatvecsBitForBit() {
        int saved = Parallel.threads();
        Random r = new Random(8);
        try {
            // 4352: the four-rows-per-pass kernels (BF16, F32, F16), with passes cut by the chunk boundaries, and Q8
            // in two column panels (a thread's rows of a panel, then of the next)
            for (int k : new int[] {72, 301, 2048, 4352}) {
                // uneven row counts so chunk boundaries fall inside matrices (and inside the four-row passes); 132
                // Q8 rows of whole blocks are interleaved in groups of four, which chunk boundaries may cut
                int[] ms = {k >= 2048 ? 1031 : 37, 13, 132};
                DType[] types = {DType.BF16, DType.F32, DType.F16, DType.Q8};
                for (int t = 0; t < types.length; t++) {
                    Tensor[] ws = new Tensor[3];
                    float[][] outs = new float[3][];
                    for (int i = 0; i < 3; i++) {
                        DType dt = types[(t + i) % types.length];
                        float[] v = Ref.random(r, ms[i] * k);
                        ws[i] = dt == DType.Q8 ? Q8.quantize(Ref.weight(DType.F32, ms[i], k, v), Arena.ofAuto())
                                : Ref.weight(dt, ms[i], k, v);
                        outs[i] = new float[ms[i]];
                    }
                    float[] x = Ref.random(r, k + 5);
                    MatvecPlan plan = new MatvecPlan(x, 5, ws, outs);
                    for (boolean scalar : new boolean[] {false, true}) {
                        for (int threads : new int[] {1, 2, 3}) {
                            Parallel.setThreads(threads);
                            Ref.withPath(scalar, plan::run);
                            for (int i = 0; i < 3; i++) {
                                float[] want = new float[ms[i]];
                                Tensor w = ws[i];
                                Ref.withPath(scalar, () -> Matmul.matvec(x, 5, w, want, 0));
                                assertArrayEquals(want, outs[i], "k=" + k + " matrix " + i + " " + w.dtype() + " threads " + threads
                                        + (scalar ? " scalar" : ""));
                            }
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void mismatchedShapesAreRefused() {
        Tensor a = Tensor.ofFloats("a", new long[] {2, 4}, new float[8]);
        Tensor b = Tensor.ofFloats("b", new long[] {2, 5}, new float[10]);
        float[] x = new float[5];
        assertThrows(InvalidArgumentException.class, () -> new MatvecPlan(x, 0, new Tensor[] {a, b}, new float[][] {new float[2], new float[2]}));
        assertThrows(InvalidArgumentException.class, () -> new MatvecPlan(x, 0, new Tensor[] {a}, new float[][] {new float[1]}));
        assertThrows(InvalidArgumentException.class, () -> new MatvecPlan(x, 2, new Tensor[] {a}, new float[][] {new float[2]}));
    }
}
