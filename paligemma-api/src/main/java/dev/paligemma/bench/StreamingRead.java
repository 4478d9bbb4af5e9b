package dev.paligemma.bench;

import dev.paligemma.core.ops.Parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A streaming vector sum over memory segments with every pool thread: the read rate of that memory. The
 * bench runs it twice: over a fresh off-heap buffer far larger than the caches ({@link MachineLimits}'
 * bandwidth), and over the decoder's own mapped weight pages after the decode, the ceiling of a decode step on
 * the memory it actually reads. On the KVM guest this was measured on, memory read ~30-35 GB/s most of the time
 * and ~50-60 in windows of a few seconds that lift every reader at once (a host state), so a fraction moves with
 * whether the decode and the probe ran in the same state.
 *
 * <p>Each pass runs one of two loop shapes, alternately, and the best pass of either is the result: four
 * independent accumulators (four vector loads per iteration), and a single accumulator (one load per
 * iteration). The memory's limit is the fastest rate any reader reaches, and which shape reaches it depends on
 * the machine: on the Zen 4 guest above, the same 1 GB read at 24-30 GB/s with four accumulators and at 28-35
 * with one, alternating in one JVM, while the BF16 decode itself read 38-44 GB/s in runs whose four-accumulator
 * probe said 28-33 (decode fractions of 130 % and more were the symptom).
 *
 * <p>Loads are 64-bit integer lanes: the JDK's segment-load code keeps one type profile per vector class, and
 * no model kernel loads through {@code LongVector}, so neither a native buffer nor the weights read here make
 * the kernels' own loads bimorphic.
 */
final class StreamingRead {
    private static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;

    private StreamingRead() {
    }

    /**
     * Best of {@code runs} passes of each loop shape over {@code segments}, each segment split into one
     * contiguous part per thread (part {@code i} of a segment of {@code size} bytes is
     * {@code [size * i / t, size * (i + 1) / t)}), in GB/s. A first, untimed pass of each shape compiles its
     * loop.
     */
    static double gbPerS(List<MemorySegment> segments, int runs) {
        int t = Parallel.threads();
        long total = 0;
        for (MemorySegment s : segments) {
            total += s.byteSize();
        }
        long[] sink = new long[t];
        double best = 0;
        for (int r = 0; r < runs + 1; r++) {
            for (int shape = 0; shape < 2; shape++) {
                boolean fourAccumulators = shape == 0;
                long t0 = System.nanoTime();
                for (MemorySegment s : segments) {
                    long size = s.byteSize();
                    Parallel.forEach(t, i -> sink[i] += fourAccumulators
                            ? sumFour(s, size * i / t, size * (i + 1) / t)
                            : sumOne(s, size * i / t, size * (i + 1) / t));
                }
                double sec = (System.nanoTime() - t0) / 1e9;
                if (r > 0) {
                    best = Math.max(best, total / sec / 1e9);
                }
            }
        }
        if (sink[0] == 42) {
            System.getLogger(StreamingRead.class.getName()).log(System.Logger.Level.TRACE, "keeps the sums alive");
        }
        return best;
    }

    /**
     * Bytes {@code [from, to)} read with four accumulators: the lane-wise 64-bit sum of the whole vectors,
     * XOR-reduced over lanes, plus the remaining bytes (the same value as {@link #sumOne}).
     */
    static long sumFour(MemorySegment s, long from, long to) {
        LongVector s0 = LongVector.zero(LS);
        LongVector s1 = s0;
        LongVector s2 = s0;
        LongVector s3 = s0;
        int w = LS.vectorByteSize();
        long o = from;
        for (; o + 4L * w <= to; o += 4L * w) {
            s0 = s0.add(LongVector.fromMemorySegment(LS, s, o, ByteOrder.LITTLE_ENDIAN));
            s1 = s1.add(LongVector.fromMemorySegment(LS, s, o + w, ByteOrder.LITTLE_ENDIAN));
            s2 = s2.add(LongVector.fromMemorySegment(LS, s, o + 2L * w, ByteOrder.LITTLE_ENDIAN));
            s3 = s3.add(LongVector.fromMemorySegment(LS, s, o + 3L * w, ByteOrder.LITTLE_ENDIAN));
        }
        for (; o + w <= to; o += w) {
            s0 = s0.add(LongVector.fromMemorySegment(LS, s, o, ByteOrder.LITTLE_ENDIAN));
        }
        return s0.add(s1).add(s2).add(s3).reduceLanes(VectorOperators.XOR) + tail(s, o, to);
    }

    /** Bytes {@code [from, to)} read with one accumulator, one vector load per iteration; see {@link #sumFour}. */
    static long sumOne(MemorySegment s, long from, long to) {
        LongVector s0 = LongVector.zero(LS);
        int w = LS.vectorByteSize();
        long o = from;
        for (; o + w <= to; o += w) {
            s0 = s0.add(LongVector.fromMemorySegment(LS, s, o, ByteOrder.LITTLE_ENDIAN));
        }
        return s0.reduceLanes(VectorOperators.XOR) + tail(s, o, to);
    }

    /** Bytes past the last whole vector, summed as signed values. */
    private static long tail(MemorySegment s, long from, long to) {
        long sum = 0;
        for (long o = from; o < to; o++) {
            sum += s.get(ValueLayout.JAVA_BYTE, o);
        }
        return sum;
    }
}
