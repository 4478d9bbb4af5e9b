package dev.paligemma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.paligemma.core.DType;
import dev.paligemma.core.Json;
import dev.paligemma.gemma.DecoderInput;
import dev.paligemma.gemma.GemmaModel;
import dev.paligemma.gemma.GemmaSession;
import dev.paligemma.gemma.GenerationOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Q8 weights end to end through {@link PaliGemma#load(Path, LoadOptions)}: how often quantisation changes
 * the greedy token against the float path, over the golden step sequences (the golden greedy and forced
 * continuations fed through the cached decode path, argmax per step compared with the goldens' argmax,
 * which the float path reproduces to 1e-4), and the cache round trip.
 */
class Q8EndToEndTest {
    @TempDir
    Path cache;

    /** Steps compared and steps whose argmax changed, for one fixture. */
    record Rate(int steps, int changed, List<Float> logitErrors) {
    }

    private static int argmax(float[] a, int from, int len) {
        int best = 0;
        for (int i = 1; i < len; i++) {
            if (a[from + i] > a[from + best]) {
                best = i;
            }
        }
        return best;
    }

    private static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
    }

    /** Feeds the golden greedy and forced continuations with Q8 weights; collects every step's logits too. */
    private Rate rate(String fixture, LoadOptions options, List<float[]> allLogits) throws Exception {
        Golden g = Golden.of(fixture);
        Map<?, ?> json = (Map<?, ?>) Json.parse(Files.readString(g.dir().resolve("golden.json")));
        float[] forcedGold;
        try (var f = dev.paligemma.core.SafetensorsFile.open(g.dir().resolve("golden.safetensors"))) {
            forcedGold = f.tensor("forced_step_logits").toFloatArray();
        }
        int v = g.vocab();
        int steps = 0, changed = 0;
        List<Float> errors = new ArrayList<>();
        try (PaliGemma model = PaliGemma.load(g.dir(), options)) {
            assertEquals(DType.Q8, model.checkpoint().tensor("language_model.model.layers.0.mlp.up_proj.weight").dtype());
            assertEquals(DType.Q8, model.checkpoint().tensor("vision_tower.vision_model.encoder.layers.0.mlp.fc2.weight").dtype());
            ImageEmbedding emb = model.embedPixels(g.pixelValues(), 1);
            GemmaModel decoder = GemmaModel.load(model.checkpoint(), model.config());
            DecoderInput input = decoder.input(emb.rows(), emb.rowCount(), model.promptTokens(g.prompt()));
            int[][] seqs = {g.greedyTokens().stream().mapToInt(Integer::intValue).toArray(), ints(json.get("forced_tokens"))};
            float[][] golds = {g.stepLogits(), forcedGold};
            for (int which = 0; which < 2; which++) {
                int[] seq = seqs[which];
                float[] gold = golds[which];
                try (GemmaSession s = decoder.newSession(input.length() + seq.length + 1)) {
                    float[] logits = s.prefill(input);
                    int rows = Math.min(seq.length + 1, gold.length / v);
                    for (int k = 0; k < rows; k++) {
                        allLogits.add(logits.clone());
                        steps++;
                        if (argmax(logits, 0, v) != argmax(gold, k * v, v)) {
                            changed++;
                        }
                        errors.add((float) Golden.maxScaledDiff(logits, gold, k * v, v));
                        if (k < seq.length && k + 1 < rows) {
                            logits = s.step(seq[k]);
                        }
                    }
                }
            }
            // the facade's own greedy generation with Q8 weights
            Generation out = model.generate(emb, g.prompt(), GenerationOptions.greedy(g.greedyTokens().size()));
            System.out.println(fixture + " Q8 greedy tokens " + out.tokenIds() + " (float path " + g.greedyTokens() + ")");
        }
        return new Rate(steps, changed, errors);
    }

    @Test
    void q8RarelyChangesTheGreedyTokenAndTheCacheReloadsBitIdentical() throws Exception {
        LoadOptions q8 = LoadOptions.defaults().withWeights(WeightFormat.Q8).withQ8CacheDir(cache);
        List<float[]> first = new ArrayList<>();
        Rate tiny = rate("paligemma-tiny", q8, first);
        System.out.printf("paligemma-tiny Q8: %d of %d steps change the argmax; max scaled logit error %.4g%n",
                tiny.changed(), tiny.steps(), tiny.logitErrors().stream().mapToDouble(Float::doubleValue).max().orElse(0));
        assertEquals(24, tiny.steps(), "12 greedy + 12 forced golden rows");
        assertTrue(tiny.changed() * 100 < tiny.steps(), "Q8 changed " + tiny.changed() + " of " + tiny.steps() + " greedy steps");
        try (var files = Files.walk(cache)) {
            assertEquals(1, files.filter(p -> p.getFileName().toString().equals("model.q8.safetensors")).count());
        }
        // second load maps the cache written by the first: bit-identical logits
        List<float[]> second = new ArrayList<>();
        rate("paligemma-tiny", q8, second);
        assertEquals(first.size(), second.size());
        for (int i = 0; i < first.size(); i++) {
            assertArrayEquals(first.get(i), second.get(i), "step " + i + " after reloading the Q8 cache");
        }
        // Gemma 2 (reported: its goldens have smaller top-2 margins)
        Rate g2 = rate("paligemma2-tiny", q8, new ArrayList<>());
        System.out.printf("paligemma2-tiny Q8: %d of %d steps change the argmax; max scaled logit error %.4g%n",
                g2.changed(), g2.steps(), g2.logitErrors().stream().mapToDouble(Float::doubleValue).max().orElse(0));
    }
}
