package dev.paligemma.siglip;

import dev.paligemma.core.testing.FuzzHarness;
import dev.paligemma.core.testing.Mutations;
import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.config.PaliGemmaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mutated vision-tower shards of the sharded fixture (raw byte damage, biased to the header) loaded
 * through the public path a model loader takes ({@code Checkpoint.open}, {@code PaliGemmaConfig.load},
 * {@link VisionTower#load}) and run on one image: each case ends in features of the right length or a
 * {@code PaliGemmaException}. Also: a shard truncated under a loaded tower, in a forked JVM so that a
 * SIGBUS could not take the test run down with it.
 */
class VisionTowerFuzzTest {
    static final long SEED = 0x51_61_1B_00L;
    static final int CASES = 600;
    static final Path FIXTURES = Path.of(System.getProperty("paligemma.fixtures"));
    static final String SHARD1 = "model-00001-of-00002.safetensors";

    @TempDir
    Path tmp;

    static float[] pixels(int size) {
        float[] px = new float[3 * size * size];
        for (int i = 0; i < px.length; i++) {
            px[i] = (float) Math.sin(i * 0.01);
        }
        return px;
    }

    static void loadAndRun(Path dir, float[] px) {
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            VisionTower tower = VisionTower.load(ckpt, cfg.vision(), cfg.text().hiddenSize());
            float[] out = ckpt.guard(() -> tower.imageFeatures(px, 1));
            assertEquals(cfg.vision().numPatches() * cfg.text().hiddenSize(), out.length);
        }
    }

    @Test
    void mutatedVisionShard() throws Exception {
        Path base = tmp.resolve("base");
        Files.createDirectories(base);
        try (Stream<Path> s = Files.list(FIXTURES.resolve("paligemma2-tiny"))) {
            for (Path p : s.toList()) {
                if (!p.getFileName().toString().startsWith("golden")) {
                    Files.copy(p, base.resolve(p.getFileName()));
                }
            }
        }
        byte[] shard = Files.readAllBytes(base.resolve(SHARD1));
        int hot = (int) (8 + ByteBuffer.wrap(shard, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
        float[] px = pixels(224);
        try (FuzzHarness h = new FuzzHarness("vision tower shards", 5_000)) {
            for (int i = 0; i < CASES; i++) {
                long seed = SEED + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                StringBuilder what = new StringBuilder(SHARD1);
                byte[] mutated = Mutations.mutate(shard, hot, rnd, what);
                Path dir = tmp.resolve("case-" + i);
                Files.createDirectories(dir);
                try (Stream<Path> s = Files.list(base)) {
                    for (Path p : s.toList()) {
                        if (!p.getFileName().toString().equals(SHARD1)) {
                            Files.createLink(dir.resolve(p.getFileName()), p);
                        }
                    }
                }
                Files.write(dir.resolve(SHARD1), mutated);
                h.run(seed, what.toString(), dir.getFileName().toString(), () -> loadAndRun(dir, px));
                try (Stream<Path> s = Files.walk(dir)) {
                    for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
        }
    }

    /** Child JVM: loads the tower from {@code args[0]}, warms it up, truncates the vision shard, runs again. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        boolean verifyFirst = Boolean.parseBoolean(args[1]);
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        float[] px = pixels(cfg.vision().imageSize());
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            VisionTower tower = VisionTower.load(ckpt, cfg.vision(), cfg.text().hiddenSize());
            for (int i = 0; i < 20; i++) {
                tower.imageFeatures(px, 1);
            }
            try (FileChannel ch = FileChannel.open(dir.resolve(SHARD1), StandardOpenOption.WRITE)) {
                ch.truncate(4096);
            }
            try {
                if (verifyFirst) {
                    ckpt.guard(() -> tower.imageFeatures(px, 1));
                } else {
                    // no up-front check: the fault itself must be translated
                    tower.imageFeatures(px, 1);
                }
                System.out.println("RESULT no error");
            } catch (CheckpointException e) {
                System.out.println("RESULT CheckpointException " + e.getMessage());
            } catch (Throwable t) {
                System.out.println("RESULT " + t);
            }
        }
    }

    private String fork(boolean verifyFirst) throws Exception {
        Path dir = tmp.resolve("forked-" + verifyFirst);
        Files.createDirectories(dir);
        for (String n : new String[] {"config.json", SHARD1, "model-00002-of-00002.safetensors", "model.safetensors.index.json"}) {
            Files.copy(FIXTURES.resolve("paligemma2-tiny").resolve(n), dir.resolve(n));
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        // Without the up-front check only a fault in scalar code is survivable: inside C2-compiled Vector
        // API code the same fault kills the JVM (docs/reliability.md), so that case runs the scalar kernels.
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "-Dpaligemma.fixtures=" + FIXTURES, "-Dpaligemma.scalar=" + !verifyFirst,
                "-cp", System.getProperty("java.class.path"), VisionTowerFuzzTest.class.getName(), dir.toString(),
                Boolean.toString(verifyFirst)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
            String line;
            while ((line = r.readLine()) != null) {
                out.append(line).append('\n');
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child finished");
        assertEquals(0, p.exitValue(), "the child JVM must exit normally (134 would be a SIGBUS crash):\n" + out);
        return out.toString();
    }

    @Test
    void shardTruncatedUnderALoadedTowerIsACheckpointException() throws Exception {
        String checked = fork(true);
        assertTrue(checked.contains("RESULT CheckpointException") && checked.contains(SHARD1)
                && checked.contains("changed size"), checked);
    }
}
