package dev.paligemma;

import dev.paligemma.gemma.GenerationOptions;
import dev.paligemma.gemma.StopReason;
import dev.paligemma.siglip.RgbImage;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole pipeline through the public API against the reference goldens. */
class PaliGemmaEndToEndTest {
    /** float32 path: absolute 1e-4, relative 1e-4 where logits exceed 1 in magnitude. */
    static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"paligemma-tiny", "paligemma2-tiny", "paligemma2-tiny-window"})
    void goldenPixelsGiveGoldenTokensAndLogits(String fixture) throws Exception {
        Golden g = Golden.of(fixture);
        LoadOptions options = LoadOptions.defaults().withSlidingWindow(fixture.endsWith("window"));
        try (PaliGemma model = PaliGemma.load(g.dir(), options)) {
            ImageEmbedding emb = model.embedPixels(g.pixelValues(), 1);
            List<float[]> steps = new ArrayList<>();
            Generation out = model.generate(emb, g.prompt(), GenerationOptions.greedy(g.greedyTokens().size()), null, null,
                    (step, logits) -> steps.add(logits.clone()));
            assertEquals(g.greedyTokens(), out.tokenIds(), fixture + ": greedy tokens");
            assertEquals(g.greedyTokens().size(), steps.size());
            for (int s = 0; s < steps.size(); s++) {
                double d = Golden.maxScaledDiff(steps.get(s), g.stepLogits(), s * g.vocab(), g.vocab());
                assertTrue(d <= TOLERANCE, fixture + " step " + s + ": logits differ by " + d);
            }
            assertEquals(StopReason.MAX_TOKENS, out.stopReason());
            assertEquals(g.inputIds().size(), out.prefixLength());
            int[] prompt = model.promptTokens(g.prompt());
            assertEquals(g.inputIds().subList(256, g.inputIds().size()),
                    java.util.Arrays.stream(prompt).boxed().toList(), "<bos> prompt \\n tokens as the reference processor makes them");
        }
    }

    @Test
    void transformers5CheckpointMatchesTheHubOnesGoldens() throws Exception {
        Golden g = Golden.of("paligemma-tiny");
        try (PaliGemma model = PaliGemma.load(Golden.FIXTURES.resolve("paligemma-tiny-transformers5"))) {
            Generation out = model.generate(model.embedPixels(g.pixelValues(), 1), g.prompt(),
                    GenerationOptions.greedy(g.greedyTokens().size()));
            assertEquals(g.greedyTokens(), out.tokenIds());
        }
    }

    @Test
    void imageFileThroughOurPreprocessingGivesTheGoldenTokens() throws Exception {
        // Our resize equals PIL's uint8 one, which differs from transformers' float resize by at most
        // one 8-bit level; the golden greedy margins (>= 0.027) leave room for that, so tokens must agree.
        Golden g = Golden.of("paligemma-tiny");
        try (PaliGemma model = PaliGemma.load(g.dir())) {
            RgbImage image = model.readImage(Golden.FIXTURES.resolve("images/scene.png"));
            Generation out = model.generate(image, g.prompt(), GenerationOptions.greedy(g.greedyTokens().size()));
            assertEquals(g.greedyTokens(), out.tokenIds());
            assertEquals(model.tokenizer().decode(out.tokenIds().stream().mapToInt(Integer::intValue).toArray()), out.text());
        }
    }

    @Test
    void anEmbeddingServesSeveralPromptsAndSeveralImagesPrecedeBos() throws Exception {
        Golden g = Golden.of("paligemma-tiny");
        try (PaliGemma model = PaliGemma.load(g.dir())) {
            ImageEmbedding one = model.embedPixels(g.pixelValues(), 1);
            Generation a = model.generate(one, g.prompt(), GenerationOptions.greedy(4));
            Generation b = model.generate(one, "answer en what is this", GenerationOptions.greedy(4));
            Generation a2 = model.generate(one, g.prompt(), GenerationOptions.greedy(4));
            assertEquals(a.tokenIds(), a2.tokenIds(), "reusing an embedding is repeatable");
            assertEquals(g.greedyTokens().subList(0, 4), a.tokenIds());
            assertEquals(260, a.prefixLength());
            assertTrue(b.prefixLength() > a.prefixLength());
            float[] two = new float[g.pixelValues().length * 2];
            System.arraycopy(g.pixelValues(), 0, two, 0, g.pixelValues().length);
            System.arraycopy(g.pixelValues(), 0, two, g.pixelValues().length, g.pixelValues().length);
            ImageEmbedding pair = model.embedPixels(two, 2);
            assertEquals(512, pair.rowCount());
            Generation p = model.generate(pair, g.prompt(), GenerationOptions.greedy(4));
            assertEquals(2 * 256 + 4, p.prefixLength(), "both images' tokens come before <bos> prompt \\n");
        }
    }

    @Test
    void streamingDeliversTheSameTextIncrementally() throws Exception {
        Golden g = Golden.of("paligemma-tiny");
        try (PaliGemma model = PaliGemma.load(g.dir())) {
            StringBuilder streamed = new StringBuilder();
            List<Integer> ids = new ArrayList<>();
            Generation out = model.generate(model.embedPixels(g.pixelValues(), 1), g.prompt(),
                    GenerationOptions.greedy(g.greedyTokens().size()), (id, text) -> {
                        ids.add(id);
                        streamed.append(text);
                    }, null);
            assertEquals(out.tokenIds(), ids);
            assertEquals(out.text(), streamed.toString());
        }
    }
}
