package dev.paligemma.bench;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.DType;
import dev.paligemma.core.Tensor;
import dev.paligemma.core.TensorNames;
import dev.paligemma.core.config.PaliGemmaConfig;
import dev.paligemma.core.config.PreprocessorConfig;
import dev.paligemma.gemma.GemmaModel;
import dev.paligemma.siglip.VisionTower;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticCheckpointTest {
    /** A few layers of width 32: every code path of the real shapes, written in milliseconds. */
    static final SyntheticSpec TINY = new SyntheticSpec("tiny", 2, 32, 48, 2, 28, 14,
            "gemma2", 2, 32, 2, 1, 16, 64, 300, 256);

    @TempDir
    Path tmp;

    @Test
    void tinyCheckpointIsAcceptedByTheRealLoaders() {
        Path dir = tmp.resolve("tiny-bf16");
        SyntheticCheckpoint.write(dir, TINY, DType.BF16, SyntheticCheckpoint.DEFAULT_MAX_SHARD_BYTES, null);
        assertTrue(Files.isRegularFile(dir.resolve(Checkpoint.SINGLE_FILE)));
        assertFalse(Files.exists(dir.resolve(Checkpoint.INDEX_FILE)));

        PaliGemmaConfig config = PaliGemmaConfig.load(dir);
        assertEquals("gemma2", config.text().modelType());
        assertEquals(2, config.text().numHiddenLayers());
        assertEquals(32, config.text().hiddenSize());
        assertEquals(2, config.text().numAttentionHeads());
        assertEquals(1, config.text().numKeyValueHeads());
        assertEquals(16, config.text().headDim());
        assertEquals(64, config.text().intermediateSize());
        assertEquals(300, config.text().vocabSize());
        assertEquals(50.0, config.text().attnLogitSoftcapping());
        assertEquals(30.0, config.text().finalLogitSoftcapping());
        assertEquals(4096, config.text().slidingWindow());
        assertEquals(256, config.text().queryPreAttnScalar());
        assertEquals(256, config.imageTokenIndex());
        assertEquals(2, config.vision().numHiddenLayers());
        assertEquals(32, config.vision().hiddenSize());
        assertEquals(48, config.vision().intermediateSize());
        assertEquals(28, config.vision().imageSize());
        assertEquals(14, config.vision().patchSize());
        assertEquals(4, config.imageTokens());
        assertEquals(32, config.vision().projectionDim());
        assertEquals(28, PreprocessorConfig.load(dir, 224).height());

        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            VisionTower vision = VisionTower.load(ckpt, config.vision(), config.text().hiddenSize());
            GemmaModel decoder = GemmaModel.load(ckpt, config);
            assertEquals(32, vision.projector().outputSize());
            assertEquals(2, decoder.config().numHiddenLayers());
            Tensor embed = ckpt.tensor(TensorNames.DECODER + "embed_tokens.weight");
            assertEquals(DType.BF16, embed.dtype());
            assertArrayEquals(new long[] {300, 32}, embed.shape());
            assertArrayEquals(new long[] {48, 32},
                    ckpt.tensor(TensorNames.VISION + "encoder.layers.1.mlp.fc1.weight").shape());
            assertArrayEquals(new long[] {32, 3, 14, 14},
                    ckpt.tensor(TensorNames.VISION + "embeddings.patch_embedding.weight").shape());
            assertArrayEquals(new long[] {16, 32},
                    ckpt.tensor(TensorNames.DECODER + "layers.1.self_attn.k_proj.weight").shape());
            assertTrue(ckpt.find(TensorNames.LM_HEAD).isEmpty(), "output head is tied, as on the hub");

            // N(0, 0.02) weights: mean and standard deviation of 9600 draws within a few standard errors
            float[] e = embed.toFloatArray();
            double sum = 0;
            double sq = 0;
            for (float v : e) {
                sum += v;
                sq += v * v;
            }
            double mean = sum / e.length;
            double std = Math.sqrt(sq / e.length - mean * mean);
            assertEquals(0.0, mean, 0.001);
            assertEquals(0.02, std, 0.001);
            // LayerNorm scales multiply directly, so they sit near 1; Gemma's (1 + w) norms near 0
            float[] ln = ckpt.tensor(TensorNames.VISION + "encoder.layers.0.layer_norm1.weight").toFloatArray();
            for (float v : ln) {
                assertEquals(1.0, v, 0.1);
            }
            for (float v : ckpt.tensor(TensorNames.DECODER + "norm.weight").toFloatArray()) {
                assertEquals(0.0, v, 0.1);
            }
        }
    }

    @Test
    void largeCheckpointsAreShardedWithAnIndexAndTheSameValues() throws Exception {
        Path single = tmp.resolve("single");
        Path sharded = tmp.resolve("sharded");
        SyntheticCheckpoint.write(single, TINY, DType.F32, SyntheticCheckpoint.DEFAULT_MAX_SHARD_BYTES, null);
        SyntheticCheckpoint.write(sharded, TINY, DType.F32, 40_000, null);
        assertFalse(Files.exists(sharded.resolve(Checkpoint.SINGLE_FILE)));
        assertTrue(Files.isRegularFile(sharded.resolve(Checkpoint.INDEX_FILE)));
        long shards;
        try (Stream<Path> files = Files.list(sharded)) {
            shards = files.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count();
        }
        assertTrue(shards > 2, "expected several shards, got " + shards);
        try (Checkpoint a = Checkpoint.open(single); Checkpoint b = Checkpoint.open(sharded)) {
            assertEquals(a.names(), b.names());
            assertEquals(shards, b.files().size());
            for (String name : a.names()) {
                assertArrayEquals(a.tensor(name).toFloatArray(), b.tensor(name).toFloatArray(), name);
            }
            PaliGemmaConfig config = PaliGemmaConfig.load(sharded);
            VisionTower.load(b, config.vision(), config.text().hiddenSize());
            GemmaModel.load(b, config);
        }
    }

    @Test
    void cacheEntryIsReusedWhenCompleteAndRewrittenOtherwise() throws Exception {
        Path root = tmp.resolve("cache");
        Path dir = SyntheticCheckpoint.ensure(root, TINY, DType.BF16, null);
        assertEquals(root.resolve("tiny-bf16"), dir);
        assertTrue(SyntheticCheckpoint.isComplete(dir));
        assertEquals("generator=" + SyntheticCheckpoint.VERSION + "\n",
                Files.readString(dir.resolve(SyntheticCheckpoint.MARKER)));

        Path sentinel = dir.resolve("sentinel");
        Files.writeString(sentinel, "x");
        SyntheticCheckpoint.ensure(root, TINY, DType.BF16, null);
        assertTrue(Files.exists(sentinel), "a complete entry must be reused, not rewritten");

        // a half-written entry (no marker, truncated weights) is regenerated from scratch
        Files.delete(dir.resolve(SyntheticCheckpoint.MARKER));
        Files.write(dir.resolve(Checkpoint.SINGLE_FILE), new byte[] {1, 2, 3});
        assertFalse(SyntheticCheckpoint.isComplete(dir));
        SyntheticCheckpoint.ensure(root, TINY, DType.BF16, null);
        assertFalse(Files.exists(sentinel));
        assertTrue(SyntheticCheckpoint.isComplete(dir));
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(300 * 32, c.tensor(TensorNames.DECODER + "embed_tokens.weight").size());
        }

        // an entry from another generator version is regenerated too
        Files.writeString(dir.resolve(SyntheticCheckpoint.MARKER), "generator=0\n");
        Files.writeString(sentinel, "x");
        assertFalse(SyntheticCheckpoint.isComplete(dir));
        SyntheticCheckpoint.ensure(root, TINY, DType.BF16, null);
        assertFalse(Files.exists(sentinel));
        assertTrue(SyntheticCheckpoint.isComplete(dir));
    }

    @Test
    void generationIsDeterministic() {
        float[] a = new float[1000];
        float[] b = new float[1000];
        SyntheticCheckpoint.fill(a, a.length, 7, 3, SyntheticSpec.Init.NORMAL);
        SyntheticCheckpoint.fill(b, b.length, 7, 3, SyntheticSpec.Init.NORMAL);
        assertArrayEquals(a, b);
        SyntheticCheckpoint.fill(b, b.length, 7, 4, SyntheticSpec.Init.NORMAL);
        assertFalse(java.util.Arrays.equals(a, b), "chunks must differ");
    }

    @Test
    void realPresetsHaveTheRealShapes() {
        SyntheticSpec pg1 = SyntheticSpec.named("paligemma-3b-224");
        assertEquals(256, pg1.numPatches());
        assertEquals(18, pg1.textLayers());
        SyntheticSpec pg2 = SyntheticSpec.named("paligemma2-3b-448");
        assertEquals(1024, pg2.numPatches());
        assertEquals(26, pg2.textLayers());
        assertEquals(2304, pg2.textHidden());
        // hand-computed from the shapes, matching the published ~2.51 B (Gemma 2B with PaliGemma's 257216-row
        // vocabulary), ~2.61 B (Gemma 2 2B) and ~0.41 B (SigLIP So400m without head)
        assertEquals(2_508_662_784L, decoderParams(pg1));
        assertEquals(2_617_143_552L, decoderParams(SyntheticSpec.named("paligemma2-3b-224")));
        long vision = 0;
        for (SyntheticSpec.TensorSpec t : pg1.tensors()) {
            if (t.name().startsWith(TensorNames.VISION)) {
                vision += t.elements();
            }
        }
        assertEquals(412_442_352L, vision);
    }

    private static long decoderParams(SyntheticSpec s) {
        long n = 0;
        for (SyntheticSpec.TensorSpec t : s.tensors()) {
            if (t.name().startsWith(TensorNames.DECODER)) {
                n += t.elements();
            }
        }
        return n;
    }
}
