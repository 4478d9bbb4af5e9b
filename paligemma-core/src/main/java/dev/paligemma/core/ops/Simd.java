package dev.paligemma.core.ops;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector species and weight decoders shared by the kernels, plus the switch that forces the scalar
 * paths ({@code -Dpaligemma.scalar=true}, or {@link #scalar} from tests).
 */
final class Simd {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** Shorts filling half a float vector, so one load widens to exactly one float vector. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * Forces every kernel onto its scalar loop. Package-private and mutable so tests can run both paths in
     * one JVM; read once per kernel call, never inside inner loops.
     */
    static volatile boolean scalar = Boolean.getBoolean("paligemma.scalar") || L < 4;

    private Simd() {
    }

    static boolean vector() {
        return !scalar;
    }

    /** {@link #L} float32 values at byte {@code off}. */
    static FloatVector f32(MemorySegment seg, long off) {
        return FloatVector.fromMemorySegment(F, seg, off, LE);
    }

    /** {@link #L} bfloat16 values at byte {@code off}, widened to float32 (bf16 is the top half of a float32). */
    static FloatVector bf16(MemorySegment seg, long off) {
        IntVector w = (IntVector) ShortVector.fromMemorySegment(S, seg, off, LE).convertShape(VectorOperators.S2I, I, 0);
        return w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * {@link #L} IEEE half values at byte {@code off}, converted exactly to float32. JDK 25's incubator has
     * no half-precision conversion, so this rebuilds the bits: the exponent/mantissa field shifted into a
     * float32 and scaled by 2^112 re-biases normals and subnormals alike; infinities and NaNs (exponent 31)
     * get the float32 all-ones exponent with the mantissa (payload) kept, NaNs made quiet.
     */
    static FloatVector f16(MemorySegment seg, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, off, LE).convertShape(VectorOperators.S2I, I, 0);
        IntVector em = h.and(0x7FFF);
        IntVector shifted = em.lanewise(VectorOperators.LSHL, 13);
        IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        // lane masks as all-ones/zero ints (cheaper than VectorMask blends here): em >= 0x7C00 sets bit 15 of
        // em + 0x400 (infinity or NaN), em > 0x7C00 sets it in em + 0x3FF (NaN, made quiet as
        // Float.float16ToFloat does)
        IntVector special = em.add(0x400).lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 31);
        IntVector nan = em.add(0x3FF).lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 31);
        IntVector nonFinite = shifted.or(0x7F800000).or(nan.and(0x00400000));
        IntVector bits = finite.and(special.not()).or(nonFinite.and(special));
        return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    /** Decodes {@code len} halves at byte {@code off} into {@code dst[dstOff..]}; kept out of the tiles so they stay small enough to inline. */
    static void decodeF16(MemorySegment seg, long off, float[] dst, int dstOff, int len) {
        int i = 0;
        for (; i + L <= len; i += L) {
            f16(seg, off + 2L * i).intoArray(dst, dstOff + i);
        }
        for (; i < len; i++) {
            dst[dstOff + i] = Float.float16ToFloat(seg.get(I16, off + 2L * i));
        }
    }

    private static final java.lang.foreign.ValueLayout.OfShort I16 =
            java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
}
