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
            sinCos(angle, sin, cos, i);
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

    // sin/cos without StrictMath, whose argument reduction allocates (two double[] per call beyond pi/4),
    // which made every decode step allocate. Double-precision Cody-Waite reduction by pi/2 (pio2 split as in
    // fdlibm: k * PIO2_1 is exact for |k| < 2^20) and fdlibm's kernel polynomials on [-pi/4, pi/4]: within
    // about an ulp of double, so the float results are the correctly rounded ones except at rare ties, and
    // only +, *, rint are used, so every JIT mode gives the same bits.
    private static final double TWO_OVER_PI = 6.36619772367581382433e-01;
    private static final double PIO2_1 = 1.57079632673412561417e+00;
    private static final double PIO2_1T = 6.07710050650619224932e-11;
    private static final double S1 = -1.66666666666666324348e-01;
    private static final double S2 = 8.33333333332248946124e-03;
    private static final double S3 = -1.98412698298579493134e-04;
    private static final double S4 = 2.75573137070700676789e-06;
    private static final double S5 = -2.50507602534068634195e-08;
    private static final double S6 = 1.58969099521155010221e-10;
    private static final double C1 = 4.16666666666666019037e-02;
    private static final double C2 = -1.38888888888741095749e-03;
    private static final double C3 = 2.48015872894767294178e-05;
    private static final double C4 = -2.75573143513906633035e-07;
    private static final double C5 = 2.08757232129817482790e-09;
    private static final double C6 = -1.13596475577881948265e-11;
    /** Above this |x| the two-part reduction loses accuracy; StrictMath takes over (positions never get here). */
    private static final double REDUCE_LIMIT = 1 << 19;

    /** {@code sin[i] = (float) sin(x)}, {@code cos[i] = (float) cos(x)}. */
    static void sinCos(float angle, float[] sin, float[] cos, int i) {
        double x = angle;
        if (!(Math.abs(x) < REDUCE_LIMIT)) {
            sin[i] = (float) StrictMath.sin(x);
            cos[i] = (float) StrictMath.cos(x);
            return;
        }
        double k = Math.rint(x * TWO_OVER_PI);
        double r = (x - k * PIO2_1) - k * PIO2_1T;
        double z = r * r;
        double s = r + r * z * (S1 + z * (S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)))));
        double c = 1.0 - 0.5 * z + z * z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
        switch ((int) ((long) k & 3)) {
            case 0 -> {
                sin[i] = (float) s;
                cos[i] = (float) c;
            }
            case 1 -> {
                sin[i] = (float) c;
                cos[i] = (float) -s;
            }
            case 2 -> {
                sin[i] = (float) -s;
                cos[i] = (float) -c;
            }
            default -> {
                sin[i] = (float) -c;
                cos[i] = (float) s;
            }
        }
    }
}
