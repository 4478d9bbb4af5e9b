package dev.paligemma.siglip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Compares {@link ImagePreprocessor} with transformers' {@code SiglipImageProcessor} output stored
 * in {@code fixtures/images/preprocess_golden.safetensors}. The reference (transformers 5's torch
 * resize) itself differs from Pillow's 8-bit resize by up to one 8-bit level (2/255 = 0.0078 after
 * normalisation) for PNG, two for JPEG (whose decoders also differ), with a mean near 3e-5
 * (fixtures/images/preprocess_golden.json); a faithful Pillow resize must land within that.
 */
class PreprocessGoldenTest {
    private static final double PNG_MAX_ABS = 0.0079;
    private static final double JPEG_MAX_ABS = 0.016;
    private static final double MEAN_ABS = 1e-4;

    private static Path images;
    private static GoldenTensors golden;

    @BeforeAll
    static void load() throws IOException {
        images = Path.of(System.getProperty("paligemma.fixtures")).resolve("images");
        golden = new GoldenTensors(images.resolve("preprocess_golden.safetensors"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "scene_png_224, scene.png, 224, 320, 240",
        "scene_jpg_224, scene.jpg, 224, 320, 240",
        "small_gray_png_224, small_gray.png, 224, 97, 131",
        "alpha_png_224, alpha.png, 224, 150, 100",
        "scene_png_448, scene.png, 448, 320, 240",
    })
    void matchesTransformers(String key, String file, int size, int sourceWidth, int sourceHeight) {
        RgbImage image = ImageLoader.defaults().load(images.resolve(file));
        assertEquals(sourceWidth, image.width(), "decoded width of " + file);
        assertEquals(sourceHeight, image.height(), "decoded height of " + file);

        float[] actual = ImagePreprocessor.paligemma(size).preprocess(image);

        GoldenTensors.F32 expected = golden.get(key);
        assertArrayEquals(new long[] {1, 3, size, size}, expected.shape());
        assertEquals(expected.values().length, actual.length);
        double max = 0;
        double sum = 0;
        for (int i = 0; i < actual.length; i++) {
            double d = Math.abs(actual[i] - expected.values()[i]);
            max = Math.max(max, d);
            sum += d;
        }
        double mean = sum / actual.length;
        System.out.printf("golden %s: max abs %.9f, mean abs %.10e%n", key, max, mean);
        double maxAllowed = file.endsWith(".jpg") ? JPEG_MAX_ABS : PNG_MAX_ABS;
        assertTrue(max <= maxAllowed, key + ": max abs error " + max + " > " + maxAllowed);
        assertTrue(mean <= MEAN_ABS, key + ": mean abs error " + mean + " > " + MEAN_ABS);
    }
}
