package dev.paligemma.core;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Block quantisation of weight matrices to 8 bits ({@link DType#Q8}): each row of {@code k} elements is
 * cut into blocks of {@value #BLOCK} (the last block of a row is shorter when {@code k} is not a multiple,
 * e.g. SigLIP's MLP width 4304 = 134 x 32 + 16), and each block stores a float16 scale
 * {@code s = max|w| / 127} (rounded to nearest even, then raised by one half-ulp step if that rounding made
 * {@code 127 s < max|w|}) and one signed byte per element, {@code q = rint(w / s)} (round half to even), so
 * {@code |w - q s| <= s / 2}. The product {@code q s} of a 8-bit integer and an 11-bit half mantissa is
 * exact in float32, so a Q8 tensor behaves exactly like the float32 tensor of its dequantised values.
 * Storage: 1 byte per weight plus 2 bytes per block, 1.0625 bytes per weight for full blocks.
 */
public final class Q8 {
    /** Elements per scale along a row. */
    public static final int BLOCK = 32;

    private static final ValueLayout.OfShort I16 = Tensor.I16;

    private Q8() {
    }

    /** Number of scale blocks in a row of {@code k} elements. */
    public static long blocks(long k) {
        return (k + BLOCK - 1) / BLOCK;
    }

    /** Whether the kernels may use a quantised copy of this tensor: a rank-2 float matrix. */
    public static boolean quantizable(Tensor t) {
        return t.rank() == 2 && t.dtype() != DType.Q8 && t.dtype().isFloatWeight() && t.dim(1) > 0;
    }

    /**
     * A Q8 tensor over existing bytes ({@code values}: {@code product(shape)} signed bytes; {@code scales}:
     * {@code dim0 x blocks(rowLength)} little-endian float16).
     *
     * @throws CheckpointException if a segment has the wrong size
     */
    public static Tensor of(String name, long[] shape, MemorySegment values, MemorySegment scales, String source) {
        if (shape.length < 1) {
            throw new InvalidArgumentException(source + ": Q8 tensor '" + name + "' must have rank >= 1");
        }
        long count = Tensor.elementCount(shape);
        long rows = shape[0];
        long k = rows == 0 ? 0 : count / rows;
        long expected = Math.multiplyExact(Math.multiplyExact(rows, blocks(k)), 2);
        if (scales.byteSize() != expected) {
            throw new CheckpointException(source + ": Q8 tensor '" + name + "' " + Arrays.toString(shape) + " has "
                    + scales.byteSize() + " bytes of scales, expected " + expected);
        }
        return new Tensor(name, DType.Q8, shape, values, scales, source);
    }

    /** Quantises a float matrix into native memory of {@code arena}. */
    public static Tensor quantize(Tensor t, Arena arena) {
        if (!quantizable(t)) {
            throw new InvalidArgumentException(t.source() + ": tensor '" + t.name() + "' " + t.dtype()
                    + Arrays.toString(t.shape()) + " is not a float matrix; only those are quantised");
        }
        long m = t.dim(0);
        int k = Math.toIntExact(t.dim(1));
        int nb = (int) blocks(k);
        MemorySegment values = arena.allocate(m * k, 64);
        MemorySegment scales = arena.allocate(m * nb * 2L, 64);
        float[] row = new float[k];
        byte[] q = new byte[k];
        short[] s = new short[nb];
        for (long r = 0; r < m; r++) {
            t.toFloats(r * k, row, 0, k);
            quantizeRow(t, row, q, s);
            MemorySegment.copy(q, 0, values, ValueLayout.JAVA_BYTE, r * k, k);
            MemorySegment.copy(s, 0, scales, I16, r * nb * 2L, nb);
        }
        return of(t.name(), t.shape(), values, scales, t.source() + " (Q8)");
    }

    /**
     * Quantises one row: {@code q[0..row.length)} and {@code scales[0..blocks(row.length))} (float16 bits).
     *
     * @throws CheckpointException naming {@code t} if the row holds a NaN or infinity, or a block is too
     *                             large for a float16 scale
     */
    static void quantizeRow(Tensor t, float[] row, byte[] q, short[] scales) {
        int k = row.length;
        for (int b = 0, p0 = 0; p0 < k; b++, p0 += BLOCK) {
            int p1 = Math.min(k, p0 + BLOCK);
            float amax = 0;
            for (int p = p0; p < p1; p++) {
                float a = Math.abs(row[p]);
                if (!(a <= Float.MAX_VALUE)) {
                    throw new CheckpointException(t.source() + ": tensor '" + t.name() + "' holds " + row[p]
                            + "; it cannot be quantised to Q8");
                }
                amax = Math.max(amax, a);
            }
            short h = scaleBits(amax);
            if (Float.isInfinite(Float.float16ToFloat(h))) {
                throw new CheckpointException(t.source() + ": tensor '" + t.name() + "' has a block with max |w| = " + amax
                        + ", beyond a float16 Q8 scale");
            }
            scales[b] = h;
            float s = Float.float16ToFloat(h);
            for (int p = p0; p < p1; p++) {
                q[p] = s == 0 ? 0 : (byte) Math.rint(row[p] / s);
            }
        }
    }

    /** The float16 scale of a block whose largest magnitude is {@code amax}, with {@code 127 s >= amax}. */
    static short scaleBits(float amax) {
        if (amax == 0) {
            return 0;
        }
        short h = Float.floatToFloat16(amax / 127f);
        // raise by one step if rounding (or a subnormal result) left 127 s below amax, so no value clips
        while (Float.float16ToFloat(h) * 127f < amax && !Float.isInfinite(Float.float16ToFloat(h))) {
            h++;
        }
        return h;
    }
}
