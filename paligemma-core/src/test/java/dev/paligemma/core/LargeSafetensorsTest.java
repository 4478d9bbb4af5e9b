package dev.paligemma.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A sparse file with one tensor spanning more than 2^31 bytes: offsets past 2 GB must read correctly. */
class LargeSafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void readsValuesBeyondTwoGigabytes() throws IOException {
        long elements = (1L << 29) + 1000; // F32: 2^31 + 4000 bytes
        long bytes = elements * 4;
        String header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[" + elements + "],\"data_offsets\":[0," + bytes + "]},"
                + "\"tail\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[" + bytes + "," + (bytes + 4) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        long dataStart = 8 + h.length;
        Path f = dir.resolve("big.safetensors");
        long[] probe = {0, (1L << 29) - 1, 1L << 29, (1L << 29) + 1, elements - 1};
        float[] values = {1.25f, -7.5f, 3.0e8f, -0.001f, 42f};
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(littleEndian(h.length));
            raf.write(h);
            raf.setLength(dataStart + bytes + 4);
            for (int i = 0; i < probe.length; i++) {
                raf.seek(dataStart + probe[i] * 4);
                raf.writeInt(Integer.reverseBytes(Float.floatToIntBits(values[i])));
            }
            raf.seek(dataStart + bytes);
            raf.write(new byte[] {(byte) 0x80, 0x3F, 0x40, (byte) 0xC0}); // bf16 1.0, -3.0
        }
        try {
            try (Checkpoint c = Checkpoint.open(rename(f))) {
                Tensor big = c.tensor("big");
                assertEquals(elements, big.size());
                for (int i = 0; i < probe.length; i++) {
                    assertEquals(values[i], big.getFloat(probe[i]), "index " + probe[i]);
                }
                assertEquals(0f, big.getFloat((1L << 29) + 500)); // a hole past 2 GB reads as zero
                float[] chunk = new float[3];
                big.toFloats((1L << 29) - 1, chunk, 0, 3);
                assertArrayEquals(new float[] {-7.5f, 3.0e8f, -0.001f}, chunk);
                assertArrayEquals(new float[] {1f, -3f}, c.tensor("tail").toFloatArray());
                assertEquals(dataStart + bytes + 4, c.byteSize());
            }
        } finally {
            Files.deleteIfExists(dir.resolve(Checkpoint.SINGLE_FILE));
            Files.deleteIfExists(f);
        }
    }

    private Path rename(Path f) throws IOException {
        Files.move(f, dir.resolve(Checkpoint.SINGLE_FILE));
        return dir;
    }

    private static byte[] littleEndian(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        return b;
    }
}
