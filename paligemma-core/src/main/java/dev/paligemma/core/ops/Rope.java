package dev.paligemma.core.ops;

/**
 * Rotary position embedding, rotate-half form over the full head dimension:
 * for {@code i < d/2}, {@code (x[i], x[i+d/2])} is rotated by {@code pos * theta^(-2i/d)}.
 * STUB: scalar; the kernel layer issue may table or vectorise it.
 */
public final class Rope {
    private Rope() {
    }

    /** Rotates {@code heads} consecutive vectors of {@code headDim} floats at {@code x[off..]} to position {@code pos}. */
    public static void apply(float[] x, int off, int heads, int headDim, int pos, double theta) {
        int half = headDim / 2;
        for (int i = 0; i < half; i++) {
            // float32 frequency as transformers computes it: 1 / theta^(2i/d)
            float invFreq = (float) (1.0 / Math.pow(theta, (2.0 * i) / headDim));
            float angle = pos * invFreq;
            float cos = (float) Math.cos(angle);
            float sin = (float) Math.sin(angle);
            for (int h = 0; h < heads; h++) {
                int b = off + h * headDim;
                float x0 = x[b + i];
                float x1 = x[b + i + half];
                x[b + i] = x0 * cos - x1 * sin;
                x[b + i + half] = x1 * cos + x0 * sin;
            }
        }
    }
}
