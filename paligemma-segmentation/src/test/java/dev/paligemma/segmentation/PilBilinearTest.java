package dev.paligemma.segmentation;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Values worked by hand from libImaging's precompute_coeffs (triangle filter, support widened when shrinking). */
class PilBilinearTest {
    @Test
    void upscalesLikePillow() {
        // centres 0.25, 0.75, 1.25, 1.75; edge taps are renormalised, so the ends copy the edge pixels
        assertArrayEquals(new float[] {0f, 0.25f, 0.75f, 1f}, PilBilinear.resize(new float[] {0, 1}, 2, 1, 4, 1), 0f);
        // same along the vertical pass
        assertArrayEquals(new float[] {0f, 0.25f, 0.75f, 1f}, PilBilinear.resize(new float[] {0, 1}, 1, 2, 1, 4), 0f);
    }

    @Test
    void downscalesWithWidenedSupport() {
        // scale 2: support 2, taps weighted 0.75, 0.75, 0.25 (and mirrored), normalised by 1.75
        float[] got = PilBilinear.resize(new float[] {0, 1, 2, 3}, 4, 1, 2, 1);
        assertArrayEquals(new float[] {(float) (1.25 / 1.75), (float) (4.0 / 1.75)}, got, 0f);
    }

    @Test
    void sameSizeIsACopy() {
        float[] src = {1, -2, 3, -4};
        float[] got = PilBilinear.resize(src, 2, 2, 2, 2);
        assertArrayEquals(src, got, 0f);
    }
}
