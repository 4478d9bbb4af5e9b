package dev.paligemma.core.ops;

import java.util.function.IntConsumer;

/**
 * The fixed worker pool all kernels share. Sized to the cores by default ({@code -Dpaligemma.threads=N}
 * or {@link #setThreads(int)} to change). Never uses the common ForkJoin pool.
 *
 * <p>STUB: runs serially; the kernel layer issue replaces it with a real pool.
 */
public final class Parallel {
    private static volatile int threads = Integer.getInteger("paligemma.threads", Runtime.getRuntime().availableProcessors());

    private Parallel() {
    }

    /** Body of a parallel loop: handles indices {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    public static int threads() {
        return threads;
    }

    public static void setThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + n);
        }
        threads = n;
    }

    /** Splits {@code [0, n)} into contiguous chunks of at least {@code grain} indices and runs them on the pool. */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n > 0) {
            body.run(0, n);
        }
    }

    /** Runs {@code body.accept(i)} for every i in {@code [0, n)} on the pool, one task per index. */
    public static void forEach(int n, IntConsumer body) {
        for (int i = 0; i < n; i++) {
            body.accept(i);
        }
    }
}
