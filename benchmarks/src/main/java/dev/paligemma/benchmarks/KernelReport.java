package dev.paligemma.benchmarks;

import dev.paligemma.core.DType;
import dev.paligemma.core.Tensor;
import dev.paligemma.core.ops.Matmul;
import java.lang.foreign.Arena;

/**
 * Best-of-N timings of the benchmark shapes without JMH, for a quick figure on a shared machine (the best
 * run is the one least disturbed by other load). Run with
 * {@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar dev.paligemma.benchmarks.KernelReport}.
 */
public final class KernelReport {
    private KernelReport() {
    }

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        try (Arena arena = Arena.ofShared()) {
            for (int[] s : new int[][] {{266, 2048, 16384}, {256, 1152, 4304}}) {
                for (DType dt : new DType[] {DType.BF16, DType.F32, DType.F16, DType.Q8}) {
                    Tensor w = Weights.random(arena, dt, s[2], s[1], 1);
                    float[] x = Weights.activations(s[0] * s[1], 2);
                    float[] out = new float[s[0] * s[2]];
                    long best = Long.MAX_VALUE;
                    for (int r = 0; r < reps; r++) {
                        long t0 = System.nanoTime();
                        Matmul.matmul(x, s[0], s[1], w, out);
                        best = Math.min(best, System.nanoTime() - t0);
                    }
                    System.out.printf("matmul %dx%dx%d %s: %.1f ms, %.1f GFLOP/s%n", s[0], s[1], s[2], dt,
                            best / 1e6, 2.0 * s[0] * s[1] * s[2] / best);
                }
            }
            for (DType dt : new DType[] {DType.BF16, DType.F32, DType.F16, DType.Q8}) {
                Tensor w = Weights.random(arena, dt, 2048, 16384, 1);
                float[] x = Weights.activations(16384, 2);
                float[] out = new float[2048];
                long best = Long.MAX_VALUE;
                for (int r = 0; r < reps * 10; r++) {
                    long t0 = System.nanoTime();
                    Matmul.matvec(x, 0, w, out, 0);
                    best = Math.min(best, System.nanoTime() - t0);
                }
                long bytes = Weights.bytes(w);
                System.out.printf("matvec 2048x16384 %s: %.2f ms, %.1f GB/s (%.4f bytes/weight)%n", dt, best / 1e6,
                        bytes / (double) best, bytes / (double) w.size());
            }
        }
    }
}
