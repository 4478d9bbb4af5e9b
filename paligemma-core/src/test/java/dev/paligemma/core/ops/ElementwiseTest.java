package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Norms, activations and RoPE against double-precision references on random data, on the vector and the
 * scalar path, at odd sizes. Stated tolerances: norms 1e-5 relative (+1e-6 absolute for results near 0),
 * GeLU/softcap/softmax 1e-5 relative (+1e-7 absolute), RoPE 1e-5 absolute on unit-scale inputs.
 */
class ElementwiseTest {
    static final int[] SIZES = {1, 3, 7, 16, 24, 48, 72, 257, 1152, 2048, 4304};

    @ParameterizedTest(name = "scalar={0}")
    @ValueSource(booleans = {false, true})
    void rmsNorm(boolean scalar) {
        Random r = new Random(10);
        for (int size : SIZES) {
            float[] x = Ref.random(r, size + 2);
            float[] w = Ref.random(r, size);
            float[] out = new float[size + 1];
            Ref.withPath(scalar, () -> Norms.rmsNorm(out, 1, x, 2, w, size, 1e-6f));
            double ss = 0;
            for (int i = 0; i < size; i++) {
                ss += (double) x[2 + i] * x[2 + i];
            }
            double inv = 1 / Math.sqrt(ss / size + 1e-6f);
            for (int i = 0; i < size; i++) {
                Ref.check("rmsNorm " + size + " [" + i + "]", out[1 + i], x[2 + i] * inv * (1 + (double) w[i]), 1e-5, 1e-6);
            }
            assertEquals(0f, out[0]);
        }
    }

    @ParameterizedTest(name = "scalar={0}")
    @ValueSource(booleans = {false, true})
    void layerNormWithLargeMean(boolean scalar) {
        Random r = new Random(11);
        for (int size : SIZES) {
            float[] x = Ref.random(r, size + 3);
            for (int i = 0; i < x.length; i++) {
                x[i] += 30; // an offset the variance must not lose
            }
            float[] w = Ref.random(r, size);
            float[] b = Ref.random(r, size);
            float[] out = new float[size];
            Ref.withPath(scalar, () -> Norms.layerNorm(out, 0, x, 3, w, b, size, 1e-6f));
            double mean = 0;
            for (int i = 0; i < size; i++) {
                mean += x[3 + i];
            }
            mean /= size;
            double var = 0;
            for (int i = 0; i < size; i++) {
                var += (x[3 + i] - mean) * (x[3 + i] - mean);
            }
            double inv = 1 / Math.sqrt(var / size + 1e-6f);
            for (int i = 0; i < size; i++) {
                double ref = (x[3 + i] - mean) * inv * w[i] + b[i];
                // x itself is float32 near 30, so its (x - mean) carries ~2e-6 absolute rounding; scaled by inv*|w|
                Ref.check("layerNorm " + size + " [" + i + "]", out[i], ref, 1e-5, 1e-5 * Math.abs(w[i]) * Math.max(1, inv));
            }
        }
    }

    @ParameterizedTest(name = "scalar={0}")
    @ValueSource(booleans = {false, true})
    void geluSoftcapSoftmax(boolean scalar) {
        Random r = new Random(12);
        for (int size : SIZES) {
            float[] x = Ref.random(r, size + 1);
            for (int i = 0; i < x.length; i++) {
                x[i] *= 4;
            }
            float[] g = x.clone();
            Ref.withPath(scalar, () -> Activations.geluTanh(g, 1, size));
            float[] c = x.clone();
            Ref.withPath(scalar, () -> Activations.softcap(c, 1, size, 3f));
            float[] s = x.clone();
            Ref.withPath(scalar, () -> Activations.softmax(s, 1, size));
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 1; i <= size; i++) {
                max = Math.max(max, x[i]);
            }
            double sum = 0;
            for (int i = 1; i <= size; i++) {
                sum += Math.exp(x[i] - max);
            }
            for (int i = 1; i <= size; i++) {
                double v = x[i];
                double gelu = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                Ref.check("gelu(" + v + ")", g[i], gelu, 1e-5, 1e-7);
                Ref.check("softcap(" + v + ")", c[i], 3 * Math.tanh(v / 3), 1e-5, 1e-7);
                Ref.check("softmax " + size + " [" + i + "]", s[i], Math.exp(v - max) / sum, 1e-5, 1e-9);
            }
            assertEquals(x[0], g[0]);
            assertEquals(x[0], c[0]);
            assertEquals(x[0], s[0]);
        }
    }

    @ParameterizedTest(name = "scalar={0}")
    @ValueSource(booleans = {false, true})
    void addMultiplyScale(boolean scalar) {
        Random r = new Random(13);
        for (int size : SIZES) {
            float[] a = Ref.random(r, size + 2);
            float[] b = Ref.random(r, size + 1);
            float[] sum = a.clone();
            float[] prod = a.clone();
            float[] scaled = a.clone();
            Ref.withPath(scalar, () -> {
                Activations.add(sum, 2, b, 1, size);
                Activations.multiply(prod, 2, b, 1, size);
                Activations.scale(scaled, 2, size, 0.125f);
            });
            for (int i = 0; i < size; i++) {
                assertEquals(a[2 + i] + b[1 + i], sum[2 + i]);
                assertEquals(a[2 + i] * b[1 + i], prod[2 + i]);
                assertEquals(a[2 + i] * 0.125f, scaled[2 + i]);
            }
            assertEquals(a[1], sum[1]);
        }
    }

    @ParameterizedTest(name = "scalar={0}")
    @ValueSource(booleans = {false, true})
    void ropeRotatesHalves(boolean scalar) {
        Random r = new Random(14);
        for (int headDim : new int[] {2, 8, 24, 48, 72, 256}) {
            for (double theta : new double[] {10_000, 1_000_000}) {
                int heads = 3;
                int pos = 1 + r.nextInt(8000);
                float[] x = Ref.random(r, 1 + heads * headDim);
                float[] y = x.clone();
                Ref.withPath(scalar, () -> Rope.apply(y, 1, heads, headDim, pos, theta));
                int half = headDim / 2;
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < half; i++) {
                        // frequency and angle in float32, as the checkpoints' reference code computes them
                        float invFreq = (float) (1.0 / Math.pow(theta, (2.0 * i) / headDim));
                        float angle = pos * invFreq;
                        double cos = Math.cos(angle), sin = Math.sin(angle);
                        int b = 1 + h * headDim;
                        double x0 = x[b + i], x1 = x[b + i + half];
                        Ref.check("rope d=" + headDim + " i=" + i, y[b + i], x0 * cos - x1 * sin, 0, 1e-5);
                        Ref.check("rope d=" + headDim + " i=" + (i + half), y[b + i + half], x1 * cos + x0 * sin, 0, 1e-5);
                    }
                }
                assertEquals(x[0], y[0]);
            }
        }
    }
}
