package dev.paligemma.siglip;

import dev.paligemma.core.testing.FuzzHarness;
import dev.paligemma.core.testing.Mutations;
import org.junit.jupiter.api.Test;

import java.awt.Image;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes {@link ImageLoader} and {@link ImagePreprocessor} with mutated PNG, JPEG (with and without
 * Exif orientation), GIF, BMP and WebP-less real bytes made from the fixture images: bit flips, boundary
 * integers written over headers, insertions, deletions, truncations and extensions. A decode that
 * succeeds must preprocess to finite values in [-1, 1]; a failure must be a {@code PaliGemmaException}
 * naming the source. Deterministic seeds; each case bounded to 5 s.
 */
class ImageFuzzTest {
    static final long SEED = 0x1A6E_F022L;
    static final int CASES = 2500;
    /** Small enough that a header claiming a vast image is refused before any pixel is decoded. */
    static final long BUDGET = 2_000_000;

    static final Path IMAGES = Path.of(System.getProperty("paligemma.fixtures")).resolve("images");

    static BufferedImage scaled(BufferedImage src, int w, int h, int type) {
        BufferedImage out = new BufferedImage(w, h, type);
        out.getGraphics().drawImage(src.getScaledInstance(w, h, Image.SCALE_SMOOTH), 0, 0, null);
        return out;
    }

    /** Seed files: real encoder output of every supported container, kept small so cases stay cheap. */
    static List<byte[]> seeds() throws Exception {
        BufferedImage scene = ImageIO.read(IMAGES.resolve("scene.png").toFile());
        BufferedImage small = scaled(scene, 48, 36, BufferedImage.TYPE_INT_RGB);
        List<byte[]> out = new ArrayList<>();
        out.add(Files.readAllBytes(IMAGES.resolve("alpha.png")));
        out.add(Files.readAllBytes(IMAGES.resolve("small_gray.png")));
        out.add(TestImages.encode(small, "png"));
        out.add(TestImages.jpeg(small, 0.9f));
        out.add(TestImages.withExifOrientation(TestImages.jpeg(small, 0.8f), 6, true));
        out.add(TestImages.withExifOrientation(TestImages.jpeg(small, 0.8f), 3, false));
        out.add(TestImages.encode(scaled(scene, 40, 30, BufferedImage.TYPE_BYTE_INDEXED), "gif"));
        out.add(TestImages.encode(small, "bmp"));
        out.add(TestImages.encode(scaled(scene, 33, 17, BufferedImage.TYPE_BYTE_GRAY), "bmp"));
        for (byte[] b : out) {
            assertTrue(b.length > 50, "seed image encoded");
        }
        return out;
    }

    static void decodeAndPreprocess(ImageLoader loader, ImagePreprocessor pre, byte[] bytes, String name) {
        RgbImage img = loader.decode(bytes, name);
        assertTrue(img.width() > 0 && img.height() > 0 && (long) img.width() * img.height() <= BUDGET);
        float[] px = pre.preprocess(img);
        assertTrue(px.length == 3 * pre.height() * pre.width());
        for (float v : px) {
            assertTrue(v >= -1.0001f && v <= 1.0001f, "pixel value " + v);
        }
    }

    @Test
    void mutatedImages() throws Exception {
        List<byte[]> seeds = seeds();
        ImageLoader loader = new ImageLoader(BUDGET, true);
        ImagePreprocessor pre = ImagePreprocessor.paligemma(32);
        try (FuzzHarness h = new FuzzHarness("images", 5_000)) {
            for (int i = 0; i < CASES; i++) {
                long seed = SEED + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                int which = rnd.nextInt(seeds.size());
                byte[] src = seeds.get(which);
                StringBuilder what = new StringBuilder("seed image " + which);
                // headers (dimensions, chunk lengths, markers, palettes) sit in the first few hundred bytes
                byte[] mutated = Mutations.mutate(src, Math.min(src.length, 400), rnd, what);
                String name = "case-" + i + ".img";
                h.run(seed, what.toString(), name, () -> decodeAndPreprocess(loader, pre, mutated, name));
            }
        }
    }
}
