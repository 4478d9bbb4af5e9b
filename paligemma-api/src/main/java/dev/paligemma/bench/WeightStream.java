package dev.paligemma.bench;

import dev.paligemma.core.ops.Parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A streaming sum over the decoder's own weight pages with all pool threads: the ceiling of a decode step on
 * the memory it actually reads. The bandwidth probe reads a fresh buffer, and on the KVM guest this was
 * measured on, fresh buffers read either ~30 or ~55 GB/s depending on where their pages landed, so the decode
 * fraction against the probe moves with the probe's luck; against this figure it measures the code.
 */
final class WeightStream {
    /**
     * Short lanes, as the BF16 kernels load the same mapped pages: the JDK keeps one segment-type profile per
     * vector class, and {@code IntVector} loads the native KV cache (see CachedAttention).
     */
    private static final VectorSpecies<Short> SS = ShortVector.SPECIES_PREFERRED;

    private WeightStream() {
    }

    /** Best of {@code runs} passes over {@code segments} (each split into one contiguous part per thread), in GB/s. */
    static double gbPerS(List<MemorySegment> segments, int runs) {
        int t = Parallel.threads();
        long total = 0;
        for (MemorySegment s : segments) {
            total += s.byteSize();
        }
        long[] sink = new long[t];
        double best = 0;
        for (int r = 0; r < runs + 1; r++) {
            long t0 = System.nanoTime();
            for (MemorySegment s : segments) {
                long size = s.byteSize();
                Parallel.forEach(t, i -> sink[i] += sum(s, size * i / t, size * (i + 1) / t));
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            if (r > 0) { // the first pass compiles the loop
                best = Math.max(best, total / sec / 1e9);
            }
        }
        if (sink[0] == 42) {
            System.getLogger(WeightStream.class.getName()).log(System.Logger.Level.TRACE, "keeps the sums alive");
        }
        return best;
    }

    /** Bytes {@code [from, to)} summed as 16-bit lanes, wrapping (a scalar loop over the bytes past the last whole vector). */
    private static long sum(MemorySegment s, long from, long to) {
        ShortVector a0 = ShortVector.zero(SS);
        ShortVector a1 = a0;
        int w = SS.vectorByteSize();
        long o = from;
        for (; o + 2L * w <= to; o += 2L * w) {
            a0 = a0.add(ShortVector.fromMemorySegment(SS, s, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(ShortVector.fromMemorySegment(SS, s, o + w, ByteOrder.LITTLE_ENDIAN));
        }
        long sum = a0.add(a1).reduceLanes(VectorOperators.XOR);
        for (; o < to; o++) {
            sum += s.get(ValueLayout.JAVA_BYTE, o);
        }
        return sum;
    }
}
