package dev.paligemma.siglip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.paligemma.core.ops.TiledAttention;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The encoder's attention against a double-precision reference, for a head size that is whole vectors and for
 * So400m's 72, whose values go through the zero-padded buffers (the fixtures' tiny towers have head size 16).
 */
class SiglipAttentionTest {
    /** softmax(q k^T) v per image and head, in double; q is already scaled. */
    private static double[] reference(float[] q, float[] k, float[] v, int batch, int n, int h, int heads, int hd) {
        double[] out = new double[batch * n * h];
        for (int b = 0; b < batch; b++) {
            for (int head = 0; head < heads; head++) {
                int base = b * n * h + head * hd;
                for (int i = 0; i < n; i++) {
                    double[] s = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        for (int d = 0; d < hd; d++) {
                            s[j] += (double) q[base + i * h + d] * k[base + j * h + d];
                        }
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int d = 0; d < hd; d++) {
                        double acc = 0;
                        for (int j = 0; j < n; j++) {
                            acc += s[j] / sum * v[base + j * h + d];
                        }
                        out[base + i * h + d] = acc;
                    }
                }
            }
        }
        return out;
    }

    private static void check(int heads, int hd, int n, int batch) {
        float[] plain = check(heads, hd, n, batch, false);
        if (TiledAttention.supports(hd)) {
            float[] tiled = check(heads, hd, n, batch, true);
            if (n % 16 == 0) {
                // both paths chain each score and output over its index in the same order from zero (past the
                // last whole vector of keys the plain path's scalar tail rounds the product before adding)
                assertArrayEquals(plain, tiled, "hd=" + hd + " n=" + n + ": tiled and plain bits");
            }
        }
    }

    private static float[] check(int heads, int hd, int n, int batch, boolean tiledPath) {
        int h = heads * hd;
        Random r = new Random(hd * 31L + n);
        float[] q = new float[batch * n * h];
        float[] k = new float[q.length];
        float[] v = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) (r.nextGaussian() * 0.3);
            k[i] = (float) r.nextGaussian();
            v[i] = (float) r.nextGaussian();
        }
        float[] out = new float[q.length];
        SiglipEncoder.AttentionBuffers buffers = SiglipEncoder.attentionBuffers(batch, heads, n, hd, tiledPath);
        SiglipEncoder.attention(q, k, v, out, batch, n, h, heads, hd, buffers);
        double[] want = reference(q, k, v, batch, n, h, heads, hd);
        for (int i = 0; i < out.length; i++) {
            // float32 softmax and products over n <= 300 terms of size ~1: errors well under 1e-5
            assertEquals(want[i], out[i], 1e-5, (tiledPath ? "tiled" : "plain") + " hd=" + hd + " n=" + n + " element " + i);
        }
        return out;
    }

    @Test
    void oddHeadSizesGoThroughPaddedBuffers() {
        // So400m's head size (padded with 16-lane vectors); 76 is padded with 8- and 16-lane vectors alike.
        // 300 patches span several query blocks; 2 images share the buffers
        assertNotNull(SiglipEncoder.attentionBuffers(1, 2, 4, 76, false).values(), "76 floats are not whole vectors");
        check(2, 72, 300, 2);
        check(3, 76, 17, 1);
        // several query blocks of the tiled path (132 rows) and two key slices (512), the last of each partial
        check(1, 72, 1030, 1);
        // So400m at 224 px: whole vectors of keys, where the two paths agree bit for bit
        check(2, 72, 256, 1);
    }

    @Test
    void wholeVectorHeadSizeIsUnpadded() {
        assertNull(SiglipEncoder.attentionBuffers(1, 2, 4, 64, false).values(), "64 floats are whole 8- or 16-lane vectors");
        check(2, 64, 150, 1);
        // So400m's 256 patches (224 px): whole key strips
        check(2, 64, 256, 1);
    }
}
