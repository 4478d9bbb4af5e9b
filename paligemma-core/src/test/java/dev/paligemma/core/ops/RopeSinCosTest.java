package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** RoPE's allocation-free sin/cos against StrictMath over the angles decoding produces. */
class RopeSinCosTest {
    @Test
    void withinOneFloatUlpOfStrictMathAndMostlyEqual() {
        Random r = new Random(3);
        float[] s = new float[1];
        float[] c = new float[1];
        int n = 0, equal = 0;
        for (int pos = 0; pos < 20_000; pos += 1 + pos / 50) {
            for (int i = 0; i < 128; i += 7) {
                float inv = (float) (1.0 / StrictMath.pow(10000.0, (2.0 * i) / 256));
                float angle = pos * inv;
                for (float x : new float[] {angle, -angle, (float) (r.nextDouble() * 8)}) {
                    Rope.sinCos(x, s, c, 0);
                    float es = (float) StrictMath.sin(x);
                    float ec = (float) StrictMath.cos(x);
                    assertTrue(Math.abs(s[0] - es) <= Math.ulp(es) && Math.abs(c[0] - ec) <= Math.ulp(ec),
                            "x=" + x + ": sin " + s[0] + " vs " + es + ", cos " + c[0] + " vs " + ec);
                    n += 2;
                    equal += (s[0] == es ? 1 : 0) + (c[0] == ec ? 1 : 0);
                }
            }
        }
        assertTrue(equal >= n * 0.999, equal + " of " + n + " equal to StrictMath's float");
    }
}
