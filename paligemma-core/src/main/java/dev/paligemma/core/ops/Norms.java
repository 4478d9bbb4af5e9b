package dev.paligemma.core.ops;

import static dev.paligemma.core.ops.Simd.F;
import static dev.paligemma.core.ops.Simd.L;

import jdk.incubator.vector.FloatVector;

/**
 * Normalisations. Sums run in float32 vector lanes (each lane sums {@code size / L} terms, which keeps the
 * rounding error near 1e-7 relative for the model widths), reduced in a fixed order ({@link Simd#sum}) and
 * finished in double.
 */
public final class Norms {
    private Norms() {
    }

    /** Gemma RMSNorm: {@code out = x / sqrt(mean(x^2) + eps) * (1 + weight)}, over {@code size} elements. */
    public static void rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int size, float eps) {
        int i = 0;
        double ss = 0;
        if (Simd.vector()) {
            FloatVector acc = FloatVector.zero(F);
            for (; i + L <= size; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, xOff + i);
                acc = v.fma(v, acc);
            }
            ss = Simd.sum(acc);
        }
        for (; i < size; i++) {
            float v = x[xOff + i];
            ss += v * v;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / size + eps));
        i = 0;
        if (Simd.vector()) {
            for (; i + L <= size; i += L) {
                FloatVector w = FloatVector.fromArray(F, weight, i).add(1f);
                FloatVector.fromArray(F, x, xOff + i).mul(inv).mul(w).intoArray(out, outOff + i);
            }
        }
        for (; i < size; i++) {
            out[outOff + i] = x[xOff + i] * inv * (1 + weight[i]);
        }
    }

    /** LayerNorm with bias: {@code out = (x - mean) / sqrt(var + eps) * weight + bias}. */
    public static void layerNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float[] bias, int size, float eps) {
        boolean vector = Simd.vector();
        int i = 0;
        double sum = 0;
        if (vector) {
            FloatVector acc = FloatVector.zero(F);
            for (; i + L <= size; i += L) {
                acc = acc.add(FloatVector.fromArray(F, x, xOff + i));
            }
            sum = Simd.sum(acc);
        }
        for (; i < size; i++) {
            sum += x[xOff + i];
        }
        float mean = (float) (sum / size);
        // two passes: the variance of activations with a large mean would lose digits as E[x^2] - mean^2
        i = 0;
        double var = 0;
        if (vector) {
            FloatVector acc = FloatVector.zero(F);
            for (; i + L <= size; i += L) {
                FloatVector d = FloatVector.fromArray(F, x, xOff + i).sub(mean);
                acc = d.fma(d, acc);
            }
            var = Simd.sum(acc);
        }
        for (; i < size; i++) {
            float d = x[xOff + i] - mean;
            var += d * d;
        }
        float inv = (float) (1.0 / Math.sqrt(var / size + eps));
        i = 0;
        if (vector) {
            for (; i + L <= size; i += L) {
                FloatVector d = FloatVector.fromArray(F, x, xOff + i).sub(mean).mul(inv);
                d.fma(FloatVector.fromArray(F, weight, i), FloatVector.fromArray(F, bias, i)).intoArray(out, outOff + i);
            }
        }
        for (; i < size; i++) {
            out[outOff + i] = (x[xOff + i] - mean) * inv * weight[i] + bias[i];
        }
    }
}
