package dev.paligemma.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    private static float f(int bits) {
        return Float.intBitsToFloat(bits);
    }

    @Test
    void bf16RoundsToNearestEvenLikeTorch() {
        // {float32 bits, expected bfloat16 bits}, worked out by hand
        int[][] cases = {
                {0x3F800000, 0x3F80}, // 1.0 exact
                {0x3F808000, 0x3F80}, // exactly half way, even below: stays
                {0x3F818000, 0x3F82}, // exactly half way, odd below: rounds up to even
                {0x3F808001, 0x3F81}, // just above half: up
                {0x3F807FFF, 0x3F80}, // just below half: down
                {0xBF818000, 0xBF82}, // negative tie to even
                {0x80000000, 0x8000}, // -0
                {0x7F800000, 0x7F80}, // +inf
                {0xFF800000, 0xFF80}, // -inf
                {0x7F7FFFFF, 0x7F80}, // max float rounds to inf
                {0x00008000, 0x0000}, // subnormal tie to even (0)
                {0x00018000, 0x0002}, // subnormal tie to even (2)
                {0x7FC00001, 0x7FC0}, // NaN payload dropped: quiet NaN
                {0x7F800001, 0x7FC0}, // signalling NaN becomes quiet, not inf
        };
        for (int[] c : cases) {
            assertEquals(c[1], SafetensorsWriter.toBFloat16(f(c[0])) & 0xFFFF, Integer.toHexString(c[0]));
        }
    }

    @Test
    void roundTripAllTypesWithMetadataAndAlignment() throws IOException {
        float[] vals = {0f, -0f, 1f, -2.5f, 3.14159265f, 1e-8f, 65504f, 1e5f, Float.POSITIVE_INFINITY, Float.NaN,
                f(0x3F818000), 6.0e-6f};
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "quote\" backslash\\ newline\n");
        Path file = dir.resolve("rt.safetensors");
        SafetensorsWriter.write(file, List.of(
                SafetensorsWriter.floats("a.f32", DType.F32, new long[] {3, 4}, vals),
                SafetensorsWriter.floats("b.bf16", DType.BF16, new long[] {12}, vals),
                SafetensorsWriter.floats("c.f16", DType.F16, new long[] {2, 6}, vals),
                SafetensorsWriter.ints("d.i32", DType.I32, new long[] {3}, new int[] {-1, 0, 2147483647}),
                SafetensorsWriter.ints("e.u8", DType.U8, new long[] {3}, new int[] {0, 128, 255}),
                SafetensorsWriter.floats("empty", DType.F32, new long[] {0, 5}, new float[0]),
                SafetensorsWriter.floats("na\"me\\é", DType.F32, new long[] {}, new float[] {7f})), meta);
        assertFalse(Files.exists(dir.resolve("rt.safetensors.tmp")));

        byte[] raw = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, (8 + n) % 8, "data start is 8-byte aligned");
        String header = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":{"), header);
        assertEquals(header.strip(), header.substring(0, header.lastIndexOf('}') + 1));
        // data size: 48 + 24 + 24 + 12 + 3 + 0 + 4
        assertEquals(8 + n + 115, raw.length);

        try (SafetensorsFile s = SafetensorsFile.open(file)) {
            assertEquals(meta, s.metadata());
            assertArrayEquals(vals, s.tensor("a.f32").toFloatArray());
            assertArrayEquals(new long[] {3, 4}, s.tensor("a.f32").shape());
            Tensor b = s.tensor("b.bf16");
            Tensor c = s.tensor("c.f16");
            ByteBuffer bb = b.segment().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer cb = c.segment().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < vals.length; i++) {
                assertEquals(SafetensorsWriter.toBFloat16(vals[i]), bb.getShort(2 * i), "bf16 " + i);
                assertEquals(Float.floatToFloat16(vals[i]), cb.getShort(2 * i), "f16 " + i);
            }
            assertEquals(0x3F82, bb.getShort(2 * 10) & 0xFFFF);
            assertEquals(3.140625f, b.getFloat(4)); // 0x4049 0FDB -> 0x4049
            assertEquals(3.140625f, c.getFloat(4)); // nearest half: 0x4248
            assertEquals(0x4248, cb.getShort(8) & 0xFFFF);
            assertEquals(0x7BFF, cb.getShort(12) & 0xFFFF); // 65504
            assertEquals(0x7C00, cb.getShort(14) & 0xFFFF); // 1e5 overflows to inf
            assertEquals(0x0000, cb.getShort(10) & 0xFFFF); // 1e-8 underflows to 0
            assertEquals(0x0065, cb.getShort(22) & 0xFFFF); // 6e-6 is a subnormal: round(6e-6 * 2^24) = 101
            assertTrue(Float.isNaN(b.getFloat(9)) && Float.isNaN(c.getFloat(9)));
            Tensor d = s.tensor("d.i32");
            assertEquals(DType.I32, d.dtype());
            assertEquals(-1, d.getLong(0));
            assertEquals(2147483647, d.getLong(2));
            assertEquals(255, s.tensor("e.u8").getLong(2));
            assertEquals(128f, s.tensor("e.u8").getFloat(1));
            assertEquals(0, s.tensor("empty").size());
            assertEquals(7f, s.tensor("na\"me\\é").getFloat(0));
            assertEquals(0, s.tensor("na\"me\\é").rank());
        }
    }

    @Test
    void streamsFromATensorInChunks() throws IOException {
        float[] v = new float[200_000];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i * 0.001) * 3;
        }
        Tensor src = Tensor.ofFloats("src", new long[] {400, 500}, v);
        Path file = dir.resolve("s.safetensors");
        SafetensorsWriter.write(file, List.of(SafetensorsWriter.of("x", src, DType.BF16),
                SafetensorsWriter.of("y", src, DType.F32)), Map.of());
        try (SafetensorsFile s = SafetensorsFile.open(file)) {
            assertTrue(s.metadata().isEmpty());
            assertArrayEquals(v, s.tensor("y").toFloatArray());
            Tensor x = s.tensor("x");
            for (int i = 0; i < v.length; i += 997) {
                float r = x.getFloat(i);
                assertEquals(v[i], r, Math.abs(v[i]) * 0x1p-8, "element " + i);
            }
        }
    }

    @Test
    void fillerThatWritesTheWrongAmountFailsAndLeavesNoFile() {
        Path file = dir.resolve("w.safetensors");
        InvalidArgumentException few = assertThrows(InvalidArgumentException.class, () -> SafetensorsWriter.write(file,
                List.of(new SafetensorsWriter.Entry("t", DType.F32, new long[] {4}, s -> s.putFloats(new float[3], 0, 3))), Map.of()));
        assertTrue(few.getMessage().contains("'t'"), few.getMessage());
        assertThrows(InvalidArgumentException.class, () -> SafetensorsWriter.write(file,
                List.of(new SafetensorsWriter.Entry("t", DType.F32, new long[] {2}, s -> s.putFloats(new float[3], 0, 3))), Map.of()));
        assertThrows(InvalidArgumentException.class, () -> SafetensorsWriter.write(file,
                List.of(new SafetensorsWriter.Entry("t", DType.I32, new long[] {1}, s -> s.putFloats(new float[1], 0, 1))), Map.of()));
        assertThrows(InvalidArgumentException.class, () -> SafetensorsWriter.write(file,
                List.of(SafetensorsWriter.ints("u", DType.U8, new long[] {1}, new int[] {256})), Map.of()));
        assertThrows(InvalidArgumentException.class, () -> SafetensorsWriter.write(file,
                List.of(SafetensorsWriter.ints("u", DType.U8, new long[] {1}, new int[] {1}),
                        SafetensorsWriter.ints("u", DType.U8, new long[] {1}, new int[] {1})), Map.of()));
        assertThrows(InvalidArgumentException.class, () -> SafetensorsWriter.floats("__metadata__", DType.F32, new long[] {0}, new float[0]));
        assertFalse(Files.exists(file));
        assertFalse(Files.exists(dir.resolve("w.safetensors.tmp")));
    }

    @Test
    void rawBytesAndManyChunksAcrossTheBuffer() throws IOException {
        // 3 MB through 1-byte-at-a-time and large calls exercises buffer flushing
        int n = 3 << 20;
        Path file = dir.resolve("r.safetensors");
        SafetensorsWriter.write(file, List.of(new SafetensorsWriter.Entry("r", DType.U8, new long[] {n}, s -> {
            byte[] one = new byte[1];
            for (int i = 0; i < 1000; i++) {
                one[0] = (byte) i;
                s.putBytes(one, 0, 1);
            }
            byte[] rest = new byte[n - 1000];
            for (int i = 0; i < rest.length; i++) {
                rest[i] = (byte) (i + 1000);
            }
            s.putBytes(rest, 0, rest.length);
        })), Map.of());
        try (SafetensorsFile s = SafetensorsFile.open(file)) {
            Tensor r = s.tensor("r");
            for (int i = 0; i < n; i += 4099) {
                assertEquals(i & 0xFF, r.getLong(i), "byte " + i);
            }
            assertEquals((n - 1) & 0xFF, r.getLong(n - 1));
        }
    }

    @Test
    void writesWholeAlignedBlocksEvenWhenValuesStraddleThem() throws IOException {
        // 3 bytes of U8 first put every F32 and BF16 value at an odd offset, so values straddle the 2 MB block
        // boundaries; the page cache keeps 2 MB folios only for whole, aligned writes (HugePages)
        int floats = 600_000;
        int halves = 1_100_000;
        float[] fv = new float[floats];
        float[] hv = new float[halves];
        for (int i = 0; i < floats; i++) {
            fv[i] = (float) Math.cos(i * 0.37) * (i + 1);
        }
        for (int i = 0; i < halves; i++) {
            hv[i] = (float) Math.sin(i * 0.11) * 7;
        }
        List<SafetensorsWriter.Entry> entries = List.of(
                SafetensorsWriter.ints("odd", DType.U8, new long[] {3}, new int[] {1, 2, 3}),
                SafetensorsWriter.floats("f", DType.F32, new long[] {floats}, fv),
                SafetensorsWriter.floats("h", DType.BF16, new long[] {halves}, hv));
        List<Integer> writes = new java.util.ArrayList<>();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        java.nio.channels.WritableByteChannel recorder = new java.nio.channels.WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) {
                int n = src.remaining();
                byte[] b = new byte[n];
                src.get(b);
                bytes.write(b, 0, n);
                writes.add(n);
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
        Path file = dir.resolve("blocks.safetensors");
        SafetensorsWriter.writeTo(recorder, file, SafetensorsWriter.header(entries, Map.of()), entries);
        assertEquals(3, writes.size(), "writes: " + writes);
        assertEquals(2 << 20, SafetensorsWriter.BLOCK_BYTES);
        assertEquals(SafetensorsWriter.BLOCK_BYTES, writes.get(0));
        assertEquals(SafetensorsWriter.BLOCK_BYTES, writes.get(1));

        SafetensorsWriter.write(file, entries, Map.of());
        assertArrayEquals(Files.readAllBytes(file), bytes.toByteArray());
        try (SafetensorsFile s = SafetensorsFile.open(file)) {
            assertArrayEquals(fv, s.tensor("f").toFloatArray());
            ByteBuffer hb = s.tensor("h").segment().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < halves; i++) {
                if (SafetensorsWriter.toBFloat16(hv[i]) != hb.getShort(2 * i)) {
                    assertEquals(SafetensorsWriter.toBFloat16(hv[i]), hb.getShort(2 * i), "bf16 " + i);
                }
            }
            assertEquals(3, s.tensor("odd").getLong(2));
        }
    }
}
