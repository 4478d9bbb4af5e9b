package dev.paligemma.siglip;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.SafetensorsFile;
import dev.paligemma.core.config.PaliGemmaConfig;
import dev.paligemma.core.config.VisionConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SigLIP encoder and projector against the goldens of fixtures/README.md (transformers 5.17, float32).
 * Tolerance: 1e-4 max absolute error, the float32 budget the project sets; BF16/F16 weights are widened
 * exactly, so the same bound holds for every fixture.
 */
class SiglipEncoderTest {
    static final double TOLERANCE = 1e-4;
    static final Path FIXTURES = Path.of(System.getProperty("paligemma.fixtures"));

    record Golden(float[] pixels, float[] visionHidden, float[] imageFeatures) {
        static Golden read(String dir) {
            try (SafetensorsFile f = SafetensorsFile.open(FIXTURES.resolve(dir).resolve("golden.safetensors"))) {
                assertArrayEquals(new long[] {1, 3, 224, 224}, f.tensor("pixel_values").shape());
                return new Golden(f.tensor("pixel_values").toFloatArray(), f.tensor("vision_hidden").toFloatArray(),
                        f.tensor("image_features").toFloatArray());
            }
        }
    }

    static double maxAbsDiff(float[] expected, float[] actual, double scale) {
        assertEquals(expected.length, actual.length, "length");
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i] * scale);
            if (!(d <= max)) {
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
            }
        }
        return max;
    }

    @ParameterizedTest(name = "{0} vs {1}/golden")
    @CsvSource({
            "paligemma-tiny, paligemma-tiny",
            "paligemma2-tiny, paligemma2-tiny",
            "paligemma2-tiny-window, paligemma2-tiny-window",
            "paligemma-tiny-transformers5, paligemma-tiny"})
    void matchesGoldenVisionHiddenAndImageFeatures(String model, String goldenDir) {
        Golden g = Golden.read(goldenDir);
        Path dir = FIXTURES.resolve(model);
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            VisionTower tower = VisionTower.load(ckpt, cfg.vision(), cfg.text().hiddenSize());
            int h = cfg.text().hiddenSize();
            assertEquals(256, tower.encoder().numPatches());
            float[] hidden = tower.encoder().encode(g.pixels(), 1);
            assertEquals(256 * 32, hidden.length);
            double hiddenErr = maxAbsDiff(g.visionHidden(), hidden, 1);
            float[] features = tower.projector().project(hidden, 256);
            assertEquals(256 * h, features.length);
            // The golden image_features is the projector output divided by sqrt(H) (transformers 4 convention).
            double featErr = maxAbsDiff(g.imageFeatures(), features, 1 / Math.sqrt(h));
            double facadeErr = maxAbsDiff(g.imageFeatures(), tower.imageFeatures(g.pixels(), 1), 1 / Math.sqrt(h));
            System.out.printf("%s: vision_hidden max abs %.3g, image_features max abs %.3g%n", model, hiddenErr, featErr);
            assertTrue(hiddenErr <= TOLERANCE, model + " vision_hidden max abs error " + hiddenErr);
            assertTrue(featErr <= TOLERANCE, model + " image_features max abs error " + featErr);
            assertTrue(facadeErr <= TOLERANCE, model + " imageFeatures() max abs error " + facadeErr);
        }
    }

    @Test
    void batchOfTwoIdenticalImagesGivesTheSameRowsTwice() {
        Golden g = Golden.read("paligemma-tiny");
        Path dir = FIXTURES.resolve("paligemma-tiny");
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            SiglipEncoder enc = SiglipEncoder.load(ckpt, cfg.vision());
            float[] two = new float[2 * g.pixels().length];
            System.arraycopy(g.pixels(), 0, two, 0, g.pixels().length);
            System.arraycopy(g.pixels(), 0, two, g.pixels().length, g.pixels().length);
            float[] out = enc.encode(two, 2);
            int half = 256 * 32;
            assertEquals(2 * half, out.length);
            float[] first = java.util.Arrays.copyOfRange(out, 0, half);
            float[] second = java.util.Arrays.copyOfRange(out, half, 2 * half);
            assertTrue(maxAbsDiff(first, second, 1) <= 1e-6, "second image's rows differ from the first's");
            assertTrue(maxAbsDiff(g.visionHidden(), first, 1) <= TOLERANCE);
            assertTrue(maxAbsDiff(g.visionHidden(), second, 1) <= TOLERANCE);
        }
    }

    @Test
    void imagesInOneBatchDoNotAttendToEachOther() {
        Golden g = Golden.read("paligemma-tiny");
        float[] other;
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURES.resolve("images/preprocess_golden.safetensors"))) {
            other = f.tensor("small_gray_png_224").toFloatArray();
        }
        Path dir = FIXTURES.resolve("paligemma-tiny");
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            SiglipEncoder enc = SiglipEncoder.load(ckpt, cfg.vision());
            float[] two = new float[2 * g.pixels().length];
            System.arraycopy(other, 0, two, 0, other.length);
            System.arraycopy(g.pixels(), 0, two, other.length, g.pixels().length);
            float[] out = enc.encode(two, 2);
            int half = 256 * 32;
            float[] alone = enc.encode(other, 1);
            assertTrue(maxAbsDiff(alone, java.util.Arrays.copyOfRange(out, 0, half), 1) <= 1e-6);
            assertTrue(maxAbsDiff(g.visionHidden(), java.util.Arrays.copyOfRange(out, half, 2 * half), 1) <= TOLERANCE);
            assertTrue(maxAbsDiff(g.visionHidden(), alone, 1) > 1e-2, "the two test images should encode differently");
        }
    }

    @Test
    void concurrentCallsGiveTheSameResult() throws Exception {
        Golden g = Golden.read("paligemma2-tiny");
        Path dir = FIXTURES.resolve("paligemma2-tiny");
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir); ExecutorService pool = Executors.newFixedThreadPool(3)) {
            SiglipEncoder enc = SiglipEncoder.load(ckpt, cfg.vision());
            float[] reference = enc.encode(g.pixels(), 1);
            var futures = new java.util.ArrayList<Future<float[]>>();
            for (int i = 0; i < 3; i++) {
                futures.add(pool.submit(() -> enc.encode(g.pixels(), 1)));
            }
            for (Future<float[]> f : futures) {
                assertArrayEquals(reference, f.get());
            }
        }
    }

    @Test
    void misshapenVisionTensorIsReportedByName(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("ckpt");
        TestSafetensors.copyDir(FIXTURES.resolve("paligemma-tiny"), dir);
        String name = "vision_tower.vision_model.encoder.layers.1.mlp.fc1.weight";
        // Same element count (72*32 = 36*64), so the file is valid and only the model check can catch it.
        TestSafetensors.rewrite(dir.resolve("model.safetensors"), Map.of(name, new long[] {36, 64}), Set.of());
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> SiglipEncoder.load(ckpt, cfg.vision()));
            assertTrue(e.getMessage().contains(name), e.getMessage());
            assertTrue(e.getMessage().contains("[72, 32]"), e.getMessage());
        }
    }

    @Test
    void misshapenProjectorIsReportedByName(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("ckpt");
        TestSafetensors.copyDir(FIXTURES.resolve("paligemma-tiny"), dir);
        String name = "multi_modal_projector.linear.weight";
        TestSafetensors.rewrite(dir.resolve("model.safetensors"), Map.of(name, new long[] {32, 64}), Set.of());
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            SiglipEncoder.load(ckpt, cfg.vision());
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> MultiModalProjector.load(ckpt, cfg.vision(), cfg.text().hiddenSize()));
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
    }

    @Test
    void missingVisionTensorIsReportedByName(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("ckpt");
        TestSafetensors.copyDir(FIXTURES.resolve("paligemma-tiny"), dir);
        String name = "vision_tower.vision_model.post_layernorm.bias";
        TestSafetensors.rewrite(dir.resolve("model.safetensors"), Map.of(), Set.of(name));
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> SiglipEncoder.load(ckpt, cfg.vision()));
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
    }

    @Test
    void positionEmbeddingCountMustMatchConfigImageSize() {
        Path dir = FIXTURES.resolve("paligemma-tiny");
        VisionConfig v = PaliGemmaConfig.load(dir).vision();
        // The checkpoint has 256 positions (224 px); a config claiming 448 px needs 1024.
        VisionConfig wrong = new VisionConfig(v.hiddenSize(), v.intermediateSize(), v.numHiddenLayers(),
                v.numAttentionHeads(), 448, v.patchSize(), v.numChannels(), v.layerNormEps(), v.projectionDim());
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> SiglipEncoder.load(ckpt, wrong));
            assertTrue(e.getMessage().contains("vision_tower.vision_model.embeddings.position_embedding.weight"), e.getMessage());
            assertTrue(e.getMessage().contains("256") && e.getMessage().contains("1024"), e.getMessage());
        }
    }

    @Test
    void badPixelInputIsRejectedWithTheExpectedShape() {
        Path dir = FIXTURES.resolve("paligemma-tiny");
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            SiglipEncoder enc = SiglipEncoder.load(ckpt, cfg.vision());
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> enc.encode(new float[3 * 224 * 223], 1));
            assertTrue(e.getMessage().contains("[1, 3, 224, 224]"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> enc.encode(new float[3 * 224 * 224], 2));
            assertTrue(e.getMessage().contains("[2, 3, 224, 224]"), e.getMessage());
            assertThrows(InvalidArgumentException.class, () -> enc.encode(new float[0], 0));
            assertThrows(InvalidArgumentException.class, () -> enc.encode(null, 1));
            MultiModalProjector proj = MultiModalProjector.load(ckpt, cfg.vision(), cfg.text().hiddenSize());
            e = assertThrows(InvalidArgumentException.class, () -> proj.project(new float[31], 1));
            assertTrue(e.getMessage().contains("[1, 32]"), e.getMessage());
        }
    }

    @Test
    void projectorWidthMustMatchDecoder() {
        Path dir = FIXTURES.resolve("paligemma-tiny");
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> MultiModalProjector.load(ckpt, cfg.vision(), 48));
            assertTrue(e.getMessage().contains("projection_dim"), e.getMessage());
        }
    }
}
