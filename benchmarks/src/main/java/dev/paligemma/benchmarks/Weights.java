package dev.paligemma.benchmarks;

import dev.paligemma.core.DType;
import dev.paligemma.core.Q8;
import dev.paligemma.core.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/** Synthetic weights in native memory (like a mapped checkpoint) for the kernel benchmarks. */
final class Weights {
    private Weights() {
    }

    /** Random {@code m x k} weights of type {@code dt}; Q8 is the block quantisation of the BF16 ones, as {@code --dtype q8} makes it at load. */
    static Tensor random(Arena arena, DType dt, int m, int k, long seed) {
        if (dt == DType.Q8) {
            return Q8.quantize(random(arena, DType.BF16, m, k, seed), arena);
        }
        long count = (long) m * k;
        MemorySegment seg = arena.allocate(count * dt.byteSize(), 64);
        SplittableRandom r = new SplittableRandom(seed);
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < count; i++) {
            float v = (float) (r.nextDouble() - 0.5) * 0.1f;
            switch (dt) {
                case F32 -> seg.setAtIndex(f32, i, v);
                case BF16 -> seg.setAtIndex(i16, i, (short) (Float.floatToRawIntBits(v) >>> 16));
                case F16 -> seg.setAtIndex(i16, i, Float.floatToFloat16(v));
                default -> throw new IllegalArgumentException(dt.toString());
            }
        }
        return new Tensor("bench", dt, new long[] {m, k}, seg, "<bench>");
    }

    /** Bytes a product reads of {@code w}: its values, plus the scales of a Q8 matrix. */
    static long bytes(Tensor w) {
        return w.segment().byteSize() + (w.dtype() == DType.Q8 ? w.scales().byteSize() : 0);
    }

    static float[] activations(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextDouble() - 0.5);
        }
        return x;
    }
}
