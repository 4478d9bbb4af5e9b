package dev.paligemma.core.ops;

import static dev.paligemma.core.ops.Simd.F;
import static dev.paligemma.core.ops.Simd.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Elementwise functions, vectorised with a scalar tail. Transcendentals use {@link Simd#exp} and
 * {@link Simd#tanh} (within a few ulp in float32, built from exactly rounded ops so every call gives the same
 * bits), not the Vector API's {@code EXP}/{@code TANH}, whose results change when the JIT compiles them.
 */
public final class Activations {
    private static final float SQRT_2_OVER_PI = 0.7978845608028654f;
    private static final float GELU_C = 0.044715f;

    private Activations() {
    }

    /**
     * GeLU, tanh approximation ({@code gelu_pytorch_tanh}), in place. Evaluated as the identical
     * {@code v / (1 + exp(-2u))}, {@code u = sqrt(2/pi) (v + 0.044715 v^3)}, which avoids the cancellation
     * in {@code 1 + tanh(u)} for negative inputs. Vector lanes and the scalar tail run the same operations,
     * so an element's value does not depend on where it falls.
     */
    public static void geluTanh(float[] x, int off, int len) {
        int i = off;
        int end = off + len;
        if (Simd.vector()) {
            for (; i + L <= end; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                FloatVector u = v.mul(v).mul(v).mul(GELU_C).add(v).mul(-2f * SQRT_2_OVER_PI);
                v.div(Simd.exp(u).add(1f)).intoArray(x, i);
            }
        }
        for (; i < end; i++) {
            float v = x[i];
            float u = (v * v * v * GELU_C + v) * (-2f * SQRT_2_OVER_PI);
            x[i] = v / (Simd.expScalar(u) + 1f);
        }
    }

    /** {@code x = cap * tanh(x / cap)}, in place (Gemma 2 attention and final-logit softcapping). */
    public static void softcap(float[] x, int off, int len, float cap) {
        int i = off;
        int end = off + len;
        float inv = 1 / cap;
        if (Simd.vector()) {
            for (; i + L <= end; i += L) {
                Simd.tanh(FloatVector.fromArray(F, x, i).mul(inv)).mul(cap).intoArray(x, i);
            }
        }
        for (; i < end; i++) {
            x[i] = Simd.tanhScalar(x[i] * inv) * cap;
        }
    }

    /** Numerically stable softmax over {@code x[off, off+len)}, in place. */
    public static void softmax(float[] x, int off, int len) {
        int end = off + len;
        boolean vector = Simd.vector();
        float max = Float.NEGATIVE_INFINITY;
        int i = off;
        if (vector) {
            FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i + L <= end; i += L) {
                // a compare and a blend: Java's max on vectors also orders NaN and signed zeros, five
                // instructions; a NaN here still makes its own exponential NaN, and so the sum and every output
                FloatVector v = FloatVector.fromArray(F, x, i);
                m = m.blend(v, m.lt(v));
            }
            // max is exact and order-free, so reduceLanes(MAX) is deterministic (unlike ADD)
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; i < end; i++) {
            max = Math.max(max, x[i]);
        }
        double sum = 0;
        i = off;
        if (vector) {
            sum = Simd.expShiftedSum(x, off, end, max);
            i = off + len / L * L;
        }
        for (; i < end; i++) {
            float e = Simd.expScalar(x[i] - max);
            x[i] = e;
            sum += e;
        }
        scale(x, off, len, (float) (1 / sum));
    }

    /** {@code dst[dOff + i] += src[sOff + i]}. */
    public static void add(float[] dst, int dOff, float[] src, int sOff, int len) {
        int i = 0;
        if (Simd.vector()) {
            for (; i + L <= len; i += L) {
                FloatVector.fromArray(F, dst, dOff + i).add(FloatVector.fromArray(F, src, sOff + i)).intoArray(dst, dOff + i);
            }
        }
        for (; i < len; i++) {
            dst[dOff + i] += src[sOff + i];
        }
    }

    /** {@code dst[dOff + i] *= src[sOff + i]}. */
    public static void multiply(float[] dst, int dOff, float[] src, int sOff, int len) {
        int i = 0;
        if (Simd.vector()) {
            for (; i + L <= len; i += L) {
                FloatVector.fromArray(F, dst, dOff + i).mul(FloatVector.fromArray(F, src, sOff + i)).intoArray(dst, dOff + i);
            }
        }
        for (; i < len; i++) {
            dst[dOff + i] *= src[sOff + i];
        }
    }

    /** {@code x[off + i] *= s}. */
    public static void scale(float[] x, int off, int len, float s) {
        int i = off;
        int end = off + len;
        if (Simd.vector()) {
            for (; i + L <= end; i += L) {
                FloatVector.fromArray(F, x, i).mul(s).intoArray(x, i);
            }
        }
        for (; i < end; i++) {
            x[i] *= s;
        }
    }
}
