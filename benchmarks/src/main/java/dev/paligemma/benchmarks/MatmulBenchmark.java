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
 * Prefill / vision-encoder products {@code x[n,k] * w[m,k]^T}: Gemma 2B gate/up projection of a 266-token
 * prompt (256 image tokens + text) and the SigLIP So400m MLP fc1 over 256 patches. The {@code gflops}
 * counter is the achieved GFLOP/s (2nmk per call); JMH reports it per second next to the primary score (calls per second).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx6g"})
public class MatmulBenchmark {
    @Param({"266x2048x16384", "256x1152x4304"})
    public String shape;

    @Param({"BF16", "F32"})
    public String dtype;

    int n;
    int k;
    int m;
    float[] x;
    float[] out;
    Tensor w;
    Arena arena;

    @Setup
    public void setUp() {
        String[] d = shape.split("x");
        n = Integer.parseInt(d[0]);
        k = Integer.parseInt(d[1]);
        m = Integer.parseInt(d[2]);
        arena = Arena.ofShared();
        w = Weights.random(arena, DType.valueOf(dtype), m, k, 1);
        x = Weights.activations(n * k, 2);
        out = new float[n * m];
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    /** GFLOPs done; JMH divides by time, so the row reads GFLOP/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public double gflop;

        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
        }
    }

    @Benchmark
    public float[] matmul(Flops flops) {
        Matmul.matmul(x, n, k, w, out);
        flops.gflop += 2.0 * n * k * m / 1e9;
        return out;
    }
}
