package dev.paligemma.benchmarks;

import dev.paligemma.core.DType;
import dev.paligemma.core.Tensor;
import dev.paligemma.core.ops.Matmul;
import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decoding product {@code w[m,k] * x} in the Gemma 2B decoder's two row lengths: the down projection (2048
 * rows of 16384: the four-rows-per-pass kernels for BF16 and F32, eight column panels of 2048 for Q8) and the
 * gate/up projection (16384 rows of 2048, one row at a time, the shape of most decode bytes). 64 MB in BF16 and 128 MB in F32, larger than the caches, so each call
 * streams the weight from memory; 35.7 MB in Q8, not much more than a 32 MB L3, so a Q8 figure here can be
 * helped by the cache (the decode benches of {@code ./paligemma bench} are the Q8 figures that count). The
 * {@code gbytes} counter is the achieved weight-streaming bandwidth in GB/s, Q8 scales included (JMH reports
 * it per second).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx6g"})
public class MatvecBenchmark {
    @Param({"2048x16384", "16384x2048"})
    public String shape;

    @Param({"BF16", "F32", "Q8"})
    public String dtype;

    float[] x;
    float[] out;
    Tensor w;
    long bytes;
    Arena arena;

    @Setup
    public void setUp() {
        String[] d = shape.split("x");
        int m = Integer.parseInt(d[0]);
        int k = Integer.parseInt(d[1]);
        arena = Arena.ofShared();
        w = Weights.random(arena, DType.valueOf(dtype), m, k, 1);
        bytes = Weights.bytes(w);
        x = Weights.activations(k, 2);
        out = new float[m];
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    /** GB of weight streamed; JMH divides by time, so the row reads GB/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        public double gbytes;

        @Setup(Level.Iteration)
        public void reset() {
            gbytes = 0;
        }
    }

    @Benchmark
    public float[] matvec(Bytes b) {
        Matmul.matvec(x, 0, w, out, 0);
        b.gbytes += bytes / 1e9;
        return out;
    }
}
