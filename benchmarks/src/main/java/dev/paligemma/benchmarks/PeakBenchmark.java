package dev.paligemma.benchmarks;

import dev.paligemma.bench.MachineLimits;
import dev.paligemma.core.ops.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's ceilings, so kernel figures can be read as fractions of them: {@code fma} runs 12
 * independent vector FMA chains per thread on every pool thread (GFLOP/s counter); {@code stream} sums a
 * 512 MB native buffer split over the pool (GB/s counter) with the bench probe's four-accumulator loop,
 * {@code streamOne} with its one-accumulator loop ({@link MachineLimits#streamPart}); the faster of the two is
 * the best a bandwidth-bound matvec can do (which one depends on the machine: on a Zen 4 guest, one accumulator
 * read 17-22 % faster).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class PeakBenchmark {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int FMA_ITERATIONS = 1 << 20;
    static final long STREAM_BYTES = 512L << 20;

    Arena arena;
    MemorySegment buffer;

    @Setup
    public void setUp() {
        arena = Arena.ofShared();
        buffer = arena.allocate(STREAM_BYTES, 64);
        for (long i = 0; i < STREAM_BYTES; i += 4096) {
            buffer.set(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, 1f);
        }
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    /** GFLOPs or GB done; JMH divides by time, so the rows read GFLOP/s and GB/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Work {
        public double gflop;
        public double gbytes;

        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
            gbytes = 0;
        }
    }

    @Benchmark
    public float fma(Work work) {
        int t = Parallel.threads();
        float[] sink = new float[t];
        Parallel.forEach(t, i -> sink[i] = MachineLimits.fmaChains(FMA_ITERATIONS));
        work.gflop += 2.0 * 12 * F.length() * FMA_ITERATIONS * t / 1e9;
        return sink[0];
    }

    @Benchmark
    public long stream(Work work) {
        return read(work, true);
    }

    @Benchmark
    public long streamOne(Work work) {
        return read(work, false);
    }

    /** The buffer read once by every pool thread, a contiguous part each, with one of the probe's loops. */
    private long read(Work work, boolean fourAccumulators) {
        int t = Parallel.threads();
        long[] sink = new long[t];
        long per = STREAM_BYTES / t / 64 * 64;
        Parallel.forEach(t, i -> sink[i] = MachineLimits.streamPart(buffer, i * per, (i + 1) * per, fourAccumulators));
        work.gbytes += per * t / 1e9;
        return sink[0];
    }
}
