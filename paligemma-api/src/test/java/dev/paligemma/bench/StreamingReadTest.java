package dev.paligemma.bench;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;

import jdk.incubator.vector.LongVector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StreamingReadTest {
    private static final int LANES = LongVector.SPECIES_PREFERRED.length();

    /** The checksum both loop shapes define, computed one long at a time. */
    private static long reference(MemorySegment s, long from, long to) {
        int w = 8 * LANES;
        long[] lane = new long[LANES];
        long o = from;
        for (; o + w <= to; o += w) {
            for (int i = 0; i < LANES; i++) {
                lane[i] += s.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), o + 8L * i);
            }
        }
        long x = 0;
        for (long v : lane) {
            x ^= v;
        }
        for (; o < to; o++) {
            x += s.get(ValueLayout.JAVA_BYTE, o);
        }
        return x;
    }

    @Test
    void bothLoopShapesReadEveryByteOfTheRange() {
        Random r = new Random(3);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(20_000, 64);
            for (long i = 0; i < s.byteSize(); i++) {
                s.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
            }
            int w = 8 * LANES;
            // empty, bytes only, one vector, a vector plus tail, just under / at / past four vectors, unaligned
            // starts, and long ranges with every kind of remainder
            long[][] ranges = {{0, 0}, {5, 9}, {0, w}, {3, 3 + w + 7}, {0, 4L * w - 1}, {0, 4L * w}, {1, 1 + 4L * w + 1},
                    {64, 64 + 7L * w + 13}, {17, 19_999}, {0, 20_000}};
            for (long[] range : ranges) {
                long expected = reference(s, range[0], range[1]);
                String at = "[" + range[0] + ", " + range[1] + ")";
                assertEquals(expected, StreamingRead.sumFour(s, range[0], range[1]), "four accumulators " + at);
                assertEquals(expected, StreamingRead.sumOne(s, range[0], range[1]), "one accumulator " + at);
            }
            // a flipped byte anywhere in the range changes the checksum: no byte is skipped
            long before = StreamingRead.sumFour(s, 17, 19_999);
            for (long at : new long[] {17, 4L * w + 17, 19_998}) {
                byte b = s.get(ValueLayout.JAVA_BYTE, at);
                s.set(ValueLayout.JAVA_BYTE, at, (byte) (b ^ 1));
                assertTrue(StreamingRead.sumFour(s, 17, 19_999) != before, "byte " + at + " is read (four)");
                assertTrue(StreamingRead.sumOne(s, 17, 19_999) != before, "byte " + at + " is read (one)");
                s.set(ValueLayout.JAVA_BYTE, at, b);
            }
        }
    }

    @Test
    void rateIsPositiveAndFiniteOverSeveralSegments() {
        // shared: the pool's threads read the segments
        try (Arena arena = Arena.ofShared()) {
            double gbPerS = StreamingRead.gbPerS(List.of(arena.allocate(1 << 20, 64), arena.allocate(12_345, 8)), 2);
            assertTrue(gbPerS > 0 && Double.isFinite(gbPerS), "rate " + gbPerS);
        }
    }
}
