package dev.paligemma.core.ops;

import static dev.paligemma.core.ops.Simd.F;
import static dev.paligemma.core.ops.Simd.L;

import jdk.incubator.vector.FloatVector;

/**
 * Rotary position embedding, rotate-half form over the full head dimension:
 * for {@code i < d/2}, {@code (x[i], x[i+d/2])} is rotated by {@code pos * theta^(-2i/d)}.
 * Frequencies are float32 as transformers computes them ({@code invFreq = (float) (1/theta^(2i/d))},
 * {@code angle = pos * invFreq} in float32); they are cached per (headDim, theta), and the cos/sin of a
 * position are computed once per call and applied to every head with vectors. {@link StrictMath}, not
 * {@link Math}, so that the angles' cos/sin are the same bits whether the JIT has compiled this code or not.
 */
public final class Rope {
    private record Freqs(int headDim, double theta, float[] inv) {
    }

    private static volatile Freqs cache = new Freqs(0, 0, new float[0]);
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

    private Rope() {
    }

    private static float[] invFreq(int headDim, double theta) {
        Freqs f = cache;
        if (f.headDim() != headDim || f.theta() != theta) {
            int half = headDim / 2;
            float[] inv = new float[half];
            for (int i = 0; i < half; i++) {
                inv[i] = (float) (1.0 / StrictMath.pow(theta, (2.0 * i) / headDim));
            }
            f = new Freqs(headDim, theta, inv);
            cache = f;
        }
        return f.inv();
    }

    /** Rotates {@code heads} consecutive vectors of {@code headDim} floats at {@code x[off..]} to position {@code pos}. */
    public static void apply(float[] x, int off, int heads, int headDim, int pos, double theta) {
        int half = headDim / 2;
        float[] inv = invFreq(headDim, theta);
        float[][] cs = SCRATCH.get();
        if (cs[0].length < half) {
            cs[0] = new float[half];
            cs[1] = new float[half];
        }
        float[] cos = cs[0];
        float[] sin = cs[1];
        for (int i = 0; i < half; i++) {
            float angle = pos * inv[i];
            cos[i] = (float) StrictMath.cos(angle);
            sin[i] = (float) StrictMath.sin(angle);
        }
        boolean vector = Simd.vector();
        for (int h = 0; h < heads; h++) {
            int b = off + h * headDim;
            int i = 0;
            if (vector) {
                for (; i + L <= half; i += L) {
                    FloatVector c = FloatVector.fromArray(F, cos, i);
                    FloatVector s = FloatVector.fromArray(F, sin, i);
                    FloatVector x0 = FloatVector.fromArray(F, x, b + i);
                    FloatVector x1 = FloatVector.fromArray(F, x, b + i + half);
                    x0.mul(c).sub(x1.mul(s)).intoArray(x, b + i);
                    x1.mul(c).add(x0.mul(s)).intoArray(x, b + i + half);
                }
            }
            for (; i < half; i++) {
                float x0 = x[b + i];
                float x1 = x[b + i + half];
                x[b + i] = x0 * cos[i] - x1 * sin[i];
                x[b + i + half] = x1 * cos[i] + x0 * sin[i];
            }
        }
    }
}
