package dev.paligemma.gemma;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.SafetensorsFile;
import dev.paligemma.core.config.PaliGemmaConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generation control on paligemma-tiny (greedy continuation per its golden.json:
 * 747, 203, 203, 203, 1509, 1509, ...): stop ids, EOS, streaming order, cancellation, deadline,
 * seeded sampling, session reuse, and every kind of bad input.
 */
class GenerationTest {
    static final int[] GREEDY = {747, 203, 203, 203, 1509, 1509, 1509, 1509};

    static Fixtures.Loaded tiny;
    static DecoderInput input;
    static int[] text;
    static float[] imageRows;

    @BeforeAll
    static void load() {
        tiny = Fixtures.Loaded.of("paligemma-tiny");
        Map<String, Object> json = Fixtures.goldenJson("paligemma-tiny");
        int[] ids = Fixtures.ints(json.get("input_ids"));
        int h = tiny.model().config().hiddenSize();
        try (SafetensorsFile g = Fixtures.goldenTensors("paligemma-tiny")) {
            imageRows = Arrays.copyOf(g.tensor("text_hidden_states").toFloatArray(), 256 * h);
        }
        text = Arrays.copyOfRange(ids, 256, ids.length);
        input = tiny.model().input(imageRows, 256, text);
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    GemmaModel model() {
        return tiny.model();
    }

    @Test
    void greedyGenerationStreamsEveryTokenInOrder() {
        List<int[]> seen = new ArrayList<>();
        GenerationResult r = model().generate(input, GenerationOptions.greedy(GREEDY.length),
                (i, t) -> seen.add(new int[]{i, t}), null);
        assertArrayEquals(GREEDY, r.tokenArray());
        assertEquals(StopReason.MAX_TOKENS, r.stopReason());
        assertEquals(-1, r.stopTokenId());
        assertEquals(260, r.prefixLength());
        assertEquals(GREEDY.length, seen.size());
        for (int i = 0; i < seen.size(); i++) {
            assertArrayEquals(new int[]{i, GREEDY[i]}, seen.get(i));
        }
        assertTrue(r.prefillTime().toNanos() > 0 && r.decodeTime().toNanos() > 0);
    }

    @Test
    void callerStopIdEndsGenerationAndIsNotOutput() {
        List<Integer> seen = new ArrayList<>();
        GenerationResult r = model().generate(input,
                GenerationOptions.builder().maxNewTokens(8).stopTokenIds(203).build(), (i, t) -> seen.add(t), null);
        assertEquals(List.of(747), r.tokens());
        assertEquals(List.of(747), seen);
        assertEquals(StopReason.STOP_TOKEN, r.stopReason());
        assertEquals(203, r.stopTokenId());
    }

    @Test
    void checkpointEosEndsGeneration(@TempDir Path dir) throws IOException {
        // the same weights with eos_token_id 1509, the fifth greedy token
        copyWithConfig(dir, "\"eos_token_id\": 1", "\"eos_token_id\": [1, 1509]");
        PaliGemmaConfig config = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            GemmaModel m = GemmaModel.load(ckpt, config);
            assertEquals(List.of(1, 1509), m.eosTokenIds());
            GenerationResult r = m.generate(m.input(imageRows, 256, text), GenerationOptions.greedy(8), null, null);
            assertEquals(List.of(747, 203, 203, 203), r.tokens());
            assertEquals(StopReason.EOS, r.stopReason());
            assertEquals(1509, r.stopTokenId());
        }
    }

    @Test
    void cancellationFromAnotherThreadStopsAtTheNextStep() throws Exception {
        CancellationToken cancel = new CancellationToken();
        CountDownLatch reached = new CountDownLatch(1);
        CountDownLatch cancelled = new CountDownLatch(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (GemmaSession s = model().newSession(260 + 100)) {
            Future<GenerationResult> f = pool.submit(() -> s.generate(input, GenerationOptions.greedy(100), (i, t) -> {
                if (i == 2) {
                    reached.countDown();
                    await(cancelled);
                }
            }, cancel));
            assertTrue(reached.await(30, TimeUnit.SECONDS));
            cancel.cancel();
            cancelled.countDown();
            GenerationResult r = f.get(30, TimeUnit.SECONDS);
            assertEquals(StopReason.CANCELLED, r.stopReason());
            assertEquals(List.of(747, 203, 203), r.tokens());
            // the session is reusable after a cancelled call
            assertArrayEquals(GREEDY, s.generate(input, GenerationOptions.greedy(GREEDY.length), null, null).tokenArray());
        } finally {
            pool.shutdownNow();
        }
    }

    private static void await(CountDownLatch l) {
        try {
            l.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void oneModelServesConcurrentSessions() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<GenerationResult>> runs = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                runs.add(pool.submit(() -> model().generate(input, GenerationOptions.greedy(GREEDY.length), null, null)));
            }
            for (Future<GenerationResult> f : runs) {
                assertArrayEquals(GREEDY, f.get(60, TimeUnit.SECONDS).tokenArray());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void alreadyCancelledTokenReturnsNoTokens() {
        CancellationToken cancel = new CancellationToken();
        cancel.cancel();
        GenerationResult r = model().generate(input, GenerationOptions.greedy(4), null, cancel);
        assertEquals(StopReason.CANCELLED, r.stopReason());
        assertEquals(List.of(), r.tokens());
    }

    @Test
    void elapsedDeadlineEndsGeneration() {
        GenerationResult r = model().generate(input,
                GenerationOptions.builder().maxNewTokens(4).timeout(Duration.ofNanos(1)).build(), null, null);
        assertEquals(StopReason.DEADLINE, r.stopReason());
        assertEquals(List.of(), r.tokens());
    }

    @Test
    void seededSamplingIsReproducibleAndSessionsAreReusable() {
        GenerationOptions o = GenerationOptions.builder().maxNewTokens(10).temperature(1.5).topK(50).topP(0.95).seed(123).build();
        try (GemmaSession s = model().newSession(270)) {
            GenerationResult a = s.generate(input, o, null, null);
            GenerationResult b = s.generate(input, o, null, null);
            assertEquals(a.tokens(), b.tokens());
            assertEquals(10, a.tokens().size());
            s.reset();
            assertEquals(0, s.length());
        }
    }

    @Test
    void prefillThenStepsMatchGenerate() {
        try (GemmaSession s = model().newSession(270)) {
            float[] logits = s.prefill(input);
            assertEquals(260, s.length());
            int[] got = new int[GREEDY.length];
            for (int i = 0; i < got.length; i++) {
                got[i] = Sampler.argmax(logits, logits.length);
                logits = s.step(got[i]);
            }
            assertArrayEquals(GREEDY, got);
            assertEquals(260 + GREEDY.length, s.length());
        }
    }

    @Test
    void badInputsNameTheArgument() {
        GemmaModel m = model();
        int max = m.maxPositions();
        assertEquals(8192, max);
        int[] tooLong = new int[max + 1];
        Arrays.fill(tooLong, 5);
        assertMessage("prompt", () -> m.input(null, 0, tooLong));
        int[] fits = Arrays.copyOf(tooLong, max - 3);
        DecoderInput longInput = m.input(null, 0, fits);
        assertMessage("maxNewTokens", () -> m.generate(longInput, GenerationOptions.greedy(4), null, null));
        assertMessage("textTokens[2]", () -> m.input(imageRows, 256, new int[]{2, 5, 1920, 7}));
        assertMessage("textTokens[0]", () -> m.input(imageRows, 256, new int[]{-1}));
        assertMessage("textTokens[1]", () -> m.input(imageRows, 256, new int[]{2, 1856, 7}));
        assertMessage("imageRows", () -> m.input(new float[10], 256, text));
        assertMessage("numImageRows", () -> m.input(imageRows, -1, text));
        assertMessage("textTokens", () -> m.input(null, 0, new int[0]));
        assertMessage("capacity", () -> m.newSession(max + 1));
        assertMessage("stopTokenIds", () -> m.generate(input,
                GenerationOptions.builder().maxNewTokens(2).stopTokenIds(5000).build(), null, null));
        try (GemmaSession s = m.newSession(262)) {
            assertMessage("tokenId", () -> s.step(7));
            assertMessage("maxNewTokens", () -> s.generate(input, GenerationOptions.greedy(4), null, null));
            s.prefill(input);
            assertMessage("tokenId", () -> s.step(1920));
            assertMessage("tokenId", () -> s.step(-5));
            s.step(7);
            s.step(7);
            assertMessage("tokenId", () -> s.step(7));
            s.close();
            assertMessage("session", () -> s.prefill(input));
        }
        try (GemmaSession s = m.newSession(10)) {
            assertMessage("input", () -> s.prefill(input));
        }
    }

    @Test
    void checkpointDisagreeingWithConfigIsReported(@TempDir Path root) throws IOException {
        assertCheckpointError(root.resolve("a"), "\"intermediate_size\": 160", "\"intermediate_size\": 128",
                "language_model.model.layers.0.mlp.gate_proj.weight");
        assertCheckpointError(root.resolve("b"), "\"num_hidden_layers\": 2,\n    \"num_attention_heads\": 2",
                "\"num_hidden_layers\": 1,\n    \"num_attention_heads\": 2", "num_hidden_layers = 1");
        assertCheckpointError(root.resolve("c"), "\"num_hidden_layers\": 2,\n    \"num_attention_heads\": 2",
                "\"num_hidden_layers\": 3,\n    \"num_attention_heads\": 2", "language_model.model.layers.2.input_layernorm.weight");
        assertCheckpointError(root.resolve("d"), "\"num_key_value_heads\": 1", "\"num_key_value_heads\": 2",
                "language_model.model.layers.0.self_attn.k_proj.weight");
        assertCheckpointError(root.resolve("e"), "\"vocab_size\": 1920\n  }", "\"vocab_size\": 2048\n  }",
                "language_model.model.embed_tokens.weight");
        // a Gemma 2 config over Gemma 1 weights lacks the extra norms
        assertCheckpointError(root.resolve("f"), "\"model_type\": \"gemma\"", "\"model_type\": \"gemma2\"",
                "language_model.model.layers.0.pre_feedforward_layernorm.weight");
    }

    private static void assertCheckpointError(Path dir, String from, String to, String expected) throws IOException {
        copyWithConfig(dir, from, to);
        PaliGemmaConfig config = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> GemmaModel.load(ckpt, config));
            assertTrue(e.getMessage().contains(expected), e.getMessage());
        }
    }

    private static void copyWithConfig(Path dir, String from, String to) throws IOException {
        Files.createDirectories(dir);
        Path src = Fixtures.dir("paligemma-tiny");
        String config = Files.readString(src.resolve("config.json"));
        assertTrue(config.contains(from), "fixture config contains " + from);
        Files.writeString(dir.resolve("config.json"), config.replace(from, to));
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
    }

    static void assertMessage(String argument, Executable e) {
        InvalidArgumentException ex = assertThrows(InvalidArgumentException.class, e);
        assertTrue(ex.getMessage().startsWith(argument + ":"), ex.getMessage());
    }
}
