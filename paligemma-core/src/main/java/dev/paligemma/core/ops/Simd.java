package dev.paligemma.core.ops;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
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
        VectorMask<Integer> special = em.compare(VectorOperators.GE, 0x7C00);
        IntVector inf = shifted.or(0x7F800000);
        // NaNs come out quiet, as Float.float16ToFloat makes them
        IntVector nonFinite = inf.blend(inf.or(0x00400000), em.compare(VectorOperators.GT, 0x7C00));
        IntVector bits = finite.blend(nonFinite, special);
        return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }
}
