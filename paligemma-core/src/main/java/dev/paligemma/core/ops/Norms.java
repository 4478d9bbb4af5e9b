package dev.paligemma.core.ops;

/**
 * Normalisations. STUB: scalar; the kernel layer issue vectorises them.
 */
public final class Norms {
    private Norms() {
    }

    /** Gemma RMSNorm: {@code out = x / sqrt(mean(x^2) + eps) * (1 + weight)}, over {@code size} elements. */
    public static void rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int size, float eps) {
        float ss = 0;
        for (int i = 0; i < size; i++) {
            ss += x[xOff + i] * x[xOff + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / size + eps));
        for (int i = 0; i < size; i++) {
            out[outOff + i] = x[xOff + i] * inv * (1 + weight[i]);
        }
    }

    /** LayerNorm with bias: {@code out = (x - mean) / sqrt(var + eps) * weight + bias}. */
    public static void layerNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float[] bias, int size, float eps) {
        float mean = 0;
        for (int i = 0; i < size; i++) {
            mean += x[xOff + i];
        }
        mean /= size;
        float var = 0;
        for (int i = 0; i < size; i++) {
            float d = x[xOff + i] - mean;
            var += d * d;
        }
        var /= size;
        float inv = (float) (1.0 / Math.sqrt(var + eps));
        for (int i = 0; i < size; i++) {
            out[outOff + i] = (x[xOff + i] - mean) * inv * weight[i] + bias[i];
        }
    }
}
