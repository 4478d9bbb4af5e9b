package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.fail;

import dev.paligemma.core.DType;
import dev.paligemma.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Test helpers: random data, weight tensors of each dtype, and error checks against double references. */
final class Ref {
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Ref() {
    }

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian());
        }
        return a;
    }

    /** A {@code [m, k]} tensor of {@code dt} holding {@code values} rounded to dt; {@code values} is overwritten with the rounded values. */
    static Tensor weight(DType dt, int m, int k, float[] values) {
        MemorySegment seg = MemorySegment.ofArray(new byte[values.length * dt.byteSize()]);
        for (int i = 0; i < values.length; i++) {
            switch (dt) {
                case F32 -> seg.setAtIndex(F32, i, values[i]);
                case BF16 -> {
                    short b = (short) (Float.floatToRawIntBits(values[i]) >>> 16);
                    seg.setAtIndex(I16, i, b);
                    values[i] = Float.intBitsToFloat(b << 16);
                }
                case F16 -> {
                    short h = Float.floatToFloat16(values[i]);
                    seg.setAtIndex(I16, i, h);
                    values[i] = Float.float16ToFloat(h);
                }
                default -> throw new IllegalArgumentException(dt.toString());
            }
        }
        return new Tensor("w", dt, new long[] {m, k}, seg, "<test>");
    }

    /**
     * Checks a dot-product result: {@code |got - ref| <= rel * scale}, where scale is the sum of absolute
     * products (the natural size of float32 rounding in a dot product).
     */
    static void checkDot(String what, float got, double ref, double absScale, double rel) {
        double err = Math.abs(got - ref);
        if (!(err <= rel * absScale + 1e-30)) {
            fail(what + ": got " + got + ", reference " + ref + ", error " + err + " > " + rel + " * " + absScale);
        }
    }

    /**
     * {@link #checkDot} against the double sum of {@code n} terms, the scale being the sum of their magnitudes.
     */
    static void checkSum(String what, float got, int n, java.util.function.IntToDoubleFunction term, double rel) {
        double ref = 0;
        double abs = 0;
        for (int i = 0; i < n; i++) {
            double t = term.applyAsDouble(i);
            ref += t;
            abs += Math.abs(t);
        }
        checkDot(what, got, ref, abs, rel);
    }

    /** {@code |got - ref| <= rel * |ref| + abs}. */
    static void check(String what, float got, double ref, double rel, double abs) {
        double err = Math.abs(got - ref);
        if (!(err <= rel * Math.abs(ref) + abs)) {
            fail(what + ": got " + got + ", reference " + ref + ", error " + err);
        }
    }

    /** Runs {@code body} with the kernels forced onto the scalar or the vector path. */
    static void withPath(boolean scalar, Runnable body) {
        boolean old = Simd.scalar;
        Simd.scalar = scalar;
        try {
            body.run();
        } finally {
            Simd.scalar = old;
        }
    }
}
