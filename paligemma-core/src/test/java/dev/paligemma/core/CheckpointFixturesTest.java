package dev.paligemma.core;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loads every fixture checkpoint and checks names, shapes, dtypes and values. Expected values come
 * from the raw file bytes decoded by hand in this test, or were read once with numpy (literals below).
 */
class CheckpointFixturesTest {
    static final Path FIXTURES = Path.of(System.getProperty("paligemma.fixtures"));

    private static void assertCanonical(Checkpoint c) {
        for (String n : c.names()) {
            assertTrue(n.startsWith(TensorNames.VISION) || n.startsWith(TensorNames.PROJECTOR)
                    || n.startsWith(TensorNames.DECODER) || n.equals(TensorNames.LM_HEAD), n);
        }
    }

    private static double sum(Tensor t) {
        double s = 0;
        for (float f : t.toFloatArray()) {
            s += f;
        }
        return s;
    }

    @Test
    void paligemmaTinyF32() throws IOException {
        try (Checkpoint c = Checkpoint.open(FIXTURES.resolve("paligemma-tiny"))) {
            assertEquals(59, c.names().size());
            assertEquals(1, c.files().size());
            assertCanonical(c);
            Tensor embed = c.tensor("language_model.model.embed_tokens.weight");
            assertEquals(DType.F32, embed.dtype());
            assertArrayEquals(new long[] {1920, 64}, embed.shape());
            assertArrayEquals(new long[] {64, 160}, c.tensor("language_model.model.layers.0.mlp.down_proj.weight").shape());
            assertArrayEquals(new long[] {32, 3, 14, 14},
                    c.tensor("vision_tower.vision_model.embeddings.patch_embedding.weight").shape());
            assertArrayEquals(new long[] {256, 32},
                    c.tensor("vision_tower.vision_model.embeddings.position_embedding.weight").shape());
            assertArrayEquals(new long[] {64, 32}, c.tensor("multi_modal_projector.linear.weight").shape());
            for (Tensor t : c.tensors().values()) {
                assertEquals(DType.F32, t.dtype(), t.name());
            }
            // numpy: embed[0,:3] and the float64 sum of the whole tensor
            assertEquals(-0.2078523486852646f, embed.getFloat(0));
            assertEquals(0.04400400072336197f, embed.getFloat(1));
            assertEquals(-0.2689419686794281f, embed.getFloat(2));
            assertEquals(-10.261442421854639, sum(embed), 1e-9);
            Tensor plnB = c.tensor("vision_tower.vision_model.post_layernorm.bias");
            assertEquals(0.01764819212257862f, plnB.getFloat(0));
            assertEquals(0.20917346788337454, sum(plnB), 1e-9);
            // embed_tokens is the first tensor of the data area: decode the raw little-endian floats by hand
            ByteBuffer data = RawSafetensors.dataArea(c.files().get(0).path());
            float[] all = embed.toFloatArray();
            for (int i = 0; i < all.length; i++) {
                assertEquals(Float.intBitsToFloat(data.getInt(i * 4)), all[i], "element " + i);
            }
            assertEquals(1721664, c.byteSize());
            assertEquals(Map.of("format", "pt"), c.files().get(0).metadata());
        }
    }

    @Test
    void transformers5NamesAndValuesMatchHubLayout() {
        try (Checkpoint hub = Checkpoint.open(FIXTURES.resolve("paligemma-tiny"));
             Checkpoint t5 = Checkpoint.open(FIXTURES.resolve("paligemma-tiny-transformers5"))) {
            assertEquals(new TreeSet<>(hub.names()), new TreeSet<>(t5.names()));
            assertTrue(t5.files().get(0).tensors().containsKey("vision_tower.embeddings.patch_embedding.weight"));
            assertCanonical(t5);
            for (String n : hub.names()) {
                Tensor a = hub.tensor(n);
                Tensor b = t5.tensor(n);
                assertEquals(a.dtype(), b.dtype(), n);
                assertArrayEquals(a.shape(), b.shape(), n);
                assertEquals(-1, a.segment().mismatch(b.segment()), n);
            }
        }
    }

    @Test
    void paligemma2TinyBf16Sharded() throws IOException {
        try (Checkpoint c = Checkpoint.open(FIXTURES.resolve("paligemma2-tiny"))) {
            assertEquals(74, c.names().size());
            assertEquals(2, c.files().size());
            assertCanonical(c);
            for (Tensor t : c.tensors().values()) {
                assertEquals(DType.BF16, t.dtype(), t.name());
            }
            Tensor embed = c.tensor("language_model.model.embed_tokens.weight");
            assertArrayEquals(new long[] {1920, 48}, embed.shape());
            assertEquals("model-00002-of-00002.safetensors", embed.source());
            Tensor projB = c.tensor("multi_modal_projector.linear.bias");
            assertEquals("model-00001-of-00002.safetensors", projB.source());
            assertTrue(c.find("language_model.model.layers.2.pre_feedforward_layernorm.weight").isPresent());
            assertArrayEquals(new long[] {4 * 32, 48}, c.tensor("language_model.model.layers.0.self_attn.q_proj.weight").shape());
            assertArrayEquals(new long[] {2 * 32, 48}, c.tensor("language_model.model.layers.0.self_attn.k_proj.weight").shape());
            // numpy values
            assertEquals(0.0283203125f, embed.getFloat(0));
            assertEquals(-0.09423828125f, embed.getFloat(1));
            assertEquals(-0.1884765625f, embed.getFloat(2));
            assertEquals(-8.056585561484098, sum(embed), 1e-9);
            assertEquals(-0.07470703125f, projB.getFloat(0));
            assertEquals(0.29195404052734375, sum(projB), 1e-12);
            // every element: high 16 bits of a float32, decoded from the raw shorts
            ByteBuffer data = RawSafetensors.dataArea(c.files().get(1).path());
            float[] all = embed.toFloatArray();
            float[] some = new float[100];
            embed.toFloats(5000, some, 0, 100);
            for (int i = 0; i < all.length; i++) {
                float expected = RawSafetensors.bf16ToFloat(data.getShort(i * 2));
                assertEquals(expected, all[i], "element " + i);
                assertEquals(expected, embed.getFloat(i), "element " + i);
            }
            for (int i = 0; i < 100; i++) {
                assertEquals(all[5000 + i], some[i]);
            }
        }
    }

    @Test
    void paligemma2WindowF16() throws IOException {
        try (Checkpoint c = Checkpoint.open(FIXTURES.resolve("paligemma2-tiny-window"))) {
            assertEquals(63, c.names().size());
            assertCanonical(c);
            for (Tensor t : c.tensors().values()) {
                assertEquals(DType.F16, t.dtype(), t.name());
            }
            Tensor embed = c.tensor("language_model.model.embed_tokens.weight");
            assertArrayEquals(new long[] {1920, 48}, embed.shape());
            assertArrayEquals(new long[] {32, 48}, c.tensor("language_model.model.layers.1.self_attn.k_proj.weight").shape());
            assertEquals(0.127685546875f, embed.getFloat(0));
            assertEquals(0.1571044921875f, embed.getFloat(1));
            assertEquals(0.035400390625f, embed.getFloat(2));
            assertEquals(-53.141290843486786, sum(embed), 1e-9);
            Tensor norm = c.tensor("language_model.model.norm.weight");
            assertEquals(-0.1534423828125f, norm.getFloat(0));
            assertEquals(2.2470970153808594, sum(norm), 1e-12);
            // every element against a bit-level half decoder (this file holds subnormals too)
            ByteBuffer data = RawSafetensors.dataArea(c.files().get(0).path());
            float[] all = embed.toFloatArray();
            for (int i = 0; i < all.length; i++) {
                assertEquals(RawSafetensors.halfToFloat(data.getShort(i * 2)), all[i], "element " + i);
            }
        }
    }

    @Test
    void everyFixtureTensorIsDecodedLikeItsBitsSay() {
        // each tensor's float view equals a by-hand decode of its own bytes, for all fixtures
        for (String dir : new String[] {"paligemma-tiny", "paligemma2-tiny", "paligemma2-tiny-window"}) {
            try (Checkpoint c = Checkpoint.open(FIXTURES.resolve(dir))) {
                Set<String> seen = new TreeSet<>();
                for (Tensor t : c.tensors().values()) {
                    ByteBuffer b = t.segment().asByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    float[] f = t.toFloatArray();
                    for (int i = 0; i < f.length; i++) {
                        float expected = switch (t.dtype()) {
                            case F32 -> b.getFloat(i * 4);
                            case BF16 -> RawSafetensors.bf16ToFloat(b.getShort(i * 2));
                            case F16 -> RawSafetensors.halfToFloat(b.getShort(i * 2));
                            default -> throw new AssertionError(t.dtype());
                        };
                        assertEquals(expected, f[i]);
                    }
                    seen.add(t.name());
                }
                assertEquals(c.names().size(), seen.size());
            }
        }
    }
}
