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
 * <p>Deterministic like every kernel here: fixed lane order, lanewise operations only.
 */
public final class CachedAttention {
    /** Native order, as the cache is written. */
    private static final ValueLayout.OfFloat NATIVE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private CachedAttention() {
    }

    /**
     * {@code s[sOff + j] = sum_p q[qOff + p] * row_j[p]} for {@code j} in {@code [0, span)}, where {@code row_j}
     * is the {@code d} floats at byte {@code base + j * stride} of {@code kv}.
     */
    public static void scores(float[] q, int qOff, MemorySegment kv, long base, long stride, int span, int d,
                              float[] s, int sOff) {
        int dv = Simd.vector() ? d / L * L : 0;
        for (int j = 0; j < span; j++) {
            long row = base + j * stride;
            float dot = 0;
            if (dv > 0) {
                FloatVector acc = FloatVector.zero(F);
                for (int p = 0; p < dv; p += L) {
                    acc = FloatVector.fromArray(F, q, qOff + p).fma(load(kv, row + 4L * p), acc);
                }
                dot = Simd.sum(acc);
            }
            for (int p = dv; p < d; p++) {
                dot += q[qOff + p] * kv.get(NATIVE_F32, row + 4L * p);
            }
            s[sOff + j] = dot;
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
                    a0 = load(kv, o).mul(c).add(a0);
                    a1 = load(kv, o + 4L * L).mul(c).add(a1);
                    a2 = load(kv, o + 8L * L).mul(c).add(a2);
                    a3 = load(kv, o + 12L * L).mul(c).add(a3);
                }
                a0.intoArray(out, oOff + p);
                a1.intoArray(out, oOff + p + L);
                a2.intoArray(out, oOff + p + 2 * L);
                a3.intoArray(out, oOff + p + 3 * L);
            }
            for (; p + L <= d; p += L) {
                FloatVector a0 = FloatVector.zero(F);
                for (int j = 0; j < span; j++) {
                    a0 = load(kv, base + 4L * p + j * stride).mul(w[wOff + j]).add(a0);
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

    private static FloatVector load(MemorySegment kv, long off) {
        return IntVector.fromMemorySegment(I, kv, off, ByteOrder.nativeOrder()).reinterpretAsFloats();
    }
}
