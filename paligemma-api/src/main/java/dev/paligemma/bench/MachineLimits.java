package dev.paligemma.bench;

import dev.paligemma.core.ops.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The machine's ceilings measured with the Vector API on every thread of {@link Parallel}: memory read
 * bandwidth ({@link StreamingRead} over an off-heap buffer far larger than the caches, in 2 MB pages where Linux
 * gives them) and FMA peak (independent FMA chains held in registers). Each is the best of several runs, the
 * least disturbed by other processes.
 *
 * @param bandwidthGbPerS memory read bandwidth, 10^9 bytes per second
 * @param fmaPeakGflops   vector FMA throughput, 10^9 floating-point operations per second (an FMA is 2)
 * @param vectorBits      width of {@link FloatVector#SPECIES_PREFERRED}
 * @param threads         threads used
 */
public record MachineLimits(double bandwidthGbPerS, double fmaPeakGflops, int vectorBits, int threads) {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Independent accumulators, enough to cover FMA latency (4 cycles) times two FMA ports. */
    private static final int CHAINS = 12;

    /**
     * Measures both limits.
     *
     * @param streamBytes size of the bandwidth buffer (about 1 GB; must dwarf the last-level cache)
     * @param runs        repetitions of each measurement; the best is kept
     */
    public static MachineLimits measure(long streamBytes, int runs) {
        return new MachineLimits(bandwidth(streamBytes, runs), fmaPeak(runs), F.vectorBitSize(), Parallel.threads());
    }

    /**
     * The best of several measurements of the same machine: the highest bandwidth and the highest FMA peak.
     * On a shared or virtual machine a probe can land on a moment when another tenant holds a core or the
     * memory bus (an FMA "peak" of one core's worth was seen once in 30 runs), so a figure read against a single
     * measurement can exceed 100 %.
     */
    public static MachineLimits best(List<MachineLimits> runs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("no limit measurements");
        }
        double bw = 0;
        double fma = 0;
        for (MachineLimits m : runs) {
            bw = Math.max(bw, m.bandwidthGbPerS());
            fma = Math.max(fma, m.fmaPeakGflops());
        }
        return new MachineLimits(bw, fma, runs.get(0).vectorBits(), runs.get(0).threads());
    }

    /**
     * {@link #measure} in a child JVM (this JVM's java executable and class path, a small heap, the same
     * thread count), falling back to this process if the child cannot run. The probes start in the
     * interpreter, where every vector operation allocates: in-process they left several GB of garbage that
     * made G1 grow this JVM's heap by 1.5-2 GB (counted in the model's peak RSS), and their loads would share
     * type profiles with the model's kernels.
     */
    public static MachineLimits measureInFreshJvm(long streamBytes, int runs, Consumer<String> log) {
        Optional<String> javaCommand = ProcessHandle.current().info().command();
        if (javaCommand.isPresent()) {
            try {
                Process p = new ProcessBuilder(javaCommand.get(), "--add-modules", "jdk.incubator.vector",
                        "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                        "-Dpaligemma.threads=" + Parallel.threads(), "-cp", System.getProperty("java.class.path"),
                        MachineLimits.class.getName(), Long.toString(streamBytes), Integer.toString(runs))
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                if (p.waitFor() == 0) {
                    String[] f = out.split(" ");
                    return new MachineLimits(Double.parseDouble(f[0]), Double.parseDouble(f[1]),
                            Integer.parseInt(f[2]), Integer.parseInt(f[3]));
                }
                log.accept("limits probe exited with " + p.exitValue() + "; measuring in this process");
            } catch (IOException | RuntimeException e) {
                log.accept("limits probe failed (" + e + "); measuring in this process");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while measuring machine limits", e);
            }
        }
        return measure(streamBytes, runs);
    }

    /** Child-process entry of {@link #measureInFreshJvm}: prints bandwidth, FMA peak, vector bits and threads. */
    public static void main(String[] args) {
        int runs = Integer.parseInt(args[1]);
        // one FMA run takes ~15 ms, so a few runs can all land on a moment when the parent JVM's compiler
        // threads hold a core (a 162 GFLOP/s "peak" was seen once); 30 runs cost half a second
        MachineLimits m = new MachineLimits(bandwidth(Long.parseLong(args[0]), runs), fmaPeak(Math.max(runs, 30)),
                F.vectorBitSize(), Parallel.threads());
        System.out.println(m.bandwidthGbPerS() + " " + m.fmaPeakGflops() + " " + m.vectorBits() + " " + m.threads());
    }

    static double bandwidth(long bytes, int runs) {
        int t = Parallel.threads();
        long step = 4L * F.vectorByteSize();
        long per = bytes / t / step * step;
        try (Arena arena = Arena.ofShared()) {
            // in 2 MB pages where the kernel gives them, as the mapped weights are (SafetensorsFile advises them):
            // on the KVM guest of docs/performance.md a buffer in 4 KB pages streamed about 20 % slower, so the limit
            // would have been set by the page walks, not by the memory
            MemorySegment buf = dev.paligemma.core.HugePages.allocate(per * t, arena);
            // touch every page in the same parts StreamingRead reads ([i * per, (i + 1) * per) for part i), in
            // parallel, so the sum reads resident memory
            Parallel.forEach(t, i -> {
                for (long o = i * per; o < (i + 1) * per; o += 4096) {
                    buf.set(ValueLayout.JAVA_FLOAT_UNALIGNED, o, 1f);
                }
            });
            return StreamingRead.gbPerS(List.of(buf), runs);
        }
    }

    static double fmaPeak(int runs) {
        int t = Parallel.threads();
        int iterations = 1 << 22;
        float[] sink = new float[t];
        double best = 0;
        for (int r = 0; r < runs + 1; r++) {
            long t0 = System.nanoTime();
            Parallel.forEach(t, i -> sink[i] += fmaChains(iterations));
            double s = (System.nanoTime() - t0) / 1e9;
            if (r > 0) {
                best = Math.max(best, 2.0 * CHAINS * F.length() * iterations * t / s / 1e9);
            }
        }
        if (Float.isNaN(sink[0])) {
            throw new AssertionError("unreachable: keeps the chains alive");
        }
        return best;
    }

    /**
     * One thread's part of the bandwidth probe: bytes {@code [from, to)} of {@code s} read with the probe's
     * four-accumulator or one-accumulator loop ({@link StreamingRead}), returning their checksum. Public for
     * the JMH {@code PeakBenchmark}, so it times the bench's own loops.
     */
    public static long streamPart(MemorySegment s, long from, long to, boolean fourAccumulators) {
        return fourAccumulators ? StreamingRead.sumFour(s, from, to) : StreamingRead.sumOne(s, from, to);
    }

    /** Twelve independent FMA chains in registers for {@code iterations} rounds (24 flops per lane each); the sum keeps them live. */
    public static float fmaChains(int iterations) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f);
        FloatVector d = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(F, 1f);
        FloatVector a1 = a0.add(1);
        FloatVector a2 = a0.add(2);
        FloatVector a3 = a0.add(3);
        FloatVector a4 = a0.add(4);
        FloatVector a5 = a0.add(5);
        FloatVector a6 = a0.add(6);
        FloatVector a7 = a0.add(7);
        FloatVector a8 = a0.add(8);
        FloatVector a9 = a0.add(9);
        FloatVector a10 = a0.add(10);
        FloatVector a11 = a0.add(11);
        for (int i = 0; i < iterations; i++) {
            a0 = a0.fma(m, d);
            a1 = a1.fma(m, d);
            a2 = a2.fma(m, d);
            a3 = a3.fma(m, d);
            a4 = a4.fma(m, d);
            a5 = a5.fma(m, d);
            a6 = a6.fma(m, d);
            a7 = a7.fma(m, d);
            a8 = a8.fma(m, d);
            a9 = a9.fma(m, d);
            a10 = a10.fma(m, d);
            a11 = a11.fma(m, d);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
