package dev.paligemma.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quantised checkpoint view and its safetensors cache: contents, reuse, staleness, corruption. */
class Q8CacheTest {
    @TempDir
    Path tmp;

    private Path copyFixture() throws IOException {
        Path src = Path.of(System.getProperty("paligemma.fixtures"), "paligemma-tiny", "model.safetensors");
        Path dir = Files.createDirectories(tmp.resolve("ckpt"));
        Files.copy(src, dir.resolve("model.safetensors"));
        return dir;
    }

    private static Map<String, float[]> values(Checkpoint c) {
        Map<String, float[]> out = new TreeMap<>();
        for (Map.Entry<String, Tensor> e : c.tensors().entrySet()) {
            out.put(e.getKey(), e.getValue().toFloatArray());
        }
        return out;
    }

    @Test
    void quantisedViewCachesAndReloadsBitIdentical() throws IOException {
        Path dir = copyFixture();
        Path root = tmp.resolve("cache");
        Map<String, float[]> first;
        Path file;
        FileTime written;
        try (Checkpoint plain = Checkpoint.open(dir); Arena arena = Arena.ofConfined()) {
            Checkpoint q = plain.quantized(root);
            file = q.q8CacheFile(root);
            assertTrue(Files.isRegularFile(file), "cache written to " + file);
            written = Files.getLastModifiedTime(file);
            int quantised = 0;
            for (Map.Entry<String, Tensor> e : q.tensors().entrySet()) {
                Tensor orig = plain.tensor(e.getKey());
                Tensor t = e.getValue();
                boolean matrix = orig.rank() == 2 && !e.getKey().contains("position_embedding");
                if (!matrix) {
                    assertSame(orig, t, e.getKey() + " stays as stored");
                    continue;
                }
                quantised++;
                assertEquals(DType.Q8, t.dtype(), e.getKey());
                assertArrayEquals(orig.shape(), t.shape());
                // the cached copy equals quantising in memory, and stays within half a scale step of the weights
                assertArrayEquals(Q8.quantize(orig, arena).toFloatArray(), t.toFloatArray(), e.getKey());
                float[] w = orig.toFloatArray();
                float[] d = t.toFloatArray();
                long k = t.dim(1);
                for (int i = 0; i < w.length; i++) {
                    float s = Float.float16ToFloat(t.scales().getAtIndex(Tensor.I16, (i / k) * Q8.blocks(k) + (i % k) / 32));
                    assertTrue(Math.abs(w[i] - d[i]) <= s / 2, e.getKey() + "[" + i + "]");
                }
            }
            assertTrue(quantised >= 10, "matrices quantised: " + quantised);
            assertTrue(q.tensor("vision_tower.vision_model.embeddings.position_embedding.weight").dtype() != DType.Q8);
            first = values(q);
            SafetensorsFile f = SafetensorsFile.open(file);
            try (f) {
                assertEquals("paligemma-java-q8", f.metadata().get("format"));
                assertEquals("32", f.metadata().get("block"));
                assertTrue(f.metadata().get("sources").startsWith("model.safetensors:"), f.metadata().toString());
            }
            q.close();
        }
        try (Checkpoint q = Checkpoint.open(dir).quantized(root)) {
            assertEquals(written, Files.getLastModifiedTime(file), "valid cache reused, not rewritten");
            Map<String, float[]> again = values(q);
            assertEquals(first.keySet(), again.keySet());
            for (String n : first.keySet()) {
                assertArrayEquals(first.get(n), again.get(n), n);
            }
        }
    }

    @Test
    void staleOrCorruptCacheIsRegenerated() throws IOException {
        Path dir = copyFixture();
        Path root = tmp.resolve("cache");
        Path file;
        Map<String, float[]> first;
        try (Checkpoint q = Checkpoint.open(dir).quantized(root)) {
            file = q.q8CacheFile(root);
            first = values(q);
        }
        String before;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            before = f.metadata().get("sources");
        }
        // the weights file is touched: its recorded modification time no longer matches
        Path weights = dir.resolve("model.safetensors");
        Files.setLastModifiedTime(weights, FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() + 5_000));
        try (Checkpoint q = Checkpoint.open(dir).quantized(root)) {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertNotEquals(before, f.metadata().get("sources"), "cache rewritten with the new record");
            }
            Map<String, float[]> again = values(q);
            for (String n : first.keySet()) {
                assertArrayEquals(first.get(n), again.get(n), n);
            }
        }
        // a cache of another format version is replaced, not trusted
        byte[] bytes = Files.readAllBytes(file);
        String header = new String(bytes, 8, Math.min(bytes.length - 8, 4096), java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = header.indexOf("\"version\":\"" + Q8Cache.VERSION + "\"");
        assertTrue(at >= 0, header);
        bytes[8 + at + "\"version\":\"".length()] = '0';
        Files.write(file, bytes);
        try (Checkpoint q = Checkpoint.open(dir).quantized(root)) {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(Q8Cache.VERSION, f.metadata().get("version"), "other version rewritten");
            }
            assertArrayEquals(first.get("language_model.model.embed_tokens.weight"),
                    q.tensor("language_model.model.embed_tokens.weight").toFloatArray());
        }
        // a truncated cache file is replaced, not trusted
        Files.write(file, new byte[] {1, 2, 3});
        try (Checkpoint q = Checkpoint.open(dir).quantized(root)) {
            assertTrue(Files.size(file) > 1000);
            assertArrayEquals(first.get("language_model.model.embed_tokens.weight"),
                    q.tensor("language_model.model.embed_tokens.weight").toFloatArray());
        }
    }

    @Test
    void unwritableCacheQuantisesInMemory() throws IOException {
        Path dir = copyFixture();
        Path blocker = Files.writeString(tmp.resolve("not-a-dir"), "x");
        try (Checkpoint q = Checkpoint.open(dir).quantized(blocker.resolve("sub"))) {
            assertEquals(DType.Q8, q.tensor("language_model.model.layers.0.mlp.down_proj.weight").dtype());
        }
    }
}
