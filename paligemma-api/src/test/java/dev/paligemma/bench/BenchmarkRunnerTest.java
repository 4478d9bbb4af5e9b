package dev.paligemma.bench;

import dev.paligemma.core.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchmarkRunnerTest {
    @TempDir
    Path tmp;

    @Test
    void runsEveryPhaseOnATinyCheckpoint() {
        Path dir = tmp.resolve("tiny-f32");
        SyntheticCheckpoint.write(dir, SyntheticCheckpointTest.TINY, DType.F32, SyntheticCheckpoint.DEFAULT_MAX_SHARD_BYTES, null);
        BenchOptions options = BenchOptions.of("paligemma-3b-224", "f32").withQuick(true).withCheckpoint(dir);
        BenchReport r = BenchmarkRunner.run(options, null, 16L << 20);
        assertEquals("tiny-f32", r.model());
        assertEquals(4 + BenchmarkRunner.TEXT_TOKENS, r.prefillTokens());
        assertEquals(8, r.decodeTokens());
        assertEquals(1, r.decodeRunsS().size(), "quick: one timed decode run");
        // every decoder tensor in F32: embedding 300x32, per layer q 32x32, k and v 16x32, o 32x32, MLP 3 x 64x32,
        // four norms of 32; final norm 32
        long perLayer = 32 * 32 + 2 * 16 * 32 + 32 * 32 + 3 * 64 * 32 + 4 * 32;
        assertEquals(4L * (300 * 32 + 2 * perLayer + 32), r.decoderWeightBytes());
        assertTrue(r.decodeTokensPerS() > 0 && Double.isFinite(r.decodeTokensPerS()));
        assertTrue(r.limits().bandwidthGbPerS() > 0 && r.limits().fmaPeakGflops() > 0);
        // probed right before and right after the timed decode runs, and the decode read against those two
        assertEquals(2, r.decodeLimitRuns().size());
        assertEquals(MachineLimits.best(r.decodeLimitRuns()).bandwidthGbPerS(), r.decodeBandwidthGbPerS());
        assertEquals(r.decodeGbPerS() / r.decodeBandwidthGbPerS(), r.decodeFractionOfBandwidth(), 1e-12);
        assertTrue(r.weightsReadGbPerS() > 0 && Double.isFinite(r.weightsReadGbPerS()));
        assertTrue(r.visionMs() > 0 && r.prefillMs() > 0 && r.loadS() > 0);
        assertTrue(r.peakRssBytes() > 0);
        // the timed steps' phases, in step order, each timed, together within the slowest step
        assertEquals(java.util.List.of("qkv", "attention", "out", "gate_up", "down", "head", "other"),
                java.util.List.copyOf(r.decodeMsByPhase().keySet()));
        r.decodeMsByPhase().forEach((phase, ms) -> assertTrue(ms > 0, phase + ": " + ms));
        double phases = r.decodeMsByPhase().values().stream().mapToDouble(Double::doubleValue).sum();
        assertTrue(phases <= r.decodeRunsS().get(0) * 1e3 / r.decodeTokens(), phases + " ms of phases per step");
    }

    @Test
    void q8QuantisesAtLoadAndCountsInt8PlusScales() {
        Path dir = tmp.resolve("tiny-bf16");
        SyntheticCheckpoint.write(dir, SyntheticCheckpointTest.TINY, DType.BF16, SyntheticCheckpoint.DEFAULT_MAX_SHARD_BYTES, null);
        BenchOptions options = BenchOptions.of("paligemma-3b-224", "q8").withQuick(true).withCheckpoint(dir)
                .withCacheDir(tmp.resolve("cache"));
        BenchReport r = BenchmarkRunner.run(options, null, 16L << 20);
        // every matrix one byte per weight plus a float16 scale per 32-wide block (one per row here);
        // norms stay BF16 (2 bytes): embedding 300x32, per layer q 32x32, k and v 16x32, o 32x32, MLP 3 x 64x32
        long perLayer = (1024 + 64) + 2 * (512 + 32) + (1024 + 64) + 3 * (2048 + 128) + 4 * 32 * 2;
        assertEquals(300 * 32 + 300 * 2 + 2 * perLayer + 32 * 2, r.decoderWeightBytes());
        assertTrue(r.decodeTokensPerS() > 0 && Double.isFinite(r.decodeTokensPerS()));
        assertTrue(java.nio.file.Files.isDirectory(tmp.resolve("cache").resolve("q8")), "the Q8 cache lives under --cache");
    }

    @Test
    void textTokensAreOrdinaryIdsAfterBos() {
        var config = dev.paligemma.core.config.PaliGemmaConfig.load(writeTiny());
        int[] ids = BenchmarkRunner.textTokens(config);
        assertEquals(BenchmarkRunner.TEXT_TOKENS, ids.length);
        assertEquals(2, ids[0]);
        for (int id : ids) {
            assertTrue(id >= 0 && id < config.imageTokenIndex(), "id " + id);
        }
    }

    private Path writeTiny() {
        Path dir = tmp.resolve("t");
        SyntheticCheckpoint.write(dir, SyntheticCheckpointTest.TINY, DType.BF16, SyntheticCheckpoint.DEFAULT_MAX_SHARD_BYTES, null);
        return dir;
    }
}
