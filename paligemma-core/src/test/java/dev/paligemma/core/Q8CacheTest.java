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

    /** The scale of Q8 element (row, col), from the raw scales in the layout {@link Tensor#panelLength} documents. */
    private static float scaleOf(Tensor t, long row, long col) {
        long kc = t.panelLength();
        long nbc = Q8.blocks(kc);
        // rows in groups of four interleaved block by block when row-major and rows and blocks allow
        long g = t.dim(0) % 4 == 0 && kc == t.dim(1) && kc % 32 == 0 ? 4 : 1;
        long at = (col / kc) * t.dim(0) * nbc + (row / g) * g * nbc + (col % kc) / 32 * g + row % g;
        return Float.float16ToFloat(t.scales().getAtIndex(Tensor.I16, at));
    }

    /**
     * A matrix long enough for column panels (k = 9216: three of 3072) is stored panel by panel under the
     * shapes that say so, and maps back to the tensor quantising in memory gives: same panels, same values.
     */
    @Test
    void panelledMatrixIsStoredInItsPanels() {
        int m = 5, k = 9216;
        float[] w = new float[m * k];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * Math.pow(10, -2 + (i / 32) % 3));
        }
        Tensor src = Tensor.ofFloats("language_model.model.layers.0.mlp.down_proj.weight", new long[] {m, k}, w);
        Tensor small = Tensor.ofFloats("small.weight", new long[] {3, 64}, java.util.Arrays.copyOf(w, 192));
        Map<String, Tensor> selected = new java.util.LinkedHashMap<>();
        selected.put(src.name(), src);
        selected.put(small.name(), small);
        Path file = tmp.resolve("q8").resolve(Q8Cache.FILE);
        try (Arena arena = Arena.ofConfined()) {
            Q8Cache.Loaded loaded = Q8Cache.load(file, java.util.List.of(), selected, arena);
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertArrayEquals(new long[] {3, m, 3072}, f.tensors().get(src.name()).shape());
                assertArrayEquals(new long[] {3, m, 96}, f.tensors().get(src.name() + Q8Cache.SCALES_SUFFIX).shape());
                assertArrayEquals(new long[] {3, 64}, f.tensors().get(small.name()).shape());
                assertArrayEquals(new long[] {3, 2}, f.tensors().get(small.name() + Q8Cache.SCALES_SUFFIX).shape());
            }
            for (Tensor t : selected.values()) {
                Tensor cached = loaded.tensors().get(t.name());
                Tensor direct = Q8.quantize(t, arena);
                assertEquals(direct.panelLength(), cached.panelLength(), t.name());
                assertArrayEquals(direct.toFloatArray(), cached.toFloatArray(), t.name());
                assertArrayEquals(direct.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        cached.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), t.name());
                assertArrayEquals(direct.scales().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        cached.scales().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), t.name());
                float[] orig = t.toFloatArray(), deq = cached.toFloatArray();
                long kk = t.dim(1);
                for (int i = 0; i < orig.length; i++) {
                    assertTrue(Math.abs(orig[i] - deq[i]) <= scaleOf(cached, i / kk, i % kk) / 2, t.name() + "[" + i + "]");
                }
            }
            assertEquals(3072, loaded.tensors().get(src.name()).panelLength());
            assertTrue(loaded.file() != null, "mapped from the cache file");
        }
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
                    float s = scaleOf(t, i / k, i % k);
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

    /**
     * {@code -Dpaligemma.q8RowGroups=false} (here the flag behind it) stores every matrix plain; the cache records
     * the setting, so changing it rewrites the cache, and both layouts hold the same weights and give the same
     * products, bit for bit.
     */
    @Test
    void rowGroupSettingIsRecordedAndAChangeRewritesTheCache() throws IOException {
        Path dir = copyFixture();
        Path root = tmp.resolve("cache");
        boolean saved = Q8.rowGroups;
        try (Checkpoint grouped = Checkpoint.open(dir).quantized(root)) {
            Path file = grouped.q8CacheFile(root);
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(String.valueOf(Q8.GROUP), f.metadata().get("row_group"));
            }
            Map<String, float[]> first = values(grouped);
            String name = null;
            for (Map.Entry<String, Tensor> e : grouped.tensors().entrySet()) {
                if (e.getValue().dtype() == DType.Q8 && e.getValue().rowGroup() == Q8.GROUP) {
                    name = e.getKey();
                }
            }
            assertTrue(name != null, "the fixture has a matrix stored in row groups");
            Q8.rowGroups = false;
            try (Checkpoint plain = Checkpoint.open(dir).quantized(root)) {
                try (SafetensorsFile f = SafetensorsFile.open(file)) {
                    assertEquals("1", f.metadata().get("row_group"), "cache rewritten under the new setting");
                }
                for (Tensor t : plain.tensors().values()) {
                    assertEquals(1, t.rowGroup(), t.name());
                }
                Map<String, float[]> again = values(plain);
                for (String n : first.keySet()) {
                    assertArrayEquals(first.get(n), again.get(n), n);
                }
                Tensor a = grouped.tensor(name), b = plain.tensor(name);
                int k = (int) a.dim(1);
                float[] x = new float[k];
                java.util.Random r = new java.util.Random(3);
                for (int i = 0; i < k; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                float[] ya = new float[(int) a.dim(0)], yb = new float[(int) a.dim(0)];
                dev.paligemma.core.ops.Matmul.matvec(x, 0, a, ya, 0);
                dev.paligemma.core.ops.Matmul.matvec(x, 0, b, yb, 0);
                assertArrayEquals(ya, yb, name + ": grouped and plain products");
            }
        } finally {
            Q8.rowGroups = saved;
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
