package dev.paligemma;

import dev.paligemma.core.PaliGemmaException;
import dev.paligemma.gemma.CancellationToken;
import dev.paligemma.gemma.GenerationOptions;
import dev.paligemma.gemma.StopReason;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One model shared by many threads; close, cancellation and deadlines during generation. */
class ConcurrencyTest {
    static final List<String> PROMPTS = List.of("caption en", "caption de", "ocr", "answer en what is this",
            "detect cat ; dog", "segment car", "describe the scene", "answer en how many");

    @Test
    void eightThreadsGetExactlyWhatEachGetsAlone() throws Exception {
        Golden g = Golden.of("paligemma2-tiny");
        try (PaliGemma model = PaliGemma.load(g.dir()); ExecutorService pool = Executors.newFixedThreadPool(8)) {
            ImageEmbedding image = model.embedPixels(g.pixelValues(), 1);
            List<List<float[]>> aloneLogits = new ArrayList<>();
            List<Generation> alone = new ArrayList<>();
            for (String p : PROMPTS) {
                List<float[]> steps = new ArrayList<>();
                alone.add(model.generate(image, p, GenerationOptions.greedy(6), null, null, (s, l) -> steps.add(l.clone())));
                aloneLogits.add(steps);
            }
            for (int round = 0; round < 3; round++) {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Object[]>> futures = new ArrayList<>();
                for (String p : PROMPTS) {
                    futures.add(pool.submit(() -> {
                        start.await();
                        List<float[]> steps = new ArrayList<>();
                        // each thread embeds the image itself too, so the vision tower runs concurrently as well
                        Generation r = model.generate(model.embedPixels(g.pixelValues(), 1), p, GenerationOptions.greedy(6),
                                null, null, (s, l) -> steps.add(l.clone()));
                        return new Object[] {r, steps};
                    }));
                }
                start.countDown();
                for (int i = 0; i < PROMPTS.size(); i++) {
                    Object[] got = futures.get(i).get(60, TimeUnit.SECONDS);
                    Generation r = (Generation) got[0];
                    assertEquals(alone.get(i).tokenIds(), r.tokenIds(), PROMPTS.get(i));
                    assertEquals(alone.get(i).text(), r.text(), PROMPTS.get(i));
                    @SuppressWarnings("unchecked")
                    List<float[]> steps = (List<float[]>) got[1];
                    for (int s = 0; s < steps.size(); s++) {
                        assertTrue(java.util.Arrays.equals(aloneLogits.get(i).get(s), steps.get(s)),
                                PROMPTS.get(i) + ": logits of step " + s + " must be bit-identical to the single-thread run");
                    }
                }
            }
        }
    }

    @Test
    void closeDuringGenerationFailsItCleanly() throws Exception {
        Golden g = Golden.of("paligemma-tiny");
        PaliGemma model = PaliGemma.load(g.dir());
        ImageEmbedding image = model.embedPixels(g.pixelValues(), 1);
        CountDownLatch firstToken = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                model.generate(image, "caption en", GenerationOptions.greedy(4000), (id, text) -> firstToken.countDown(), null);
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        assertTrue(firstToken.await(30, TimeUnit.SECONDS));
        long t0 = System.nanoTime();
        model.close();
        t.join(30_000);
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "close returns once the generation has stopped");
        assertTrue(failure.get() instanceof PaliGemmaException, "got " + failure.get());
        assertTrue(failure.get().getMessage().contains("closed"), failure.get().getMessage());
        assertThrows(PaliGemmaException.class, () -> model.embedPixels(g.pixelValues(), 1));
        model.close(); // idempotent
    }

    @Test
    void cancellationFromAnotherThreadAndDeadline() throws Exception {
        Golden g = Golden.of("paligemma-tiny");
        try (PaliGemma model = PaliGemma.load(g.dir())) {
            ImageEmbedding image = model.embedPixels(g.pixelValues(), 1);
            CancellationToken cancel = new CancellationToken();
            List<Integer> seen = new ArrayList<>();
            Generation r = model.generate(image, "caption en", GenerationOptions.greedy(4000), (id, text) -> {
                seen.add(id);
                if (seen.size() == 5) {
                    Thread other = new Thread(cancel::cancel);
                    other.start();
                    try {
                        other.join();
                    } catch (InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                }
            }, cancel);
            assertEquals(StopReason.CANCELLED, r.stopReason());
            assertEquals(5, r.tokenIds().size());
            Generation d = model.generate(image, "caption en",
                    GenerationOptions.greedy(4000).toBuilder().timeout(Duration.ofMillis(300)).build());
            assertEquals(StopReason.DEADLINE, d.stopReason());
            assertTrue(d.tokenIds().size() < 4000);
        }
    }

    @Test
    void loadingAndClosingFiftyTimesLeavesNoMapping() throws Exception {
        Path dir = Golden.FIXTURES.resolve("paligemma2-tiny");
        Golden g = Golden.of("paligemma2-tiny");
        for (int i = 0; i < 50; i++) {
            try (PaliGemma model = PaliGemma.load(dir)) {
                model.generate(model.embedPixels(g.pixelValues(), 1), "caption en", GenerationOptions.greedy(2));
            }
        }
        String maps = Files.readString(Path.of("/proc/self/maps"));
        String shard = dir.resolve("model-00001-of-00002.safetensors").toRealPath().toString();
        assertTrue(!maps.contains(shard), "every mapping of the weights is released on close");
    }
}
