package dev.paligemma.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The column-panel view of long BF16 rows ({@link Checkpoint#panelled}) and its cache file. */
class PanelCacheTest {
    static final String DOWN = "language_model.model.layers.0.mlp.down_proj.weight";
    static final String GATE = "language_model.model.layers.0.mlp.gate_proj.weight";
    static final String NORM = "language_model.model.norm.weight";

    @TempDir
    Path tmp;

    /** A checkpoint with a BF16 matrix of long rows (9216: three panels of 3072), a short one, a vector and an F32 long row. */
    private Path checkpoint(Map<String, float[]> values) throws IOException {
        Random r = new Random(7);
        float[] down = new float[6 * 9216], gate = new float[9216], norm = new float[64], f32 = new float[2 * 4096];
        for (float[] a : List.of(down, gate, norm, f32)) {
            for (int i = 0; i < a.length; i++) {
                // BF16-exact, so the values read back are the ones written
                a[i] = Float.intBitsToFloat(Float.floatToRawIntBits((float) r.nextGaussian()) & 0xFFFF0000);
            }
        }
        values.put(DOWN, down);
        values.put(GATE, gate);
        values.put(NORM, norm);
        values.put("f32.weight", f32);
        Path dir = Files.createDirectories(tmp.resolve("ckpt"));
        SafetensorsWriter.write(dir.resolve(Checkpoint.SINGLE_FILE), List.of(
                SafetensorsWriter.floats(NORM, DType.BF16, new long[] {64}, norm),
                SafetensorsWriter.floats(DOWN, DType.BF16, new long[] {6, 9216}, down),
                SafetensorsWriter.floats(GATE, DType.BF16, new long[] {9216 / 64, 64}, gate),
                SafetensorsWriter.floats("f32.weight", DType.F32, new long[] {2, 4096}, f32)), Map.of());
        return dir;
    }

    @Test
    void longBf16RowsComeFromTheirPanelsWithTheSameValues() throws IOException {
        Map<String, float[]> values = new java.util.HashMap<>();
        Path dir = checkpoint(values);
        Path root = tmp.resolve("cache");
        FileTime written;
        Path file;
        try (Checkpoint c = Checkpoint.open(dir).panelled(root)) {
            file = c.panelCacheFile(root);
            assertTrue(Files.isRegularFile(file), "cache written to " + file);
            assertEquals(file.getParent(), c.q8CacheFile(root).getParent(), "beside the Q8 cache");
            written = Files.getLastModifiedTime(file);
            Tensor down = c.tensor(DOWN);
            assertEquals(DType.BF16, down.dtype());
            assertArrayEquals(new long[] {6, 9216}, down.shape());
            assertEquals(3072, down.panelLength());
            assertArrayEquals(values.get(DOWN), down.toFloatArray());
            assertFalse(c.isQuantized());
            for (String n : List.of(GATE, NORM, "f32.weight")) {
                assertFalse(c.tensor(n).isPanelled(), n + " stays as stored");
                assertArrayEquals(values.get(n), c.tensor(n).toFloatArray(), n);
            }
            // the stored bytes are the row-major ones moved panel by panel: element (j, p) at (p / kc) m kc + j kc + p % kc
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(PanelCache.FORMAT, f.metadata().get("format"));
                Tensor stored = f.tensors().get(DOWN);
                assertArrayEquals(new long[] {3, 6, 3072}, stored.shape());
                float[] w = values.get(DOWN);
                for (int j = 0; j < 6; j++) {
                    for (int p = 0; p < 9216; p += 97) {
                        assertEquals(w[j * 9216 + p], stored.getFloat((p / 3072) * 6L * 3072 + j * 3072L + p % 3072), j + "," + p);
                    }
                }
            }
        }
        try (Checkpoint c = Checkpoint.open(dir).panelled(root)) {
            assertEquals(written, Files.getLastModifiedTime(file), "valid cache reused, not rewritten");
            assertArrayEquals(values.get(DOWN), c.tensor(DOWN).toFloatArray());
            // a panelled view quantises to the same Q8 weights as the stored checkpoint
            try (Checkpoint plain = Checkpoint.open(dir); java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
                assertArrayEquals(Q8.quantize(plain.tensor(DOWN), a).toFloatArray(), Q8.quantize(c.tensor(DOWN), a).toFloatArray());
            }
        }
    }

    @Test
    void staleCorruptOrForeignCacheIsRewritten() throws IOException {
        Map<String, float[]> values = new java.util.HashMap<>();
        Path dir = checkpoint(values);
        Path root = tmp.resolve("cache");
        Path file;
        try (Checkpoint c = Checkpoint.open(dir).panelled(root)) {
            file = c.panelCacheFile(root);
        }
        String before;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            before = f.metadata().get("sources");
        }
        Path weights = dir.resolve(Checkpoint.SINGLE_FILE);
        Files.setLastModifiedTime(weights, FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() + 5_000));
        try (Checkpoint c = Checkpoint.open(dir).panelled(root)) {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertNotEquals(before, f.metadata().get("sources"), "rewritten with the new record");
            }
            assertArrayEquals(values.get(DOWN), c.tensor(DOWN).toFloatArray());
        }
        Files.write(file, new byte[] {1, 2, 3});
        try (Checkpoint c = Checkpoint.open(dir).panelled(root)) {
            assertTrue(Files.size(file) > 6 * 9216 * 2);
            assertArrayEquals(values.get(DOWN), c.tensor(DOWN).toFloatArray());
        }
        // a cache holding the matrix row-major (another shape) is not trusted
        String sources;
        try (Checkpoint plain = Checkpoint.open(dir)) {
            sources = Q8Cache.sources(plain.files());
        }
        SafetensorsWriter.write(file, List.of(SafetensorsWriter.floats(DOWN, DType.BF16, new long[] {6, 9216}, new float[6 * 9216])),
                Map.of("format", PanelCache.FORMAT, "version", PanelCache.VERSION, "sources", sources));
        try (Checkpoint c = Checkpoint.open(dir).panelled(root)) {
            assertArrayEquals(values.get(DOWN), c.tensor(DOWN).toFloatArray());
        }
    }

    @Test
    void withoutLongBf16RowsTheCheckpointComesBackUnchanged() throws IOException {
        Path src = Path.of(System.getProperty("paligemma.fixtures"), "paligemma-tiny", "model.safetensors");
        Path dir = Files.createDirectories(tmp.resolve("tiny"));
        Files.copy(src, dir.resolve(Checkpoint.SINGLE_FILE));
        Path root = tmp.resolve("cache");
        try (Checkpoint plain = Checkpoint.open(dir)) {
            assertSame(plain, plain.panelled(root));
            assertFalse(Files.exists(plain.panelCacheFile(root)), "no cache for nothing to store");
            Checkpoint q = plain.quantized(root);
            assertSame(q, q.panelled(root), "Q8 matrices have no BF16 rows left");
            q.close();
        }
    }

    @Test
    void unwritableCacheKeepsTheRowsAsStored() throws IOException {
        Map<String, float[]> values = new java.util.HashMap<>();
        Path dir = checkpoint(values);
        Path blocker = Files.writeString(tmp.resolve("not-a-dir"), "x");
        try (Checkpoint c = Checkpoint.open(dir).panelled(blocker.resolve("sub"))) {
            assertFalse(c.tensor(DOWN).isPanelled());
            assertArrayEquals(values.get(DOWN), c.tensor(DOWN).toFloatArray());
        }
    }

    @Test
    void closingTheViewUnmapsTheCacheAndTheCheckpoint() throws IOException {
        Path dir = checkpoint(new java.util.HashMap<>());
        Checkpoint c = Checkpoint.open(dir).panelled(tmp.resolve("cache"));
        Tensor down = c.tensor(DOWN);
        Tensor norm = c.tensor(NORM);
        c.close();
        assertThrows(IllegalStateException.class, () -> down.segment().get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> norm.segment().get(ValueLayout.JAVA_BYTE, 0));
    }
}
