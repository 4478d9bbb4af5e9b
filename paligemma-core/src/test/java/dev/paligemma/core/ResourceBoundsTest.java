package dev.paligemma.core;

import dev.paligemma.core.config.PaliGemmaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every length or count a file states is bounded before anything is allocated from it. Large files are
 * sparse, so these tests write almost nothing to disk.
 */
class ResourceBoundsTest {
    @TempDir
    Path dir;

    private static void sparse(Path file, long size, byte[] head) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(head);
            f.setLength(size);
        }
    }

    @Test
    void safetensorsHeaderAboveHundredMegabytesIsRefusedUnread() throws Exception {
        Path f = dir.resolve("model.safetensors");
        long claimed = SafetensorsFile.MAX_HEADER_BYTES + 1;
        sparse(f, claimed + 1024, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(claimed).array());
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains(Long.toString(claimed)), e.getMessage());
    }

    @Test
    void tenTerabyteTensorIsRejectedNotAllocated() throws Exception {
        long elements = 2_500_000_000_000L; // x 4 bytes = 10 TB
        String header = "{\"huge\":{\"dtype\":\"F32\",\"shape\":[" + elements + "],\"data_offsets\":[0," + elements * 4 + "]}}";
        Path f = RawSafetensors.write(dir.resolve("huge.safetensors"), header, new byte[16]);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("'huge'") && e.getMessage().contains("data_offsets"), e.getMessage());
        // a shape whose element count overflows a long
        String overflow = "{\"o\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}";
        Path g = RawSafetensors.write(dir.resolve("overflow.safetensors"), overflow, new byte[0]);
        CheckpointException o = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(g));
        assertTrue(o.getMessage().contains("'o'") && o.getMessage().contains("overflows"), o.getMessage());
    }

    @Test
    void rankAboveSixteenIsRefused() throws Exception {
        String shape = "[1" + ",1".repeat(16) + "]";
        Path f = RawSafetensors.write(dir.resolve("rank.safetensors"),
                "{\"r\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,4]}}", new byte[4]);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("'r'") && e.getMessage().contains("shape"), e.getMessage());
    }

    @Test
    void oversizedIndexIsRefusedUnread() throws Exception {
        Path index = dir.resolve(Checkpoint.INDEX_FILE);
        sparse(index, SafetensorsFile.MAX_HEADER_BYTES + 1, "{\"weight_map\":{".getBytes());
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains(index.toString()) && e.getMessage().contains("large"), e.getMessage());
    }

    @Test
    void oversizedConfigIsRefusedUnread() throws Exception {
        Path config = dir.resolve("config.json");
        sparse(config, (16L << 20) + 1, "{\"model_type\":\"paligemma\",".getBytes());
        ConfigException e = assertThrows(ConfigException.class, () -> PaliGemmaConfig.load(dir));
        assertTrue(e.getMessage().contains(config.toString()) && e.getMessage().contains("large"), e.getMessage());
    }

    @Test
    void deeplyNestedConfigIsRefusedWithoutStackOverflow() throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, "{\"model_type\":\"paligemma\",\"x\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}");
        ConfigException e = assertThrows(ConfigException.class, () -> PaliGemmaConfig.load(dir));
        assertTrue(e.getMessage().contains(config.toString()) && e.getMessage().contains("nesting"), e.getMessage());
    }
}
