package dev.paligemma.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hostile or damaged safetensors files and checkpoint directories: each ends in a CheckpointException naming the culprit. */
class SafetensorsCorruptTest {
    @TempDir
    Path dir;

    private static final String T = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    private CheckpointException bad(String header, byte[] data, String... mustMention) throws IOException {
        Path f = RawSafetensors.write(dir.resolve("bad.safetensors"), header, data);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f).close());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        for (String m : mustMention) {
            assertTrue(e.getMessage().contains(m), "'" + m + "' not in: " + e.getMessage());
        }
        return e;
    }

    @Test
    void validSmallFileLoads() throws IOException {
        Path f = RawSafetensors.write(dir.resolve("ok.safetensors"), "{\"a\":" + T + "}", RawSafetensors.floatsLE(1.5f, -2f));
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertEquals(-2f, s.tensor("a").getFloat(1));
            CheckpointException e = assertThrows(CheckpointException.class, () -> s.tensor("b"));
            assertTrue(e.getMessage().contains("'b'"));
        }
    }

    @Test
    void fileShorterThanEightBytes() throws IOException {
        Path f = Files.write(dir.resolve("short.safetensors"), new byte[] {1, 0, 0});
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains(f.toString()));
        Path empty = Files.write(dir.resolve("empty.safetensors"), new byte[0]);
        assertThrows(CheckpointException.class, () -> SafetensorsFile.open(empty));
    }

    @Test
    void headerLengthPastEndOfFile() throws IOException {
        Path f = dir.resolve("trunc.safetensors");
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        Files.write(f, b.array());
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("1000"), e.getMessage());
    }

    @Test
    void headerLengthWithTopBitSetIsUnsigned() throws IOException {
        Path f = dir.resolve("neg.safetensors");
        Files.write(f, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-8).array());
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("18446744073709551608"), e.getMessage());
    }

    @Test
    void truncatedData() throws IOException {
        bad("{\"a\":" + T + "}", new byte[4], "'a'");
    }

    @Test
    void badJson() throws IOException {
        bad("{\"a\":{\"dtype\":\"F32\",", new byte[0], "JSON");
        bad("{\"a\" " + T + "}", new byte[8], "JSON");
    }

    @Test
    void headerNotAnObject() throws IOException {
        bad("[1,2,3]", new byte[0], "not a JSON object");
        bad("\"x\"", new byte[0]);
    }

    @Test
    void entryNotAnObjectOrMissingFields() throws IOException {
        bad("{\"a\":[1]}", new byte[8], "'a'");
        bad("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8], "'a'", "dtype");
        bad("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", new byte[8], "'a'", "shape");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", new byte[8], "'a'", "data_offsets");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", new byte[8], "'a'", "data_offsets");
        bad("{\"__metadata__\":[1]," + "\"a\":" + T + "}", new byte[8], "__metadata__");
    }

    @Test
    void offsetsPastTheEnd() throws IOException {
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", new byte[8], "'a'");
    }

    @Test
    void beginAfterEnd() throws IOException {
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", new byte[8], "'a'");
    }

    @Test
    void overlappingTensors() throws IOException {
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12], "overlaps", "'a'", "'b'");
        // the same span twice
        bad("{\"a\":" + T + ",\"b\":" + T + "}", new byte[8], "overlaps");
    }

    @Test
    void spanDisagreesWithShapeTimesDtype() throws IOException {
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[12], "'a'", "12", "8");
        bad("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8], "'a'");
    }

    @Test
    void unknownDtype() throws IOException {
        bad("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2], "'a'", "F8_E4M3");
        bad("{\"a\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8], "'a'", "dtype");
    }

    @Test
    void negativeOrNonIntegerShape() throws IOException {
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", new byte[8], "'a'", "shape");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", new byte[8], "'a'", "shape");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", new byte[8], "'a'", "shape");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", new byte[8], "'a'", "shape");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", new byte[8], "'a'", "shape");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", new byte[8], "'a'", "data_offsets");
    }

    @Test
    void hugeShapeOverflows() throws IOException {
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", new byte[8], "'a'", "overflows");
        // product fits a long but times 4 bytes does not
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}", new byte[8], "'a'");
    }

    @Test
    void duplicateTensorNameInHeader() throws IOException {
        bad("{\"a\":" + T + ",\"a\":" + T + "}", new byte[8], "duplicate");
    }

    @Test
    void specialF16ValuesDecodeExactly() throws IOException {
        // +0, -0, smallest subnormal, largest subnormal, smallest normal, 1, max, +inf, -inf, NaN, -2
        int[] bits = {0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0xC000};
        Path f = RawSafetensors.write(dir.resolve("f16.safetensors"),
                "{\"h\":{\"dtype\":\"F16\",\"shape\":[11],\"data_offsets\":[0,22]}}", RawSafetensors.shortsLE(bits));
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            Tensor t = s.tensor("h");
            float[] v = t.toFloatArray();
            float[] expected = {0f, -0f, 5.9604645e-8f, 6.097555e-5f, 6.1035156e-5f, 1f, 65504f,
                    Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, -2f};
            for (int i = 0; i < bits.length; i++) {
                assertEquals(RawSafetensors.halfToFloat(bits[i]), v[i], "bits " + Integer.toHexString(bits[i]));
                assertEquals(expected[i], v[i], "bits " + Integer.toHexString(bits[i]));
                assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(t.getFloat(i)));
            }
            assertEquals(0x80000000, Float.floatToRawIntBits(v[1]), "-0 keeps its sign");
        }
    }

    @Test
    void specialBf16ValuesDecodeExactly() throws IOException {
        int[] bits = {0x0000, 0x8000, 0x0001, 0x3F80, 0x7F80, 0xFF80, 0x7FC0, 0xC040};
        Path f = RawSafetensors.write(dir.resolve("bf16.safetensors"),
                "{\"b\":{\"dtype\":\"BF16\",\"shape\":[8],\"data_offsets\":[0,16]}}", RawSafetensors.shortsLE(bits));
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            float[] v = s.tensor("b").toFloatArray();
            float[] expected = {0f, -0f, Float.intBitsToFloat(0x00010000), 1f, Float.POSITIVE_INFINITY,
                    Float.NEGATIVE_INFINITY, Float.NaN, -3f};
            for (int i = 0; i < bits.length; i++) {
                assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(v[i]), "bits " + Integer.toHexString(bits[i]));
            }
        }
    }

    // ---- checkpoint directories ----

    private Path shard(Path d, String file, String... names) throws IOException {
        StringBuilder h = new StringBuilder("{");
        for (int i = 0; i < names.length; i++) {
            h.append(i > 0 ? "," : "").append('"').append(names[i]).append("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[")
                    .append(4 * i).append(',').append(4 * i + 4).append("]}");
        }
        return RawSafetensors.write(d.resolve(file), h.append('}').toString(), new byte[4 * names.length]);
    }

    private static void index(Path d, String weightMap) throws IOException {
        Files.writeString(d.resolve(Checkpoint.INDEX_FILE), "{\"metadata\":{},\"weight_map\":{" + weightMap + "}}");
    }

    private CheckpointException badDir(Path d, String... mustMention) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(d).close());
        for (String m : mustMention) {
            assertTrue(e.getMessage().contains(m), "'" + m + "' not in: " + e.getMessage());
        }
        return e;
    }

    @Test
    void shardedDirectoryLoads() throws IOException {
        shard(dir, "s1.safetensors", "language_model.model.norm.weight");
        shard(dir, "s2.safetensors", "vision_tower.vision_model.post_layernorm.bias");
        index(dir, "\"language_model.model.norm.weight\":\"s1.safetensors\","
                + "\"vision_tower.vision_model.post_layernorm.bias\":\"s2.safetensors\"");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(2, c.files().size());
            assertEquals(2, c.names().size());
        }
    }

    @Test
    void missingShard() throws IOException {
        shard(dir, "s1.safetensors", "a");
        index(dir, "\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"");
        badDir(dir, Checkpoint.INDEX_FILE, "s2.safetensors", "missing");
    }

    @Test
    void shardLacksTensorTheIndexLists() throws IOException {
        shard(dir, "s1.safetensors", "a");
        index(dir, "\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\"");
        badDir(dir, "s1.safetensors", "'b'");
    }

    @Test
    void indexNamesPathOutsideTheDirectory() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("ckpt"));
        shard(dir, "outside.safetensors", "a");
        index(sub, "\"a\":\"../outside.safetensors\"");
        badDir(sub, "../outside.safetensors", "plain file name");
        index(sub, "\"a\":\"..\"");
        badDir(sub, "plain file name");
        index(sub, "\"a\":\"" + dir.resolve("outside.safetensors").toString().replace("\\", "\\\\") + "\"");
        badDir(sub, "plain file name");
        index(sub, "\"a\":\"x\\\\y.safetensors\"");
        badDir(sub, "plain file name");
    }

    @Test
    void malformedIndex() throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":");
        badDir(dir, Checkpoint.INDEX_FILE);
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"metadata\":{}}");
        badDir(dir, "weight_map");
        index(dir, "");
        badDir(dir, "empty");
        index(dir, "\"a\":3");
        badDir(dir, "'a'");
    }

    @Test
    void duplicateCanonicalNames() throws IOException {
        // the hub and transformers 5 spellings of one tensor in one file
        shard(dir, Checkpoint.SINGLE_FILE, "vision_tower.vision_model.post_layernorm.bias", "vision_tower.post_layernorm.bias");
        badDir(dir, "duplicates");
    }

    @Test
    void duplicateCanonicalNamesAcrossShards() throws IOException {
        shard(dir, "s1.safetensors", "language_model.model.norm.weight");
        shard(dir, "s2.safetensors", "model.language_model.norm.weight");
        index(dir, "\"language_model.model.norm.weight\":\"s1.safetensors\","
                + "\"model.language_model.norm.weight\":\"s2.safetensors\"");
        badDir(dir, "duplicates");
    }

    @Test
    void emptyOrMissingDirectory() {
        badDir(dir, dir.toString(), "no weights");
        badDir(dir.resolve("nope"), "not found");
    }

    @Test
    void corruptShardNamesTheShard() throws IOException {
        Files.write(dir.resolve("s1.safetensors"), new byte[3]);
        index(dir, "\"a\":\"s1.safetensors\"");
        badDir(dir, "s1.safetensors");
    }
}
