package dev.paligemma.core.ops;

import static dev.paligemma.core.ops.Simd.F;
import static dev.paligemma.core.ops.Simd.I;
import static dev.paligemma.core.ops.Simd.L;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * The two products of one decode-step query head against cached keys and values: rows of {@code d} float32
 * values in an off-heap segment, {@code stride} bytes apart (a KV cache's consecutive positions).
 *
 * <p>Cache rows are loaded as {@code IntVector} lanes reinterpreted as floats, never through
 * {@code FloatVector.fromMemorySegment}: the JDK's segment-load code keeps one type profile per vector
 * class, and F32 weights (mapped segments) load through {@code FloatVector}; a native segment seen at the
 * same site made those loads bimorphic and F32 matmuls 2x slower (see docs/performance.md).
 *
 * <p>The loads are written out in place, not called through a helper: C2 may refuse to inline a helper at one
 * site of a big loop and then boxes its vector result every iteration (see {@link Matmul}).
 *
 * <p>Deterministic like every kernel here: fixed lane order, lanewise operations only.
 */
public final class CachedAttention {
    /** Native order, as the cache is written. */
    private static final ValueLayout.OfFloat NATIVE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private CachedAttention() {
    }

    /**
     * {@code s[sOff + j] = sum_p q[qOff + p] * row_j[p]} for {@code j} in {@code [0, span)}, where {@code row_j}
     * is the {@code d} floats at byte {@code base + j * stride} of {@code kv}.
     */
    public static void scores(float[] q, int qOff, MemorySegment kv, long base, long stride, int span, int d,
                              float[] s, int sOff) {
        int dv = Simd.vector() ? d / L * L : 0;
        float[] t = dv > 0 ? Simd.sumLanes() : null;
        for (int j = 0; j < span; j++) {
            long row = base + j * stride;
            float dot = 0;
            if (dv > 0) {
                FloatVector acc = FloatVector.zero(F);
                for (int p = 0; p < dv; p += L) {
                    acc = FloatVector.fromArray(F, q, qOff + p).fma(IntVector.fromMemorySegment(I, kv, row + 4L * p, NATIVE).reinterpretAsFloats(), acc);
                }
                acc.intoArray(t, 0);
                dot = Simd.sum(t, 0);
            }
            for (int p = dv; p < d; p++) {
                dot += q[qOff + p] * kv.get(NATIVE_F32, row + 4L * p);
            }
            s[sOff + j] = dot;
        }
    }

    /**
     * {@link #scores} for {@code g} query heads that share the cached keys (grouped-query attention): head
     * {@code i}'s query at {@code q[qOff + i * qStride]}, its scores at {@code s[sOff + i * sStride]}. Heads go
     * two per pass over the rows, so each key is read once per pair; every head gets the bits of its own
     * {@link #scores} call.
     */
    public static void scores(float[] q, int qOff, int qStride, int g, MemorySegment kv, long base, long stride,
                              int span, int d, float[] s, int sOff, int sStride) {
        int i = 0;
        if (Simd.vector() && d >= L) {
            for (; i + 2 <= g; i += 2) {
                scoresPair(q, qOff + i * qStride, qOff + (i + 1) * qStride, kv, base, stride, span, d,
                        s, sOff + i * sStride, sOff + (i + 1) * sStride);
            }
        }
        for (; i < g; i++) {
            scores(q, qOff + i * qStride, kv, base, stride, span, d, s, sOff + i * sStride);
        }
    }

    /** Rows {@link #scoresPair} takes between two rounds of lane sums (a multiple of four). */
    private static final int SUM_BLOCK = 32;
    /** Per thread: {@link #scoresPair}'s accumulators of one block of rows, two heads each. */
    private static final ThreadLocal<float[]> BLOCK_SUMS = ThreadLocal.withInitial(() -> new float[2 * SUM_BLOCK * L]);

    private static void scoresPair(float[] q, int q0, int q1, MemorySegment kv, long base, long stride, int span,
                                   int d, float[] s, int s0, int s1) {
        int dv = d / L * L;
        int j = 0;
        if (dv == d) {
            // four rows at a time: eight independent chains, each query load shared by the four rows and each key
            // load by both heads; the chains of a block of rows are stored and lane-summed after it. Row pairs
            // summed right away, as before 0c1a93f, waited on each pair's stores being read back; four rows
            // keep more of the keys' cache misses in flight than two (paligemma2 shapes, one thread, keys of 26
            // layers x 4 KV heads: 16.9-17.5 -> 20.3-21.1 GB/s at 316 cached rows, 9.2-9.5 -> 13.9-14.4 at 1048)
            float[] acc = BLOCK_SUMS.get();
            int quads = span & ~3;
            for (int jb = 0; jb < quads; jb += SUM_BLOCK) {
                int je = Math.min(quads, jb + SUM_BLOCK);
                for (j = jb; j < je; j += 4) {
                    long r0 = base + j * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
                    FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, e0 = a0, e1 = a0;
                    for (int p = 0; p < dv; p += L) {
                        FloatVector x0 = FloatVector.fromArray(F, q, q0 + p), x1 = FloatVector.fromArray(F, q, q1 + p);
                        FloatVector k = IntVector.fromMemorySegment(I, kv, r0 + 4L * p, NATIVE).reinterpretAsFloats();
                        a0 = x0.fma(k, a0);
                        a1 = x1.fma(k, a1);
                        k = IntVector.fromMemorySegment(I, kv, r1 + 4L * p, NATIVE).reinterpretAsFloats();
                        b0 = x0.fma(k, b0);
                        b1 = x1.fma(k, b1);
                        k = IntVector.fromMemorySegment(I, kv, r2 + 4L * p, NATIVE).reinterpretAsFloats();
                        c0 = x0.fma(k, c0);
                        c1 = x1.fma(k, c1);
                        k = IntVector.fromMemorySegment(I, kv, r3 + 4L * p, NATIVE).reinterpretAsFloats();
                        e0 = x0.fma(k, e0);
                        e1 = x1.fma(k, e1);
                    }
                    // each row's two heads, row by row
                    int o = 2 * L * (j - jb);
                    a0.intoArray(acc, o);
                    a1.intoArray(acc, o + L);
                    b0.intoArray(acc, o + 2 * L);
                    b1.intoArray(acc, o + 3 * L);
                    c0.intoArray(acc, o + 4 * L);
                    c1.intoArray(acc, o + 5 * L);
                    e0.intoArray(acc, o + 6 * L);
                    e1.intoArray(acc, o + 7 * L);
                }
                for (int i = jb; i < je; i++) {
                    int o = 2 * L * (i - jb);
                    s[s0 + i] = Simd.sum(acc, o);
                    s[s1 + i] = Simd.sum(acc, o + L);
                }
            }
            j = quads;
        }
        float[] t = Simd.sumLanes();
        for (; j < span; j++) {
            long row = base + j * stride;
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int p = 0; p < dv; p += L) {
                FloatVector k = IntVector.fromMemorySegment(I, kv, row + 4L * p, NATIVE).reinterpretAsFloats();
                a0 = FloatVector.fromArray(F, q, q0 + p).fma(k, a0);
                a1 = FloatVector.fromArray(F, q, q1 + p).fma(k, a1);
            }
            a0.intoArray(t, 0);
            float dot0 = Simd.sum(t, 0);
            a1.intoArray(t, 0);
            float dot1 = Simd.sum(t, 0);
            for (int p = dv; p < d; p++) {
                float k = kv.get(NATIVE_F32, row + 4L * p);
                dot0 += q[q0 + p] * k;
                dot1 += q[q1 + p] * k;
            }
            s[s0 + j] = dot0;
            s[s1 + j] = dot1;
        }
    }

    /**
     * {@link #weightedSum} for {@code g} heads that share the cached values: head {@code i}'s weights at
     * {@code w[wOff + i * wStride]}, its output at {@code out[oOff + i * oStride]}; two heads per pass over the
     * rows, each with the bits of its own {@link #weightedSum} call.
     */
    public static void weightedSum(float[] w, int wOff, int wStride, int g, MemorySegment kv, long base, long stride,
                                   int span, int d, float[] out, int oOff, int oStride) {
        int i = 0;
        if (Simd.vector() && d >= L) {
            for (; i + 2 <= g; i += 2) {
                weightedSumPair(w, wOff + i * wStride, wOff + (i + 1) * wStride, kv, base, stride, span, d,
                        out, oOff + i * oStride, oOff + (i + 1) * oStride);
            }
        }
        for (; i < g; i++) {
            weightedSum(w, wOff + i * wStride, kv, base, stride, span, d, out, oOff + i * oStride);
        }
    }

    private static void weightedSumPair(float[] w, int w0, int w1, MemorySegment kv, long base, long stride,
                                        int span, int d, float[] out, int o0, int o1) {
        int p = 0;
        // eight vectors of each head's output (sixteen chains) stay in registers over all rows, so the values
        // are passed over d / 8L times: at Gemma's head_dim 256 and 512-bit vectors twice, where four vectors
        // took four passes (paligemma2 shapes, one thread, alternating in one JVM: 20.3-21.0 -> 25.0-25.6 GB/s
        // at 316 cached rows, 17.5-18.1 -> 21.1 at 1048). The rest (none at head_dim 128 or 256 with 256- or
        // 512-bit vectors) goes lane by lane, the same multiply then add per lane: every lane's sum runs over
        // the rows in the same order, so the same bits whichever width takes it
        for (; p + 8 * L <= d; p += 8 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
            long col = base + 4L * p;
            for (int j = 0; j < span; j++) {
                long o = col + j * stride;
                float c = w[w0 + j];
                float e = w[w1 + j];
                FloatVector v = IntVector.fromMemorySegment(I, kv, o, NATIVE).reinterpretAsFloats();
                a0 = v.mul(c).add(a0);
                b0 = v.mul(e).add(b0);
                v = IntVector.fromMemorySegment(I, kv, o + 4L * L, NATIVE).reinterpretAsFloats();
                a1 = v.mul(c).add(a1);
                b1 = v.mul(e).add(b1);
                v = IntVector.fromMemorySegment(I, kv, o + 8L * L, NATIVE).reinterpretAsFloats();
                a2 = v.mul(c).add(a2);
                b2 = v.mul(e).add(b2);
                v = IntVector.fromMemorySegment(I, kv, o + 12L * L, NATIVE).reinterpretAsFloats();
                a3 = v.mul(c).add(a3);
                b3 = v.mul(e).add(b3);
                v = IntVector.fromMemorySegment(I, kv, o + 16L * L, NATIVE).reinterpretAsFloats();
                a4 = v.mul(c).add(a4);
                b4 = v.mul(e).add(b4);
                v = IntVector.fromMemorySegment(I, kv, o + 20L * L, NATIVE).reinterpretAsFloats();
                a5 = v.mul(c).add(a5);
                b5 = v.mul(e).add(b5);
                v = IntVector.fromMemorySegment(I, kv, o + 24L * L, NATIVE).reinterpretAsFloats();
                a6 = v.mul(c).add(a6);
                b6 = v.mul(e).add(b6);
                v = IntVector.fromMemorySegment(I, kv, o + 28L * L, NATIVE).reinterpretAsFloats();
                a7 = v.mul(c).add(a7);
                b7 = v.mul(e).add(b7);
            }
            a0.intoArray(out, o0 + p);
            a1.intoArray(out, o0 + p + L);
            a2.intoArray(out, o0 + p + 2 * L);
            a3.intoArray(out, o0 + p + 3 * L);
            a4.intoArray(out, o0 + p + 4 * L);
            a5.intoArray(out, o0 + p + 5 * L);
            a6.intoArray(out, o0 + p + 6 * L);
            a7.intoArray(out, o0 + p + 7 * L);
            b0.intoArray(out, o1 + p);
            b1.intoArray(out, o1 + p + L);
            b2.intoArray(out, o1 + p + 2 * L);
            b3.intoArray(out, o1 + p + 3 * L);
            b4.intoArray(out, o1 + p + 4 * L);
            b5.intoArray(out, o1 + p + 5 * L);
            b6.intoArray(out, o1 + p + 6 * L);
            b7.intoArray(out, o1 + p + 7 * L);
        }
        for (; p < d; p++) {
            float acc0 = 0;
            float acc1 = 0;
            for (int j = 0; j < span; j++) {
                float v = kv.get(NATIVE_F32, base + 4L * p + j * stride);
                acc0 += w[w0 + j] * v;
                acc1 += w[w1 + j] * v;
            }
            out[o0 + p] = acc0;
            out[o1 + p] = acc1;
        }
    }

    /**
     * {@code out[oOff + p] = sum_j w[wOff + j] * row_j[p]} for {@code p} in {@code [0, d)}, summed in {@code j}
     * order (rows as in {@link #scores}).
     */
    public static void weightedSum(float[] w, int wOff, MemorySegment kv, long base, long stride, int span, int d,
                                   float[] out, int oOff) {
        int p = 0;
        if (Simd.vector()) {
            // four vectors of the output at a time stay in registers over all rows
            for (; p + 4 * L <= d; p += 4 * L) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                long col = base + 4L * p;
                for (int j = 0; j < span; j++) {
                    long o = col + j * stride;
                    float c = w[wOff + j];
                    a0 = IntVector.fromMemorySegment(I, kv, o, NATIVE).reinterpretAsFloats().mul(c).add(a0);
                    a1 = IntVector.fromMemorySegment(I, kv, o + 4L * L, NATIVE).reinterpretAsFloats().mul(c).add(a1);
                    a2 = IntVector.fromMemorySegment(I, kv, o + 8L * L, NATIVE).reinterpretAsFloats().mul(c).add(a2);
                    a3 = IntVector.fromMemorySegment(I, kv, o + 12L * L, NATIVE).reinterpretAsFloats().mul(c).add(a3);
                }
                a0.intoArray(out, oOff + p);
                a1.intoArray(out, oOff + p + L);
                a2.intoArray(out, oOff + p + 2 * L);
                a3.intoArray(out, oOff + p + 3 * L);
            }
            for (; p + L <= d; p += L) {
                FloatVector a0 = FloatVector.zero(F);
                for (int j = 0; j < span; j++) {
                    a0 = IntVector.fromMemorySegment(I, kv, base + 4L * p + j * stride, NATIVE).reinterpretAsFloats().mul(w[wOff + j]).add(a0);
                }
                a0.intoArray(out, oOff + p);
            }
        }
        for (; p < d; p++) {
            float acc = 0;
            for (int j = 0; j < span; j++) {
                acc += w[wOff + j] * kv.get(NATIVE_F32, base + 4L * p + j * stride);
            }
            out[oOff + p] = acc;
        }
    }
}
