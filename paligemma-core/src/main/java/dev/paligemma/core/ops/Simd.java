package dev.paligemma.core.ops;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector species and weight decoders shared by the kernels, plus the switch that forces the scalar
 * paths ({@code -Dpaligemma.scalar=true}, or {@link #scalar} from tests).
 *
 * <p>Determinism: the Vector API leaves the order of {@code reduceLanes(ADD)} unspecified (the Java
 * fallback used before C2 compiles a method sums lanes in sequence, C2 in a tree) and its transcendental
 * lanewise ops ({@code EXP}, {@code TANH}) differ by an ulp between the fallback ({@link Math} per lane) and
 * C2's stubs, so one call could round differently from the next. The kernels therefore use only exactly
 * rounded lanewise operations (add, mul, fma, div, min/max, permutations, bit ops): {@link #sum} reduces in
 * a fixed tree order and {@link #exp}/{@link #expScalar} are one polynomial evaluated identically in vector
 * lanes and in scalar tails.
 */
final class Simd {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** Shorts filling half a float vector, so one load widens to exactly one float vector. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /**
     * Shorts filling a whole float vector: the BF16 decode kernels load 2L weights at once with it and view them
     * as L int lanes. Not {@code IntVector}'s own load: the KV cache is read through that, from native memory,
     * and a vector class's segment loads share one type profile, so mapped weights there made C2 keep a
     * bounds and liveness check inside the loop for every weight load (seen in the disassembly).
     */
    static final VectorSpecies<Short> SF = VectorSpecies.of(short.class, F.vectorShape());
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Bytes filling a quarter of a float vector (one load widens to one float vector); null below 8 lanes. */
    static final VectorSpecies<Byte> B = L >= 8 && L <= 32
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4)) : null;
    /**
     * Whether the Q8 kernels can run vectorised: byte loads of L lanes exist and a Q8 block holds an even
     * number of vectors (the matvec rows alternate two accumulators by vector, as the F32 rows do).
     */
    static final boolean Q8_VECTOR = B != null && dev.paligemma.core.Q8.BLOCK % (2 * L) == 0;

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

    /**
     * {@link #L} bfloat16 values at byte {@code off}, widened to float32 (bf16 is the top half of a float32): the
     * reference form of the widening that {@link Matmul}'s kernels write out in place (see there why), checked
     * for all 65536 bit patterns by {@code MatmulTest}.
     */
    static FloatVector bf16(MemorySegment seg, long off) {
        return ((IntVector) ShortVector.fromMemorySegment(S, seg, off, LE).castShape(I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
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

    /**
     * Two-vector lane selections for {@link #sums16}: folding at half-width h takes lanes
     * {@code (i / h) * 2h + i % h} of the pair ({@code LO_h}) and the lanes h further on ({@code HI_h}).
     */
    private static final IntVector LO8 = foldLanes(8, 0), HI8 = foldLanes(8, 8), LO4 = foldLanes(4, 0), HI4 = foldLanes(4, 4),
            LO2 = foldLanes(2, 0), HI2 = foldLanes(2, 2), LO1 = foldLanes(1, 0), HI1 = foldLanes(1, 1);

    private static IntVector foldLanes(int h, int shift) {
        if (L != 16) {
            return null;
        }
        int[] lanes = new int[16];
        for (int i = 0; i < 16; i++) {
            lanes[i] = i / h * 2 * h + i % h + shift;
        }
        return IntVector.fromArray(I, lanes, 0);
    }

    /**
     * The sums ({@link #sum(float[], int)}) of the sixteen vectors stored at {@code t[0], t[L], ..., t[15 L]},
     * into {@code t[16 L .. 16 L + 16)}: the matmul tiles' epilogue. With 16 lanes the vectors are folded
     * pairwise by two-vector lane selections, so every lane runs {@link #sum}'s tree (same bits) in 45 vector
     * operations instead of 240 scalar adds and 256 loads, which took ~10 % of a prefill. Written out in
     * full: a vector passed to a helper that C2 does not inline is boxed.
     */
    static void sums16(float[] t) {
        if (L != 16) {
            for (int c = 0; c < 16; c++) {
                t[16 * L + c] = sum(t, c * L);
            }
            return;
        }
        IntVector x = LO8, y = HI8;
        IntVector a0 = FloatVector.fromArray(F, t, 0 * L).reinterpretAsInts(), a1 = FloatVector.fromArray(F, t, 1 * L).reinterpretAsInts();
        IntVector c0 = x.selectFrom(a0, a1).reinterpretAsFloats().add(y.selectFrom(a0, a1).reinterpretAsFloats()).reinterpretAsInts();
        IntVector a2 = FloatVector.fromArray(F, t, 2 * L).reinterpretAsInts(), a3 = FloatVector.fromArray(F, t, 3 * L).reinterpretAsInts();
        IntVector c1 = x.selectFrom(a2, a3).reinterpretAsFloats().add(y.selectFrom(a2, a3).reinterpretAsFloats()).reinterpretAsInts();
        IntVector a4 = FloatVector.fromArray(F, t, 4 * L).reinterpretAsInts(), a5 = FloatVector.fromArray(F, t, 5 * L).reinterpretAsInts();
        IntVector c2 = x.selectFrom(a4, a5).reinterpretAsFloats().add(y.selectFrom(a4, a5).reinterpretAsFloats()).reinterpretAsInts();
        IntVector a6 = FloatVector.fromArray(F, t, 6 * L).reinterpretAsInts(), a7 = FloatVector.fromArray(F, t, 7 * L).reinterpretAsInts();
        IntVector c3 = x.selectFrom(a6, a7).reinterpretAsFloats().add(y.selectFrom(a6, a7).reinterpretAsFloats()).reinterpretAsInts();
        IntVector a8 = FloatVector.fromArray(F, t, 8 * L).reinterpretAsInts(), a9 = FloatVector.fromArray(F, t, 9 * L).reinterpretAsInts();
        IntVector c4 = x.selectFrom(a8, a9).reinterpretAsFloats().add(y.selectFrom(a8, a9).reinterpretAsFloats()).reinterpretAsInts();
        IntVector a10 = FloatVector.fromArray(F, t, 10 * L).reinterpretAsInts(), a11 = FloatVector.fromArray(F, t, 11 * L).reinterpretAsInts();
        IntVector c5 = x.selectFrom(a10, a11).reinterpretAsFloats().add(y.selectFrom(a10, a11).reinterpretAsFloats()).reinterpretAsInts();
        IntVector a12 = FloatVector.fromArray(F, t, 12 * L).reinterpretAsInts(), a13 = FloatVector.fromArray(F, t, 13 * L).reinterpretAsInts();
        IntVector c6 = x.selectFrom(a12, a13).reinterpretAsFloats().add(y.selectFrom(a12, a13).reinterpretAsFloats()).reinterpretAsInts();
        IntVector a14 = FloatVector.fromArray(F, t, 14 * L).reinterpretAsInts(), a15 = FloatVector.fromArray(F, t, 15 * L).reinterpretAsInts();
        IntVector c7 = x.selectFrom(a14, a15).reinterpretAsFloats().add(y.selectFrom(a14, a15).reinterpretAsFloats()).reinterpretAsInts();
        x = LO4;
        y = HI4;
        IntVector d0 = x.selectFrom(c0, c1).reinterpretAsFloats().add(y.selectFrom(c0, c1).reinterpretAsFloats()).reinterpretAsInts();
        IntVector d1 = x.selectFrom(c2, c3).reinterpretAsFloats().add(y.selectFrom(c2, c3).reinterpretAsFloats()).reinterpretAsInts();
        IntVector d2 = x.selectFrom(c4, c5).reinterpretAsFloats().add(y.selectFrom(c4, c5).reinterpretAsFloats()).reinterpretAsInts();
        IntVector d3 = x.selectFrom(c6, c7).reinterpretAsFloats().add(y.selectFrom(c6, c7).reinterpretAsFloats()).reinterpretAsInts();
        x = LO2;
        y = HI2;
        IntVector e0 = x.selectFrom(d0, d1).reinterpretAsFloats().add(y.selectFrom(d0, d1).reinterpretAsFloats()).reinterpretAsInts();
        IntVector e1 = x.selectFrom(d2, d3).reinterpretAsFloats().add(y.selectFrom(d2, d3).reinterpretAsFloats()).reinterpretAsInts();
        LO1.selectFrom(e0, e1).reinterpretAsFloats().add(HI1.selectFrom(e0, e1).reinterpretAsFloats()).intoArray(t, 16 * L);
    }

    /**
     * Sum of the lanes in a fixed pairwise order (lane i with lane i ^ L/2, then i ^ L/4, ...), the same in
     * interpreted, C1 and C2 code, unlike {@code reduceLanes(ADD)}.
     */
    static float sum(FloatVector v) {
        // through a per-thread array and the scalar twin: this method must stay tiny (under C2's 35-byte
        // MaxInlineSize) so it inlines even at call sites C2 deems cold; a vector passed to a method that is
        // not inlined is boxed, and the shuffle version (83 bytes) made every decode step allocate
        float[] t = SUM_LANES.get();
        v.intoArray(t, 0);
        return sum(t, 0);
    }

    private static final ThreadLocal<float[]> SUM_LANES = ThreadLocal.withInitial(() -> new float[L]);

    /**
     * This thread's L-float lane buffer, for kernels that sum a vector per row: fetched once per call, then
     * {@code v.intoArray(t, 0); sum(t, 0)} per row, the bits of {@link #sum(FloatVector)} without its
     * thread-local lookup per row (a call C2 leaves out of line, 20-50 cycles: as much as a short row's
     * products). Nothing that uses the buffer may run between the store and the sum.
     */
    static float[] sumLanes() {
        return SUM_LANES.get();
    }

    /**
     * {@link #sum} of a vector stored at {@code t[o..o+L)}, same order and so the same bits (unrolled for 8
     * and 16 lanes; other widths overwrite the stored lanes). For kernels where in-line vector reductions would make a method too big for C2.
     */
    static float sum(float[] t, int o) {
        if (L == 16) {
            float u0 = t[o] + t[o + 8], u1 = t[o + 1] + t[o + 9], u2 = t[o + 2] + t[o + 10], u3 = t[o + 3] + t[o + 11];
            float u4 = t[o + 4] + t[o + 12], u5 = t[o + 5] + t[o + 13], u6 = t[o + 6] + t[o + 14], u7 = t[o + 7] + t[o + 15];
            float v0 = u0 + u4, v1 = u1 + u5, v2 = u2 + u6, v3 = u3 + u7;
            return (v0 + v2) + (v1 + v3);
        }
        if (L == 8) {
            float v0 = t[o] + t[o + 4], v1 = t[o + 1] + t[o + 5], v2 = t[o + 2] + t[o + 6], v3 = t[o + 3] + t[o + 7];
            return (v0 + v2) + (v1 + v3);
        }
        for (int d = L / 2; d >= 1; d /= 2) {
            for (int i = 0; i < d; i++) {
                t[o + i] += t[o + i + d];
            }
        }
        return t[o];
    }

    private static final float LOG2E = 1.44269504088896341f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer held in the low mantissa bits. */
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = 0x4B400000;
    /** ln 2 split so that {@code n * LN2_HI} is exact for the n that occur. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    // minimax polynomial for (e^r - 1 - r) / r^2 on |r| <= ln2 / 2 (Cephes expf coefficients)
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;
    /** Below this e^x rounds to 0 in float32, above {@code EXP_HI} to infinity. */
    private static final float EXP_LO = -104f;
    private static final float EXP_HI = 89f;

    /**
     * e^x per lane within 2 ulp, from exactly rounded lanewise ops only, bit-identical to {@link #expScalar}.
     * The argument is clamped by a compare and a blend at each end, not by {@code max} and {@code min}: those
     * keep Java's rules for NaN and signed zeros and compiled to five instructions each (blends, a compare for
     * NaN, a masked move), a third of the loop; a NaN argument passes either clamp unchanged all the same.
     * x = n ln2 + r; e^r by polynomial; 2^n applied as two exact power-of-two factors so results that
     * are subnormal round once. NaN stays NaN, -inf gives 0, +inf gives +inf. Constants are broadcast in
     * place here and in {@link #expShiftedSum} and {@link #tanh}: through a one-line helper returning the
     * vector, C2 sometimes left the call in, and every call then allocated a box (a Q8 decode step of the tiny
     * fixture allocated 11.5 KB in {@code DecodeAllocationTest}).
     */
    static FloatVector exp(FloatVector x) {
        x = x.blend(EXP_LO, x.lt(EXP_LO)).blend(EXP_HI, x.compare(VectorOperators.GT, EXP_HI));
        FloatVector t = x.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(F, P2)).fma(r, FloatVector.broadcast(F, P3)).fma(r, FloatVector.broadcast(F, P4)).fma(r, FloatVector.broadcast(F, P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector ni = t.reinterpretAsInts().sub(ROUND_BITS);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = ni.sub(n1);
        FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(s1).mul(s2);
    }

    /**
     * {@code x[i] = exp(x[i] - shift)} for the whole vectors of {@code [from, to)} (up to
     * {@code from + (to - from) / L * L}), returning {@link #sum} of the lane-wise total of those values. The
     * body of {@link #exp} is written out here rather than called: at call sites C2 considers cold (short
     * softmax rows) it would not inline {@code exp}, and a vector passed to a method that is not inlined is
     * boxed, an allocation per vector. Same operations, so the same bits as {@code exp}.
     */
    static float expShiftedSum(float[] a, int from, int to, float shift) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = from; i + L <= to; i += L) {
            FloatVector x = FloatVector.fromArray(F, a, i).sub(shift);
            x = x.blend(EXP_LO, x.lt(EXP_LO)).blend(EXP_HI, x.compare(VectorOperators.GT, EXP_HI));
            FloatVector t = x.fma(LOG2E, ROUND);
            FloatVector n = t.sub(ROUND);
            FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
            r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
            FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(F, P2)).fma(r, FloatVector.broadcast(F, P3)).fma(r, FloatVector.broadcast(F, P4)).fma(r, FloatVector.broadcast(F, P5));
            FloatVector y = p.fma(r.mul(r), r).add(1f);
            IntVector ni = t.reinterpretAsInts().sub(ROUND_BITS);
            IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
            IntVector n2 = ni.sub(n1);
            FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = y.mul(s1).mul(s2);
            e.intoArray(a, i);
            acc = acc.add(e);
        }
        float[] t = SUM_LANES.get();
        acc.intoArray(t, 0);
        return sum(t, 0);
    }

    /** The scalar twin of {@link #exp}: the same operations in the same order, so the same bits. */
    static float expScalar(float x) {
        x = Math.min(Math.max(x, EXP_LO), EXP_HI);
        float t = Math.fma(x, LOG2E, ROUND);
        float n = t - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, P0, P1), r, P2), r, P3), r, P4), r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        int ni = Float.floatToRawIntBits(t) - ROUND_BITS;
        int n1 = ni >> 1;
        int n2 = ni - n1;
        return y * Float.intBitsToFloat((n1 + 127) << 23) * Float.intBitsToFloat((n2 + 127) << 23);
    }

    /** Below this |y|, tanh(y) comes from an odd polynomial (the exp form would cancel). */
    private static final float TANH_SMALL = 0.625f;
    // tanh(y) = y + y^3 Q(y^2) on |y| < 0.625 (Cephes tanhf coefficients)
    private static final float Q0 = -5.70498872745e-3f;
    private static final float Q1 = 2.06390887954e-2f;
    private static final float Q2 = -5.37397155531e-2f;
    private static final float Q3 = 1.33314422036e-1f;
    private static final float Q4 = -3.33332819422e-1f;

    /** tanh per lane from exactly rounded ops, bit-identical to {@link #tanhScalar}; odd, so -0 stays -0. */
    static FloatVector tanh(FloatVector y) {
        FloatVector a = y.abs();
        FloatVector z = a.mul(a);
        FloatVector small = z.fma(Q0, Q1).fma(z, FloatVector.broadcast(F, Q2)).fma(z, FloatVector.broadcast(F, Q3)).fma(z, FloatVector.broadcast(F, Q4)).mul(z).fma(a, a);
        FloatVector e = exp(a.mul(-2f));
        FloatVector large = FloatVector.broadcast(F, 1f).sub(e).div(e.add(1f));
        VectorMask<Float> isSmall = a.lt(TANH_SMALL);
        FloatVector t = large.blend(small, isSmall);
        IntVector sign = y.reinterpretAsInts().and(0x80000000);
        return t.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    /** The scalar twin of {@link #tanh}. */
    static float tanhScalar(float y) {
        float a = Math.abs(y);
        float z = a * a;
        float t;
        if (a < TANH_SMALL) {
            t = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(z, Q0, Q1), z, Q2), z, Q3), z, Q4) * z, a, a);
        } else {
            float e = expScalar(a * -2f);
            t = (1f - e) / (e + 1f);
        }
        return Float.intBitsToFloat(Float.floatToRawIntBits(t) | (Float.floatToRawIntBits(y) & 0x80000000));
    }

    private static final java.lang.foreign.ValueLayout.OfShort I16 =
            java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
}
