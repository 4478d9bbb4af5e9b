package dev.paligemma.core.config;

import dev.paligemma.core.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Expected values are the fixture configs' own numbers (fixtures/README.md) and transformers' defaults. */
class PaliGemmaConfigTest {
    static final Path FIXTURES = Path.of(System.getProperty("paligemma.fixtures"));

    @TempDir
    Path dir;

    private static final VisionConfig TINY_VISION = new VisionConfig(32, 72, 2, 2, 224, 14, 3, 1e-6, 64);

    @Test
    void paligemmaTiny() {
        PaliGemmaConfig c = PaliGemmaConfig.load(FIXTURES.resolve("paligemma-tiny"));
        TextConfig t = c.text();
        assertEquals(new TextConfig("gemma", 64, 160, 2, 2, 1, 256, 1e-6, 10000.0, "gelu_pytorch_tanh", 1920, 8192,
                256, 0, 0, 0), t);
        assertFalse(t.isGemma2());
        assertEquals(TINY_VISION, c.vision());
        assertEquals(256, c.imageTokens());
        assertEquals(1856, c.imageTokenIndex());
        assertEquals(2, c.bosTokenId());
        assertEquals(0, c.padTokenId());
        assertEquals(List.of(1), c.eosTokenIds());
        assertEquals("float32", c.dtype());
    }

    @Test
    void transformers5FullConfigMatchesSparseOne() {
        PaliGemmaConfig sparse = PaliGemmaConfig.load(FIXTURES.resolve("paligemma-tiny"));
        PaliGemmaConfig full = PaliGemmaConfig.load(FIXTURES.resolve("paligemma-tiny-transformers5"));
        assertEquals(sparse.text(), full.text());
        assertEquals(sparse.vision(), full.vision());
        assertEquals(sparse.eosTokenIds(), full.eosTokenIds());
        assertEquals("float32", full.dtype());
    }

    @Test
    void paligemma2Tiny() {
        PaliGemmaConfig c = PaliGemmaConfig.load(FIXTURES.resolve("paligemma2-tiny"));
        assertEquals(new TextConfig("gemma2", 48, 128, 3, 4, 2, 32, 1e-6, 10000.0, "gelu_pytorch_tanh", 1920, 8192,
                24, 5.0, 3.0, 4096), c.text());
        assertTrue(c.text().isGemma2());
        assertEquals(new VisionConfig(32, 72, 2, 2, 224, 14, 3, 1e-6, 48), c.vision());
        assertEquals("bfloat16", c.dtype());
        assertEquals(List.of(1), c.eosTokenIds());
    }

    @Test
    void paligemma2WindowDefaultsCaps() {
        PaliGemmaConfig c = PaliGemmaConfig.load(FIXTURES.resolve("paligemma2-tiny-window"));
        TextConfig t = c.text();
        assertEquals(2, t.numHiddenLayers());
        assertEquals(1, t.numKeyValueHeads());
        assertEquals(32.0, t.queryPreAttnScalar());
        assertEquals(50.0, t.attnLogitSoftcapping());
        assertEquals(30.0, t.finalLogitSoftcapping());
        assertEquals(128, t.slidingWindow());
        assertEquals("float16", c.dtype());
    }

    private Path withConfig(String json) throws IOException {
        Files.writeString(dir.resolve("config.json"), json);
        return dir;
    }

    private String fixtureConfig(String name) throws IOException {
        return Files.readString(FIXTURES.resolve(name).resolve("config.json"));
    }

    private ConfigException badConfig(String json, String... mustMention) throws IOException {
        Path d = withConfig(json);
        ConfigException e = assertThrows(ConfigException.class, () -> PaliGemmaConfig.load(d));
        assertTrue(e.getMessage().contains(d.resolve("config.json").toString()), e.getMessage());
        for (String m : mustMention) {
            assertTrue(e.getMessage().contains(m), "'" + m + "' not in: " + e.getMessage());
        }
        return e;
    }

    @Test
    void generationConfigEosListMerges() throws IOException {
        withConfig(fixtureConfig("paligemma2-tiny"));
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [1, 107], \"bos_token_id\": 2}");
        assertEquals(List.of(1, 107), PaliGemmaConfig.load(dir).eosTokenIds());
    }

    @Test
    void eosAsNumberOrList() throws IOException {
        String base = fixtureConfig("paligemma-tiny");
        assertEquals(List.of(1, 107), PaliGemmaConfig.load(withConfig(base.replace("\"eos_token_id\": 1", "\"eos_token_id\": [1, 107]"))).eosTokenIds());
        assertEquals(List.of(5), PaliGemmaConfig.load(withConfig(base.replace("\"eos_token_id\": 1", "\"eos_token_id\": 5"))).eosTokenIds());
        assertEquals(List.of(1), PaliGemmaConfig.load(withConfig(base.replace("\"eos_token_id\": 1,", ""))).eosTokenIds());
        badConfig(base.replace("\"eos_token_id\": 1", "\"eos_token_id\": [1, \"x\"]"), "eos_token_id");
        badConfig(base.replace("\"eos_token_id\": 1", "\"eos_token_id\": 5000"), "eos_token_id", "5000");
    }

    @Test
    void ropeParametersTheta() throws IOException {
        String base = fixtureConfig("paligemma-tiny");
        String c = base.replace("\"model_type\": \"gemma\",", "\"model_type\": \"gemma\", \"rope_parameters\": {\"rope_theta\": 500000.0, \"rope_type\": \"default\"},");
        assertEquals(500000.0, PaliGemmaConfig.load(withConfig(c)).text().ropeTheta());
        String old = base.replace("\"model_type\": \"gemma\",", "\"model_type\": \"gemma\", \"rope_theta\": 20000,");
        assertEquals(20000.0, PaliGemmaConfig.load(withConfig(old)).text().ropeTheta());
        badConfig(base.replace("\"model_type\": \"gemma\",", "\"model_type\": \"gemma\", \"rope_parameters\": {\"rope_type\": \"linear\"},"),
                "rope_type");
    }

    @Test
    void unknownModelTypes() throws IOException {
        String base = fixtureConfig("paligemma-tiny");
        badConfig(base.replace("\"model_type\": \"paligemma\"", "\"model_type\": \"llava\""), "'model_type'", "llava");
        badConfig(base.replace("\"model_type\": \"gemma\"", "\"model_type\": \"gemma3\""), "'text_config.model_type'", "gemma3");
        badConfig(base.replace("\"model_type\": \"siglip_vision_model\"", "\"model_type\": \"clip_vision_model\""),
                "'vision_config.model_type'");
    }

    @Test
    void missingRequiredKeyAndBadValues() throws IOException {
        String base = fixtureConfig("paligemma-tiny");
        badConfig(base.replace("\"model_type\": \"paligemma\",", ""), "'model_type'", "required");
        badConfig(base.replace("\"num_attention_heads\": 2,\n    \"num_key_value_heads\": 1", "\"num_attention_heads\": 3,\n    \"num_key_value_heads\": 2"),
                "num_key_value_heads");
        badConfig(base.replace("\"hidden_size\": 64,\n    \"intermediate_size\": 160", "\"hidden_size\": \"64\",\n    \"intermediate_size\": 160"),
                "'text_config.hidden_size'");
        badConfig(base.replace("\"text_config\": {", "\"text_config\": { \"head_dim\": 33,"), "head_dim");
        badConfig("{\"model_type\": \"paligemma\", \"text_config\": 3}", "'text_config'");
        badConfig("[1]", "not a JSON object");
        badConfig("{\"model_type\": ", "JSON");
        ConfigException none = assertThrows(ConfigException.class, () -> PaliGemmaConfig.load(dir.resolve("absent")));
        assertTrue(none.getMessage().contains("config.json"));
    }

    @Test
    void projectionDimMustBeTheDecoderWidth() throws IOException {
        // found by FacadeFuzzTest: this used to pass the config and fail later in VisionTower.load, as a
        // CheckpointException naming only the directory
        String v = "\"vision_config\": {\"model_type\": \"siglip_vision_model\", \"hidden_size\": 32, \"intermediate_size\": 72,"
                + "\"num_attention_heads\": 2, \"num_hidden_layers\": 2, \"patch_size\": 14, \"projection_dim\": 48}";
        String t = "\"text_config\": {\"model_type\": \"gemma2\", \"hidden_size\": 64, \"intermediate_size\": 128,"
                + "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"head_dim\": 32, \"vocab_size\": 300}";
        ConfigException e = assertThrows(ConfigException.class,
                () -> PaliGemmaConfig.load(withConfig("{\"model_type\": \"paligemma\", " + t + ", " + v + "}")));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("vision_config.projection_dim")
                && e.getMessage().contains("48") && e.getMessage().contains("64"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> PaliGemmaConfig.load(withConfig(
                "{\"model_type\": \"paligemma\", \"projection_dim\": 48, " + t + ", " + v + "}")));
        assertTrue(e.getMessage().contains("'projection_dim'"), e.getMessage());
    }

    @Test
    void transformersDefaultsForOmittedKeys() throws IOException {
        // PaliGemma 2 3B's hub text_config omits num_attention_heads (Gemma2Config default 8) and the caps
        String c = "{\"model_type\": \"paligemma\", \"projection_dim\": 2304,"
                + "\"text_config\": {\"model_type\": \"gemma2\", \"hidden_size\": 2304, \"intermediate_size\": 9216,"
                + "\"num_hidden_layers\": 26, \"num_key_value_heads\": 4, \"vocab_size\": 257216},"
                + "\"vision_config\": {\"model_type\": \"siglip_vision_model\", \"hidden_size\": 1152, \"intermediate_size\": 4304,"
                + "\"num_attention_heads\": 16, \"num_hidden_layers\": 27, \"patch_size\": 14, \"projection_dim\": 999}}";
        PaliGemmaConfig p = PaliGemmaConfig.load(withConfig(c));
        TextConfig t = p.text();
        assertEquals(8, t.numAttentionHeads());
        assertEquals(256, t.headDim());
        assertEquals(256.0, t.queryPreAttnScalar());
        assertEquals(50.0, t.attnLogitSoftcapping());
        assertEquals(30.0, t.finalLogitSoftcapping());
        assertEquals(4096, t.slidingWindow());
        assertEquals(8192, t.maxPositionEmbeddings());
        assertEquals(2304, p.vision().projectionDim(), "top-level projection_dim wins, as in transformers");
        assertEquals(224, p.vision().imageSize());
        assertEquals(1e-6, p.vision().layerNormEps());
        assertEquals(256000, p.imageTokenIndex());
        assertEquals(List.of(1), p.eosTokenIds());
        assertEquals(2, p.bosTokenId());

        // bare sub-configs get GemmaConfig / SiglipVisionConfig defaults
        PaliGemmaConfig bare = PaliGemmaConfig.load(withConfig(
                "{\"model_type\": \"paligemma\", \"vocab_size\": 300000, \"text_config\": {}, \"vision_config\": {}}"));
        assertEquals(new TextConfig("gemma", 3072, 24576, 28, 16, 16, 256, 1e-6, 10000.0, "gelu_pytorch_tanh", 300000, 8192,
                256, 0, 0, 0), bare.text());
        assertEquals(new VisionConfig(768, 3072, 12, 12, 224, 16, 3, 1e-6, 3072), bare.vision());
        PaliGemmaConfig gemma2 = PaliGemmaConfig.load(withConfig(
                "{\"model_type\": \"paligemma\", \"text_config\": {\"model_type\": \"gemma2\", \"sliding_window\": null,"
                        + "\"attn_logit_softcapping\": null}}"));
        assertEquals(new TextConfig("gemma2", 2304, 9216, 26, 8, 4, 256, 1e-6, 10000.0, "gelu_pytorch_tanh", 257152, 8192,
                256, 0, 30.0, 0), gemma2.text());
        badConfig("{\"model_type\": \"paligemma\", \"text_config\": {\"model_type\": \"gemma2\", \"sliding_window\": 12.5}}",
                "sliding_window");
    }

    @Test
    void preprocessorFixturesAndDefaults() throws IOException {
        for (String name : new String[] {"paligemma-tiny", "paligemma-tiny-transformers5", "paligemma2-tiny", "paligemma2-tiny-window"}) {
            PreprocessorConfig p = PreprocessorConfig.load(FIXTURES.resolve(name), 448);
            assertEquals(224, p.height(), name);
            assertEquals(224, p.width(), name);
            assertEquals(3, p.resample());
            assertTrue(p.doResize() && p.doRescale() && p.doNormalize());
            assertEquals(0.00392156862745098, p.rescaleFactor());
            assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, p.imageMean());
            assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, p.imageStd());
            assertEquals(256, p.imageSeqLength());
        }
        PreprocessorConfig d = PreprocessorConfig.load(dir, 448);
        assertEquals(448, d.height());
        assertEquals(3, d.resample());
        assertEquals(1 / 255.0, d.rescaleFactor());
        assertEquals(1024, d.imageSeqLength());
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, d.imageStd());

        Files.writeString(dir.resolve(PreprocessorConfig.FILE), "{\"resample\": 0}");
        ConfigException e = assertThrows(ConfigException.class, () -> PreprocessorConfig.load(dir, 224));
        assertTrue(e.getMessage().contains("'resample'") && e.getMessage().contains(PreprocessorConfig.FILE), e.getMessage());
        Files.writeString(dir.resolve(PreprocessorConfig.FILE), "{\"image_std\": [0.5, 0, 0.5]}");
        assertThrows(ConfigException.class, () -> PreprocessorConfig.load(dir, 224));
        Files.writeString(dir.resolve(PreprocessorConfig.FILE), "{\"size\": {\"height\": 224, \"width\": 448}}");
        assertThrows(ConfigException.class, () -> PreprocessorConfig.load(dir, 224));
        Files.writeString(dir.resolve(PreprocessorConfig.FILE), "{\"size\": {\"height\": 896, \"width\": 896}, \"image_mean\": 0.25}");
        PreprocessorConfig big = PreprocessorConfig.load(dir, 224);
        assertEquals(896, big.width());
        assertEquals(4096, big.imageSeqLength());
        assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f}, big.imageMean());
    }
}
