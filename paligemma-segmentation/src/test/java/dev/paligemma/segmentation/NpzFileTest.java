package dev.paligemma.segmentation;

import dev.paligemma.core.CheckpointException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpzFileTest {
    @TempDir
    Path tmp;

    /** A .npy stream: magic, version, little-endian header length, header padded to 64 bytes, data. */
    static byte[] npy(int major, String dict, byte[] data) {
        int lenBytes = major == 1 ? 2 : 4;
        int prefix = 6 + 2 + lenBytes;
        StringBuilder h = new StringBuilder(dict);
        while ((prefix + h.length() + 1) % 64 != 0) {
            h.append(' ');
        }
        h.append('\n');
        byte[] hb = h.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(prefix + hb.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) {
            b.putShort((short) hb.length);
        } else {
            b.putInt(hb.length);
        }
        b.put(hb).put(data);
        return b.array();
    }

    static byte[] npy(String dict, byte[] data) {
        return npy(1, dict, data);
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    static Path zip(Path file, Map<String, byte[]> entries, boolean deflate) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(os)) {
            for (var e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                if (!deflate) {
                    ze.setMethod(ZipEntry.STORED);
                    ze.setSize(e.getValue().length);
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    ze.setCrc(crc.getValue());
                }
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return file;
    }

    private Path single(String dict, byte[] data) throws IOException {
        return zip(tmp.resolve("a.npz"), Map.of("w.npy", npy(dict, data)), true);
    }

    private CheckpointException fails(Path p) {
        return assertThrows(CheckpointException.class, () -> NpzFile.read(p));
    }

    @Test
    void readsFixture() {
        NpzFile f = NpzFile.read(MaskDecoderTest.DIR.resolve("vae-tiny.npz"));
        assertEquals(25, f.names().size());
        NpyArray emb = f.array("_vq_vae._embedding");
        assertEquals(NpyDType.F4, emb.dtype());
        assertArrayEquals(new long[] {128, 512}, emb.shape());
        assertArrayEquals(new long[] {32, 16, 4, 4}, f.array("decoder.10.weight").shape());
    }

    @Test
    void readsEveryDtypeAndVersion() throws IOException {
        ByteBuffer f2 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        f2.putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-2f));
        ByteBuffer i4 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(7).putInt(-3);
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("f4.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", floats(0.25f, -1f)));
        m.put("f2.npy", npy(2, "{\"descr\": \"<f2\", \"fortran_order\": False, \"shape\": (2,)}", f2.array()));
        m.put("i4.npy", npy(3, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", i4.array()));
        m.put("u1.npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", new byte[] {0, 1, (byte) 255}));
        m.put("scalar.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", floats(9f)));
        m.put("empty.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", new byte[0]));
        m.put("readme.txt", "not an array".getBytes(StandardCharsets.US_ASCII));
        NpzFile f = NpzFile.read(zip(tmp.resolve("ok.npz"), m, false));
        assertEquals(6, f.names().size());
        assertArrayEquals(new float[] {0.25f, -1f}, f.array("f4").toFloatArray());
        assertArrayEquals(new long[] {2, 1}, f.array("f4").shape());
        assertArrayEquals(new float[] {1.5f, -2f}, f.array("f2").toFloatArray());
        assertArrayEquals(new int[] {7, -3}, f.array("i4").toIntArray());
        assertArrayEquals(new int[] {0, 1, 255}, f.array("u1").toIntArray());
        assertArrayEquals(new float[] {9f}, f.array("scalar").toFloatArray());
        assertEquals(0, f.array("empty").size());
        assertThrows(CheckpointException.class, () -> f.array("f4").toIntArray());
        CheckpointException e = assertThrows(CheckpointException.class, () -> f.array("nope"));
        assertTrue(e.getMessage().contains("nope"));
    }

    @Test
    void refusesPickledObjectArray() throws IOException {
        Path p = zip(tmp.resolve("obj.npz"), Map.of("evil.npy",
                npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", new byte[] {(byte) 0x80, 2, 'c', 'o', 's'})), true);
        CheckpointException e = fails(p);
        assertTrue(e.getMessage().contains("obj.npz") && e.getMessage().contains("'evil'"), e.getMessage());
        assertTrue(e.getMessage().contains("pickle"), e.getMessage());
    }

    @Test
    void refusesFortranOrder() throws IOException {
        CheckpointException e = fails(single("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", floats(1, 2)));
        assertTrue(e.getMessage().contains("fortran_order") && e.getMessage().contains("'w'"), e.getMessage());
    }

    @Test
    void refusesUnsupportedDtypes() throws IOException {
        assertTrue(fails(single("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", floats(1)))
                .getMessage().contains("unsupported dtype"));
        assertTrue(fails(single("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new byte[8]))
                .getMessage().contains("unsupported dtype"));
        assertTrue(fails(single("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", floats(1)))
                .getMessage().contains("structured"));
    }

    @Test
    void refusesMalformedHeaders() throws IOException {
        String[] bad = {
            "{'descr': '<f4', 'fortran_order': False}",                                  // no shape
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",        // unknown key
            "{'descr': '<f4', 'fortran_order': False, 'shape': __import__('os').system('x')}",
            "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}",                     // broken quoting
            "{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}",                    // not Python
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}",                 // negative dim
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} trailing",
            "['descr', '<f4']",
            "",
        };
        for (String h : bad) {
            CheckpointException e = fails(single(h, floats(1, 2)));
            assertTrue(e.getMessage().contains("'w'"), h + " -> " + e.getMessage());
        }
        byte[] badMagic = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats(1, 2));
        badMagic[1] = 'X';
        assertTrue(fails(zip(tmp.resolve("m.npz"), Map.of("w.npy", badMagic), false)).getMessage().contains("magic"));
        byte[] badVersion = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats(1, 2));
        badVersion[6] = 9;
        assertTrue(fails(zip(tmp.resolve("v.npz"), Map.of("w.npy", badVersion), false)).getMessage().contains("version"));
    }

    @Test
    void refusesShapeSizeMismatch() throws IOException {
        String h = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
        assertTrue(fails(single(h, floats(1, 2))).getMessage().contains("'w'"));
        assertTrue(fails(single(h, floats(1, 2, 3, 4))).getMessage().contains("'w'"));
        // a header claiming ~4 GB on a tiny entry fails before any large allocation
        assertTrue(fails(single("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1), }", floats(1)))
                .getMessage().contains("'w'"));
        assertTrue(fails(single("{'descr': '<f4', 'fortran_order': False, 'shape': (9999999999, 9999999999), }", floats(1)))
                .getMessage().contains("'w'"));
        // an entry whose declared size is unknown is still checked by reading
        String big = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000,), }";
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> NpyArray.read("w", new ByteArrayInputStream(npy(big, floats(1))), "stream", -1));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void stopsReadingAtTheDeclaredSize() {
        // an endless decompressed stream (zip bomb) is cut off right after the declared data
        byte[] head = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", new byte[0]);
        InputStream endless = new InputStream() {
            int pos;

            @Override
            public int read() {
                return pos < head.length ? head[pos++] & 0xff : (pos++ & 0);
            }
        };
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> NpyArray.read("w", endless, "bomb.npz array 'w'", -1));
        assertTrue(e.getMessage().contains("more data"), e.getMessage());
    }

    @Test
    void refusesArraysBeyondTheArchiveLimitBeforeInflatingThem() throws IOException {
        // 64 MiB of zeros deflate to ~64 KB: a zip bomb the default limit of a decoder file would refuse
        byte[] big = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (16777216,), }", new byte[64 << 20]);
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("small.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats(1, 2)));
        m.put("big.npy", big);
        Path p = zip(tmp.resolve("bomb.npz"), m, true);
        assertTrue(Files.size(p) < 1 << 20);
        CheckpointException e = assertThrows(CheckpointException.class, () -> NpzFile.read(p, 32L << 20));
        assertTrue(e.getMessage().contains("bomb.npz") && e.getMessage().contains("'big'")
                && e.getMessage().contains("limit"), e.getMessage());
        // the limit counts every array: 8 bytes already taken leave one byte short for the rest
        assertThrows(CheckpointException.class, () -> NpzFile.read(p, (64L << 20) + 7));
        assertEquals(2, NpzFile.read(p, (64L << 20) + 8).names().size());
    }

    @Test
    void refusesTruncatedZip() throws IOException {
        byte[] all = Files.readAllBytes(MaskDecoderTest.DIR.resolve("vae-tiny.npz"));
        Path p = tmp.resolve("cut.npz");
        Files.write(p, Arrays.copyOf(all, all.length / 2));
        assertTrue(fails(p).getMessage().contains("cut.npz"));
        Files.write(p, new byte[0]);
        assertTrue(fails(p).getMessage().contains("cut.npz"));
        Files.write(p, "PK\3\4 garbage".getBytes(StandardCharsets.US_ASCII));
        fails(p);
    }

    @Test
    void decoderRejectsWrongShapesNamingTheArray() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(MaskDecoderTest.DIR.resolve("vae-tiny.npz").toFile())) {
            for (var e : z.stream().toList()) {
                entries.put(e.getName(), z.getInputStream(e).readAllBytes());
            }
        }
        Map<String, byte[]> wrong = new LinkedHashMap<>(entries);
        wrong.put("decoder.6.weight.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (128, 64, 3, 3), }",
                new byte[128 * 64 * 9 * 4]));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> MaskDecoder.load(zip(tmp.resolve("wrong.npz"), wrong, false)));
        assertTrue(e.getMessage().contains("decoder.6.weight"), e.getMessage());

        Map<String, byte[]> bias = new LinkedHashMap<>(entries);
        bias.put("decoder.2.net.2.bias.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (127,), }",
                new byte[127 * 4]));
        e = assertThrows(CheckpointException.class, () -> MaskDecoder.load(zip(tmp.resolve("bias.npz"), bias, false)));
        assertTrue(e.getMessage().contains("decoder.2.net.2.bias"), e.getMessage());

        Map<String, byte[]> missing = new LinkedHashMap<>(entries);
        missing.remove("decoder.12.weight.npy");
        e = assertThrows(CheckpointException.class, () -> MaskDecoder.load(zip(tmp.resolve("missing.npz"), missing, false)));
        assertTrue(e.getMessage().contains("decoder.12.weight"), e.getMessage());
    }
}
