package dev.paligemma.siglip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImagePreprocessorTest {
    private static RgbImage gray(int width, int... values) {
        byte[] rgb = new byte[values.length * 3];
        for (int i = 0; i < values.length; i++) {
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (byte) values[i];
        }
        return RgbImage.of(width, values.length / width, rgb);
    }

    private static int[] row(RgbImage image) {
        int[] out = new int[image.width()];
        for (int x = 0; x < out.length; x++) {
            out[x] = image.sample(x, 0, 0);
        }
        return out;
    }

    @Test
    void bicubicUpscaleMatchesHandComputedKeysWeights() {
        // 2 -> 4: output 0 centred at 0.25 uses w(0.25) = 0.8671875, w(1.25) = -0.0703125,
        // normalised 1.0882, -0.0882: 100 * 1.0882 - 200 * 0.0882 = 91.18 -> 91; output 1 uses
        // w(0.25), w(0.75) = 0.2265625 normalised: 79.29 + 41.43 = 120.71 -> 121; mirror for 2, 3.
        RgbImage out = Resizer.resize(gray(2, 100, 200), 4, 1, Resample.BICUBIC);
        assertArrayEquals(new int[] {91, 121, 179, 209}, row(out));
        // negative lobes clip at 0 and 255
        assertArrayEquals(new int[] {0, 53, 202, 255}, row(Resizer.resize(gray(2, 0, 255), 4, 1, Resample.BICUBIC)));
    }

    @Test
    void bilinearDownscaleWidensTheKernel() {
        // 4 -> 2 with scale 2: support 2, weights 3/7, 3/7, 1/7 over inputs 0..2 for output 0 and
        // 1/7, 3/7, 3/7 over inputs 1..3 for output 1 (Pillow's antialiased downscale)
        RgbImage out = Resizer.resize(gray(4, 0, 70, 140, 210), 2, 1, Resample.BILINEAR);
        assertArrayEquals(new int[] {50, 160}, row(out));
    }

    @Test
    void constantImagesStayConstant() {
        int[] values = new int[7 * 5];
        java.util.Arrays.fill(values, 77);
        for (Resample r : Resample.values()) {
            RgbImage out = Resizer.resize(gray(7, values), 13, 3, r);
            for (int y = 0; y < 3; y++) {
                for (int x = 0; x < 13; x++) {
                    assertEquals(77, out.sample(x, y, 1), r + " at " + x + "," + y);
                }
            }
        }
    }

    @Test
    void normalisesChannelsFirst() {
        // no resize (2x1 in, 2x1 out): (v / 255 - 0.5) / 0.5
        RgbImage image = RgbImage.of(2, 1, new byte[] {0, (byte) 255, 51, (byte) 204, 102, (byte) 153});
        ImagePreprocessor p = new ImagePreprocessor(1, 2, Resample.BICUBIC, 1 / 255.0,
                new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5});
        float[] out = p.preprocess(image);
        // layout [3, 1, 2]: R of both pixels, then G, then B
        assertArrayEquals(new float[] {-1f, 0.6f, 1f, -0.2f, -0.6f, 0.2f}, out, 1e-6f);
    }

    @Test
    void usesPerChannelMeanAndStd() {
        RgbImage image = RgbImage.of(1, 1, new byte[] {(byte) 255, (byte) 255, (byte) 255});
        ImagePreprocessor p = new ImagePreprocessor(1, 1, Resample.BILINEAR, 1 / 255.0,
                new double[] {0.48145466, 0.4578275, 0.40821073}, new double[] {0.26862954, 0.26130258, 0.27577711});
        float[] out = p.preprocess(image);
        // (1 - mean) / std, CLIP's statistics
        assertArrayEquals(new float[] {1.9303361f, 2.0748837f, 2.1458970f}, out, 1e-6f);
    }

    @Test
    void batchStacksImages() {
        ImagePreprocessor p = ImagePreprocessor.paligemma(2);
        RgbImage black = RgbImage.of(2, 2, new byte[12]);
        byte[] white = new byte[12];
        java.util.Arrays.fill(white, (byte) 255);
        float[] out = p.preprocess(List.of(black, RgbImage.of(2, 2, white)));
        assertEquals(2 * 3 * 4, out.length);
        for (int i = 0; i < 12; i++) {
            assertEquals(-1f, out[i]);
            assertEquals(1f, out[12 + i]);
        }
        Tensor t = p.pixelValues(List.of(black));
        assertEquals("pixel_values", t.name());
        assertArrayEquals(new long[] {1, 3, 2, 2}, t.shape());
    }

    @Test
    void rejectsBadSettings() {
        double[] half = {0.5, 0.5, 0.5};
        assertThrows(InvalidArgumentException.class, () -> new ImagePreprocessor(0, 224, Resample.BICUBIC, 1 / 255.0, half, half));
        assertThrows(InvalidArgumentException.class, () -> new ImagePreprocessor(224, 224, Resample.BICUBIC, 1 / 255.0, new double[2], half));
        assertThrows(InvalidArgumentException.class, () -> new ImagePreprocessor(224, 224, Resample.BICUBIC, 1 / 255.0, half, new double[3]));
        assertThrows(InvalidArgumentException.class, () -> ImagePreprocessor.paligemma(4).preprocess(List.of()));
        assertThrows(InvalidArgumentException.class, () -> Resample.fromPil(1));
        assertEquals(Resample.BICUBIC, Resample.fromPil(3));
        assertEquals(Resample.BILINEAR, Resample.fromPil(2));
    }
}
