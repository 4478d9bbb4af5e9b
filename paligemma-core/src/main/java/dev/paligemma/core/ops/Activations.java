package dev.paligemma.core.ops;

/**
 * Elementwise functions. STUB: scalar; the kernel layer issue vectorises them.
 */
public final class Activations {
    private Activations() {
    }

    /** GeLU, tanh approximation ({@code gelu_pytorch_tanh}), in place. */
    public static void geluTanh(float[] x, int off, int len) {
        for (int i = off; i < off + len; i++) {
            float v = x[i];
            x[i] = (float) (0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
        }
    }

    /** {@code x = cap * tanh(x / cap)}, in place (Gemma 2 attention and final-logit softcapping). */
    public static void softcap(float[] x, int off, int len, float cap) {
        for (int i = off; i < off + len; i++) {
            x[i] = (float) (cap * Math.tanh(x[i] / cap));
        }
    }

    /** Numerically stable softmax over {@code x[off, off+len)}, in place. */
    public static void softmax(float[] x, int off, int len) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = off; i < off + len; i++) {
            max = Math.max(max, x[i]);
        }
        float sum = 0;
        for (int i = off; i < off + len; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        float inv = 1 / sum;
        for (int i = off; i < off + len; i++) {
            x[i] *= inv;
        }
    }

    /** {@code dst[dOff + i] += src[sOff + i]}. */
    public static void add(float[] dst, int dOff, float[] src, int sOff, int len) {
        for (int i = 0; i < len; i++) {
            dst[dOff + i] += src[sOff + i];
        }
    }

    /** {@code dst[dOff + i] *= src[sOff + i]}. */
    public static void multiply(float[] dst, int dOff, float[] src, int sOff, int len) {
        for (int i = 0; i < len; i++) {
            dst[dOff + i] *= src[sOff + i];
        }
    }

    /** {@code x[off + i] *= s}. */
    public static void scale(float[] x, int off, int len, float s) {
        for (int i = off; i < off + len; i++) {
            x[i] *= s;
        }
    }
}
