package dev.paligemma.gemma;

import dev.paligemma.core.SafetensorsFile;
import dev.paligemma.core.TensorNames;
import dev.paligemma.core.ops.Norms;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoder against transformers' goldens for every model fixture: decoder input, hidden states after
 * every layer, prefill logits of the last 24 prefix positions, greedy decode logits and tokens through
 * the KV cache, and forced-token decode logits through the cache.
 *
 * <p>Tolerance: |actual - expected| <= 1e-4 * max(1, |expected|), i.e. 1e-4 absolute, relative 1e-4
 * for values above 1 in magnitude (hidden states reach tens: text rows are embeddings times sqrt(H)).
 */
class GoldenDecoderTest {
    static final double TOL = 1e-4;

    @ParameterizedTest(name = "{0} vs {1}/golden (sliding window {2})")
    @CsvSource({
            "paligemma-tiny, paligemma-tiny, false",
            "paligemma-tiny-transformers5, paligemma-tiny, false",
            "paligemma2-tiny, paligemma2-tiny, false",
            "paligemma2-tiny-window, paligemma2-tiny-window, true"})
    void matchesGoldens(String modelDir, String goldenDir, boolean window) {
        Map<String, Object> json = Fixtures.goldenJson(goldenDir);
        try (Fixtures.Loaded m = Fixtures.Loaded.of(modelDir); SafetensorsFile g = Fixtures.goldenTensors(goldenDir)) {
            GemmaModel model = m.model().withSlidingWindow(window);
            int h = model.config().hiddenSize();
            int v = model.config().vocabSize();
            int layers = model.config().numHiddenLayers();
            int[] ids = Fixtures.ints(json.get("input_ids"));
            int numImage = ((Number) json.get("num_image_tokens")).intValue();
            int len = ((Number) json.get("prefix_length")).intValue();
            assertEquals(len, ids.length);
            float[] hidden = g.tensor("text_hidden_states").requireShape(layers + 1, len, h).toFloatArray();
            for (int i = 0; i < numImage; i++) {
                assertEquals(m.config().imageTokenIndex(), ids[i]);
            }
            Map<String, Double> errors = new LinkedHashMap<>();
            List<String> failures = new ArrayList<>();

            // image rows: golden image_features times sqrt(H) agree with the decoder input's image rows
            float[] features = g.tensor("image_features").toFloatArray();
            float[] scaled = features.clone();
            for (int i = 0; i < scaled.length; i++) {
                scaled[i] *= (float) Math.sqrt(h);
            }
            check("image_features*sqrt(H) vs text_hidden_states[0] image rows", scaled, 0, hidden, 0, numImage * h, errors, failures);

            float[] imageRows = Arrays.copyOf(hidden, numImage * h);
            int[] text = Arrays.copyOfRange(ids, numImage, len);
            DecoderInput input = model.input(imageRows, numImage, text);
            assertEquals(len, input.length());
            check("text_hidden_states[0] (decoder input)", input.toFloatArray(), 0, hidden, 0, len * h, errors, failures);

            int steps = ((List<?>) json.get("greedy_tokens")).size();
            try (GemmaSession s = model.newSession(len + steps)) {
                float[][] states = new float[layers + 1][];
                float[] tail = s.prefill(input, 24, (idx, x) -> states[idx] = x.clone());
                for (int l = 1; l < layers; l++) {
                    check("text_hidden_states[" + l + "]", states[l], 0, hidden, l * len * h, len * h, errors, failures);
                }
                // transformers' last hidden-states entry is the last layer's output after the final norm
                float[] normW = m.checkpoint().tensor(TensorNames.DECODER + "norm.weight").toFloatArray();
                float[] last = new float[len * h];
                for (int i = 0; i < len; i++) {
                    Norms.rmsNorm(last, i * h, states[layers], i * h, normW, h, 1e-6f);
                }
                check("text_hidden_states[" + layers + "] (after final norm)", last, 0, hidden, layers * len * h, len * h,
                        errors, failures);
                float[] goldTail = g.tensor("prefill_logits_tail").requireShape(24, v).toFloatArray();
                check("prefill_logits_tail", tail, 0, goldTail, 0, 24 * v, errors, failures);

                int[] greedy = Fixtures.ints(json.get("greedy_tokens"));
                float[] stepGold = g.tensor("step_logits").requireShape(steps, v).toFloatArray();
                float[] logits = s.prefill(input);
                int[] produced = new int[steps];
                double stepErr = 0;
                for (int k = 0; k < steps; k++) {
                    stepErr = Math.max(stepErr, check("step_logits[" + k + "]", logits, 0, stepGold, k * v, v, null, failures));
                    produced[k] = Sampler.argmax(logits, v);
                    if (k + 1 < steps) {
                        logits = s.step(greedy[k]);
                    }
                }
                errors.put("step_logits", stepErr);
                assertEquals(len + steps - 1, s.length());

                int[] forced = Fixtures.ints(json.get("forced_tokens"));
                float[] forcedGold = g.tensor("forced_step_logits").requireShape(forced.length + 1, v).toFloatArray();
                logits = s.prefill(input);
                double forcedErr = 0;
                for (int k = 0; k <= forced.length; k++) {
                    forcedErr = Math.max(forcedErr, check("forced_step_logits[" + k + "]", logits, 0, forcedGold, k * v, v, null, failures));
                    if (k < forced.length) {
                        logits = s.step(forced[k]);
                    }
                }
                errors.put("forced_step_logits", forcedErr);

                System.out.println(modelDir + " (goldens " + goldenDir + ", window " + window + ") max abs errors: " + errors);
                assertTrue(failures.isEmpty(), String.join("\n", failures));
                assertArrayEquals(greedy, produced, "greedy tokens");
                GenerationResult r = model.generate(input, GenerationOptions.greedy(steps), null, null);
                // EOS (1) is not among these fixtures' greedy tokens, so all are produced
                assertArrayEquals(greedy, r.tokenArray(), "generate() greedy tokens");
                assertEquals(StopReason.MAX_TOKENS, r.stopReason());
            }
        }
    }

    /** Max abs error over the range; records a failure unless every element is within TOL (relative above 1). */
    static double check(String what, float[] a, int aOff, float[] b, int bOff, int n, Map<String, Double> errors,
                        List<String> failures) {
        double max = 0;
        int worst = -1;
        for (int i = 0; i < n; i++) {
            double e = Math.abs(a[aOff + i] - b[bOff + i]);
            if (!(e <= TOL * Math.max(1, Math.abs(b[bOff + i])))) {
                if (worst < 0) {
                    worst = i;
                }
            }
            if (!(e <= max)) {
                max = e;
            }
        }
        if (errors != null) {
            errors.put(what, max);
        }
        if (worst >= 0) {
            failures.add(what + ": element " + worst + " is " + a[aOff + worst] + ", expected " + b[bOff + worst]
                    + " (max abs error " + max + ")");
        }
        return max;
    }

    /**
     * paligemma2-tiny-window's goldens were made with the sliding window (its decode positions 265+ lie
     * more than 128 past the image rows): without the window the cached steps must disagree.
     */
    @org.junit.jupiter.api.Test
    void windowFixtureGoldensNeedTheWindow() {
        String dir = "paligemma2-tiny-window";
        Map<String, Object> json = Fixtures.goldenJson(dir);
        try (Fixtures.Loaded m = Fixtures.Loaded.of(dir); SafetensorsFile g = Fixtures.goldenTensors(dir)) {
            GemmaModel model = m.model();
            assertTrue(!model.slidingWindow(), "off by default");
            int h = model.config().hiddenSize();
            int v = model.config().vocabSize();
            int[] ids = Fixtures.ints(json.get("input_ids"));
            int numImage = ((Number) json.get("num_image_tokens")).intValue();
            float[] hidden = g.tensor("text_hidden_states").toFloatArray();
            DecoderInput input = model.input(Arrays.copyOf(hidden, numImage * h), numImage, Arrays.copyOfRange(ids, numImage, ids.length));
            int[] forced = Fixtures.ints(json.get("forced_tokens"));
            float[] gold = g.tensor("forced_step_logits").toFloatArray();
            try (GemmaSession s = model.newSession(ids.length + 2)) {
                float[] first = s.prefill(input);
                // the prefix is unaffected by the window
                assertTrue(check("row 0", first, 0, gold, 0, v, null, new ArrayList<>()) < TOL);
                float[] second = s.step(forced[0]);
                double err = check("row 1", second, 0, gold, v, v, null, new ArrayList<>());
                assertTrue(err > 0.1, "without the window step 1 should differ from the goldens, max abs error " + err);
            }
        }
    }
}
