package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * {@link Simd#exp} and {@link Simd#tanh}: accuracy against {@link StrictMath} in double (stated bounds: exp
 * within 2 ulp of float32, tanh within 2 ulp or 1e-7 relative), the vector and scalar twins bit-identical
 * (so an element's value does not depend on whether it lands in a vector or in the tail), special values.
 */
class TranscendentalTest {
    private static float[] inputs() {
        Random r = new Random(7);
        float[] x = new float[Simd.L * 4000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) ((r.nextDouble() - 0.5) * (i % 3 == 0 ? 220 : i % 3 == 1 ? 8 : 0.02));
        }
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 88.72f, 88.73f,
            -87.3f, -100f, -103.9f, -104.5f, 1e-30f, -1e-30f, 0.625f, -0.625f, 0.62499994f, 9f, -9f};
        System.arraycopy(special, 0, x, 0, special.length);
        return x;
    }

    private static double ulp(double ref) {
        return Math.ulp((float) ref) == 0 ? Float.MIN_VALUE : Math.max(Float.MIN_VALUE, Math.ulp((float) ref));
    }

    @Test
    void expIsAccurateAndVectorMatchesScalar() {
        float[] x = inputs();
        for (int i = 0; i < x.length; i += Simd.L) {
            float[] v = new float[Simd.L];
            Simd.exp(FloatVector.fromArray(Simd.F, x, i)).intoArray(v, 0);
            for (int l = 0; l < Simd.L; l++) {
                float in = x[i + l];
                float s = Simd.expScalar(in);
                assertEquals(Float.floatToRawIntBits(s), Float.floatToRawIntBits(v[l]), "exp(" + in + ") vector vs scalar");
                double ref = StrictMath.exp(in);
                if (Double.isNaN(ref)) {
                    assertTrue(Float.isNaN(s));
                } else if (ref > Float.MAX_VALUE) {
                    assertEquals(Float.POSITIVE_INFINITY, s, "exp(" + in + ")");
                } else {
                    assertTrue(Math.abs(s - ref) <= 2 * ulp(ref), "exp(" + in + ") = " + s + ", reference " + ref);
                }
            }
        }
    }

    @Test
    void tanhIsAccurateAndVectorMatchesScalar() {
        float[] x = inputs();
        for (int i = 0; i < x.length; i += Simd.L) {
            float[] v = new float[Simd.L];
            Simd.tanh(FloatVector.fromArray(Simd.F, x, i)).intoArray(v, 0);
            for (int l = 0; l < Simd.L; l++) {
                float in = x[i + l];
                float s = Simd.tanhScalar(in);
                assertEquals(Float.floatToRawIntBits(s), Float.floatToRawIntBits(v[l]), "tanh(" + in + ") vector vs scalar");
                double ref = StrictMath.tanh(in);
                if (Double.isNaN(ref)) {
                    assertTrue(Float.isNaN(s));
                } else {
                    assertTrue(Math.abs(s - ref) <= Math.max(2 * ulp(ref), 1e-7 * Math.abs(ref)),
                            "tanh(" + in + ") = " + s + ", reference " + ref);
                }
            }
        }
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Simd.tanhScalar(-0f)));
    }

    @Test
    void sumIsTheFixedPairwiseOrder() {
        float[] a = new float[Simd.L];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i % 2 == 0 ? 1e8f : 1f) * (i + 1) * (i % 3 == 0 ? -1 : 1);
        }
        float[] t = a.clone();
        for (int d = Simd.L / 2; d >= 1; d /= 2) {
            float[] n = new float[Simd.L];
            for (int i = 0; i < Simd.L; i++) {
                n[i] = t[i] + t[i ^ d];
            }
            t = n;
        }
        assertEquals(Float.floatToRawIntBits(t[0]), Float.floatToRawIntBits(Simd.sum(FloatVector.fromArray(Simd.F, a, 0))));
    }

    @Test
    void sums16GivesEachStoredVectorTheBitsOfSum() {
        java.util.Random r = new java.util.Random(16);
        for (int round = 0; round < 200; round++) {
            float[] t = new float[16 * Simd.L + 16];
            for (int i = 0; i < 16 * Simd.L; i++) {
                // magnitudes 1e-3..1e8 and both signs, so any other summation order changes the rounding
                t[i] = (float) ((r.nextBoolean() ? -1 : 1) * Math.pow(10, r.nextInt(12) - 3) * r.nextDouble());
            }
            if (round == 1) {
                t[3] = Float.NaN;
                t[Simd.L + 1] = Float.POSITIVE_INFINITY;
                t[2 * Simd.L] = -0f;
            }
            float[] expected = new float[16];
            for (int c = 0; c < 16; c++) {
                expected[c] = Simd.sum(FloatVector.fromArray(Simd.F, t, c * Simd.L));
            }
            Simd.sums16(t);
            for (int c = 0; c < 16; c++) {
                assertEquals(Float.floatToRawIntBits(expected[c]), Float.floatToRawIntBits(t[16 * Simd.L + c]), "round " + round + " vector " + c);
            }
        }
    }
}
