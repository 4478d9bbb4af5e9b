package dev.paligemma.segmentation;

import dev.paligemma.core.testing.FuzzHarness;
import dev.paligemma.core.testing.Mutations;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deterministic mutations of {@code fixtures/segmentation/vae-tiny.npz} through {@link MaskDecoder#load} and
 * {@link MaskDecoder#decode}: each case ends in a decoder whose masks are 4096 finite floats, or a
 * {@code PaliGemmaException} naming the file; never another exception type, never more than a few seconds.
 * Case {@code i} of a test uses {@code new SplittableRandom(SEED + i)}; a failure prints the seed and the
 * mutation.
 */
class NpzFuzzTest {
    private static final long SEED = 0x5E6_0000L;
    private static final long PER_CASE_MILLIS = 5000;
    private static final Path SOURCE = MaskDecoderTest.DIR.resolve("vae-tiny.npz");

    /** One archive entry as it is stored (the fixture stores every .npy uncompressed). */
    record Entry(String name, byte[] data, boolean deflate) {
    }

    private static byte[] original;
    private static List<Entry> entries;
    /** Offsets of structure: each local header, the central directory and the end record. */
    private static int[] anchors;
    private static Path dir;
    /** Inflated size of each bomb body (too slow to find out by inflating). */
    private static final java.util.Map<byte[], Long> BOMB_SIZES = new java.util.IdentityHashMap<>();
    private static final java.util.Map<byte[], Long> CRCS = new java.util.IdentityHashMap<>();
    private static byte[] zeroBlock;

    @BeforeAll
    static void readFixture() throws IOException {
        original = Files.readAllBytes(SOURCE);
        entries = new ArrayList<>();
        try (ZipFile z = new ZipFile(SOURCE.toFile())) {
            for (var e : java.util.Collections.list(z.entries())) {
                try (var in = z.getInputStream(e)) {
                    entries.add(new Entry(e.getName(), in.readAllBytes(), false));
                }
            }
        }
        List<Integer> a = new ArrayList<>();
        for (int i = 0; i + 4 <= original.length; i++) {
            if (original[i] == 'P' && original[i + 1] == 'K' && original[i + 2] < 7 && original[i + 3] < 8
                    && original[i + 2] == original[i + 3] - 1) {
                a.add(i);
            }
        }
        anchors = a.stream().mapToInt(Integer::intValue).toArray();
        dir = Files.createTempDirectory("npz-fuzz");
    }

    @AfterAll
    static void cleanUp() throws IOException {
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    /** Loads the file and, if it loads, decodes a few code vectors; the sanity checks are the test. */
    private static void loadAndDecode(Path file) {
        MaskDecoder d = MaskDecoder.load(file);
        int k = d.codebookSize();
        int[][] codes = {new int[16], new int[16]};
        for (int i = 0; i < 16; i++) {
            codes[0][i] = (i * 37) % k;
            codes[1][i] = k - 1 - i % 2;
        }
        for (int[] c : codes) {
            float[] mask = d.decode(c);
            assertEquals(MaskDecoder.MASK_SIZE * MaskDecoder.MASK_SIZE, mask.length);
            for (float v : mask) {
                assertTrue(Float.isFinite(v), "decoded mask value " + v);
            }
        }
    }

    private static void check(FuzzHarness h, long seed, String what, byte[] bytes) throws IOException {
        Path file = dir.resolve("vae-" + seed + ".npz");
        Files.write(file, bytes);
        try {
            h.run(seed, what, file.getFileName().toString(), () -> loadAndDecode(file));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void unchangedFixtureLoads() {
        loadAndDecode(SOURCE);
    }

    /** Byte mutations of the archive, near its structure (local headers, .npy headers, central directory). */
    @Test
    void byteMutations() throws IOException {
        try (FuzzHarness h = new FuzzHarness("NpzFuzzTest.byteMutations", PER_CASE_MILLIS)) {
            for (int i = 0; i < 400; i++) {
                long seed = SEED + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                StringBuilder what = new StringBuilder();
                byte[] out;
                if (rnd.nextInt(10) == 0) {
                    out = Mutations.mutate(original, 0, rnd, what);
                } else {
                    // mutate the tail from a structural anchor so positions fall in its first few hundred bytes
                    int at = anchors[rnd.nextInt(anchors.length)];
                    byte[] tail = Arrays.copyOfRange(original, at, original.length);
                    tail = Mutations.mutate(tail, 200, rnd, what);
                    out = Mutations.splice(original, at, original.length - at, tail);
                    what.insert(0, "from " + at + ":");
                }
                check(h, seed, what.toString(), out);
            }
        }
    }

    /** Edits of one .npy header dict, its length field, version or magic; data optionally resized to fit. */
    @Test
    void npyHeaderEdits() throws IOException {
        try (FuzzHarness h = new FuzzHarness("NpzFuzzTest.npyHeaderEdits", PER_CASE_MILLIS)) {
            for (int i = 0; i < 400; i++) {
                long seed = SEED + 10_000 + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                List<Entry> es = new ArrayList<>(entries);
                int victim = rnd.nextInt(es.size());
                Entry e = es.get(victim);
                StringBuilder what = new StringBuilder(e.name());
                es.set(victim, new Entry(e.name(), editNpy(e.data(), rnd, what), rnd.nextInt(8) == 0));
                check(h, seed, what.toString(), zip(es, rnd, what));
            }
        }
    }

    /** Entries removed, renamed, duplicated, reordered, compressed, or swapped for zip bombs. */
    @Test
    void entryEditsAndZipBombs() throws IOException {
        try (FuzzHarness h = new FuzzHarness("NpzFuzzTest.entryEditsAndZipBombs", PER_CASE_MILLIS)) {
            for (int i = 0; i < 200; i++) {
                long seed = SEED + 20_000 + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                List<Entry> es = new ArrayList<>(entries);
                StringBuilder what = new StringBuilder();
                int v = rnd.nextInt(es.size());
                Entry e = es.get(v);
                switch (rnd.nextInt(9)) {
                    case 0 -> {
                        es.remove(v);
                        what.append("remove ").append(e.name());
                    }
                    case 1 -> {
                        String to = new String[] {es.get(rnd.nextInt(es.size())).name(), e.name() + ".bak",
                                e.name().replace(".npy", ""), "sub/" + e.name(), e.name().toUpperCase(), ".npy",
                                "../" + e.name(), e.name().replace(".npy", "\u0000.npy"), "x.npy"}[rnd.nextInt(9)];
                        es.set(v, new Entry(to, e.data(), e.deflate()));
                        what.append("rename ").append(e.name()).append(" -> ").append(to.replace("\u0000", "\\0"));
                    }
                    case 2 -> {
                        es.add(rnd.nextInt(es.size() + 1), e);
                        what.append("duplicate ").append(e.name());
                    }
                    case 3 -> {
                        Entry o = es.get(rnd.nextInt(es.size()));
                        es.set(v, new Entry(e.name(), o.data(), e.deflate()));
                        what.append("data of ").append(o.name()).append(" under ").append(e.name());
                    }
                    case 4 -> {
                        java.util.Collections.shuffle(es, new java.util.Random(seed));
                        es.replaceAll(x -> new Entry(x.name(), x.data(), rnd.nextBoolean()));
                        what.append("shuffled, some deflated");
                    }
                    case 5 -> {
                        es.add(new Entry("sub/", new byte[0], false));
                        es.add(new Entry("notes.txt", "hello".getBytes(StandardCharsets.UTF_8), false));
                        es.add(new Entry("extra.npy", NpzFileTest.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                NpzFileTest.floats(1, 2)), false));
                        what.append("extra entries");
                    }
                    case 6 -> {
                        es.set(v, new Entry(e.name(), new byte[0], rnd.nextBoolean()));
                        what.append("empty ").append(e.name());
                    }
                    default -> {
                        es.set(v, bomb(e.name(), rnd, what));
                    }
                }
                check(h, seed, what.toString(), zip(es, rnd, what));
            }
        }
    }

    /** A deflated entry that inflates to far more than it occupies: zeros under a header claiming them, or not. */
    private static Entry bomb(String name, SplittableRandom rnd, StringBuilder what) {
        long claim = new long[] {1L << 20, 256L << 20, 1L << 30, (1L << 31) - 256}[rnd.nextInt(4)];
        long actual = rnd.nextBoolean() ? claim : 64L << 20;
        byte[] header = NpzFileTest.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (" + claim / 4 + ",), }", new byte[0]);
        what.append("bomb ").append(name).append(" claims ").append(claim).append(" inflates to ").append(actual);
        byte[] raw = zeroBomb(header, actual);
        BOMB_SIZES.put(raw, header.length + actual);
        return new Entry(name, raw, true);
    }

    /** Raw deflate of {@code header} followed by {@code zeros} zero bytes, built from one repeated flushed block. */
    private static byte[] zeroBomb(byte[] header, long zeros) {
        int chunk = 1 << 20;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(deflate(header, Deflater.SYNC_FLUSH));
        if (zeroBlock == null) {
            zeroBlock = deflate(new byte[chunk], Deflater.SYNC_FLUSH);
        }
        byte[] block = zeroBlock;
        long left = zeros;
        while (left >= chunk) {
            out.writeBytes(block);
            left -= chunk;
        }
        out.writeBytes(deflate(new byte[(int) left], Deflater.FULL_FLUSH));
        out.writeBytes(deflate(new byte[0], Deflater.NO_FLUSH, true));
        return out.toByteArray();
    }

    private static byte[] deflate(byte[] in, int flush) {
        return deflate(in, flush, false);
    }

    private static byte[] deflate(byte[] in, int flush, boolean finish) {
        Deflater d = new Deflater(1, true);
        d.setInput(in);
        if (finish) {
            d.finish();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        while (true) {
            int n = d.deflate(buf, 0, buf.length, finish ? Deflater.NO_FLUSH : flush);
            out.write(buf, 0, n);
            if (finish ? d.finished() : n < buf.length) {
                break;
            }
        }
        d.end();
        return out.toByteArray();
    }

    /** One edit of a .npy stream's header. */
    private static byte[] editNpy(byte[] npy, SplittableRandom rnd, StringBuilder what) {
        ByteBuffer bb = ByteBuffer.wrap(npy).order(ByteOrder.LITTLE_ENDIAN);
        int major = npy[6];
        int lenBytes = major == 1 ? 2 : 4;
        int hlen = lenBytes == 2 ? bb.getShort(8) & 0xffff : bb.getInt(8);
        int prefix = 8 + lenBytes;
        String dict = new String(npy, prefix, hlen, StandardCharsets.ISO_8859_1).trim();
        byte[] data = Arrays.copyOfRange(npy, prefix + hlen, npy.length);
        String descr = "'<f4'";
        String fortran = "False";
        String shape = dict.substring(dict.indexOf("'shape': ") + 9, dict.lastIndexOf(')') + 1);
        long[] dims = Arrays.stream(shape.replaceAll("[() ]", "").split(",")).filter(s -> !s.isEmpty())
                .mapToLong(Long::parseLong).toArray();
        int version = 1;
        boolean fit = rnd.nextBoolean();
        String text = null;
        Integer lengthField = null;
        switch (rnd.nextInt(10)) {
            case 0, 1 -> {
                long[] d = dims.clone();
                switch (rnd.nextInt(6)) {
                    case 0 -> d = Arrays.copyOf(d, d.length + 1);
                    case 1 -> d = Arrays.copyOf(d, Math.max(0, d.length - 1));
                    case 2 -> d[rnd.nextInt(Math.max(1, d.length)) % Math.max(1, d.length)] = 0;
                    case 3 -> {
                        if (d.length > 0) {
                            d[rnd.nextInt(d.length)] += rnd.nextBoolean() ? 1 : -1;
                        }
                    }
                    case 4 -> {
                        if (d.length > 0) {
                            d[rnd.nextInt(d.length)] = new long[] {1L << 31, 1L << 40, 999_999_999_999_999_999L, 1L << 62}[rnd.nextInt(4)];
                        }
                    }
                    default -> {
                        long[] e = new long[33];
                        Arrays.fill(e, 1);
                        d = e;
                    }
                }
                dims = d;
                shape = tuple(d);
                what.append(" shape ").append(shape);
            }
            case 2 -> {
                shape = new String[] {"()", "(-1,)", "(3.5,)", "('a',)", "[1, 2]", "(1,,)", "(,)", "(1 2)", "((1,),)",
                        "(99999999999999999999,)", "(1L,)", "(0x10,)"}[rnd.nextInt(12)];
                what.append(" shape ").append(shape);
            }
            case 3, 4 -> {
                descr = new String[] {"'<f8'", "'>f4'", "'|O'", "'<f2'", "'<i4'", "'|u1'", "''", "'f4'", "'<U4'", "'|b1'",
                        "[('a', '<f4')]", "\"<f4\"", "'<f4", "'<c8'", "'<i8'", "'=u1'", "'<u1'"}[rnd.nextInt(17)];
                what.append(" descr ").append(descr);
            }
            case 5 -> {
                fortran = new String[] {"True", "1", "None", "'False'", "false", ""}[rnd.nextInt(6)];
                what.append(" fortran_order ").append(fortran);
            }
            case 6 -> {
                text = switch (rnd.nextInt(8)) {
                    case 0 -> "{'descr': '<f4', 'shape': " + shape + ", }";
                    case 1 -> "{'descr': '<f4', 'fortran_order': False, }";
                    case 2 -> "{'fortran_order': False, 'shape': " + shape + ", }";
                    case 3 -> "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
                    case 4 -> "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", 'extra': 1, }";
                    case 5 -> "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + "} trailing";
                    case 6 -> "";
                    default -> "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape;
                };
                what.append(" dict ").append(text);
            }
            case 7 -> {
                lengthField = new int[] {0, 1, hlen - 1, hlen + 1, hlen - 16, hlen + 16, 0xffff, 1 << 16, Integer.MAX_VALUE,
                        -1}[rnd.nextInt(10)];
                what.append(" header length ").append(lengthField);
            }
            case 8 -> {
                version = new int[] {0, 2, 3, 4, 255}[rnd.nextInt(5)];
                what.append(" version ").append(version);
            }
            default -> {
                byte[] c = npy.clone();
                c[rnd.nextInt(8)] ^= (byte) (1 << rnd.nextInt(8));
                what.append(" magic flip");
                return c;
            }
        }
        if (text == null) {
            text = "{'descr': " + descr + ", 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
        }
        if (fit) {
            long n = 1;
            for (long d : dims) {
                n = d < 0 || (d > 0 && n > (8L << 20) / d) ? -1 : n * d;
            }
            int size = descr.contains("f2") ? 2 : descr.contains("u1") || descr.contains("b1") ? 1 : descr.contains("8") ? 8 : 4;
            if (n >= 0 && n * size <= 8L << 20) {
                data = Arrays.copyOf(data, (int) (n * size));
                what.append(" data resized");
            }
        }
        byte[] rebuilt = NpzFileTest.npy(version == 1 || version == 0 || version > 3 ? 1 : version, text, data);
        rebuilt[6] = (byte) version;
        if (lengthField != null) {
            ByteBuffer r = ByteBuffer.wrap(rebuilt).order(ByteOrder.LITTLE_ENDIAN);
            if (version == 2 || version == 3) {
                r.putInt(8, lengthField);
            } else {
                r.putShort(8, (short) (int) lengthField);
            }
        }
        return rebuilt;
    }

    private static String tuple(long[] d) {
        StringBuilder sb = new StringBuilder("(");
        for (long x : d) {
            sb.append(x).append(", ");
        }
        if (d.length > 1) {
            sb.setLength(sb.length() - 2);
        } else if (d.length == 1) {
            sb.setLength(sb.length() - 1);
        }
        return sb.append(')').toString();
    }

    /**
     * A zip archive of the entries written by hand (no check that names are unique, stored or raw-deflated
     * data), sometimes with a central directory entry that lies about the uncompressed size.
     */
    private static byte[] zip(List<Entry> es, SplittableRandom rnd, StringBuilder what) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(original.length + 4096);
        ByteArrayOutputStream central = new ByteArrayOutputStream();
        int lie = rnd.nextInt(12) == 0 ? rnd.nextInt(es.size()) : -1;
        for (int i = 0; i < es.size(); i++) {
            Entry e = es.get(i);
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            byte[] body;
            long size;
            long crc;
            if (BOMB_SIZES.containsKey(e.data())) {
                body = e.data();
                size = BOMB_SIZES.get(body);
                crc = 0;
            } else {
                body = e.deflate() ? deflate(e.data(), Deflater.NO_FLUSH, true) : e.data();
                size = e.data().length;
                crc = CRCS.computeIfAbsent(e.data(), d -> {
                    CRC32 c = new CRC32();
                    c.update(d);
                    return c.getValue();
                });
            }
            long declared = size;
            if (i == lie) {
                declared = new long[] {0, size - 1, size + 1, 0xFFFF_FFFEL}[rnd.nextInt(4)];
                what.append(" central size of ").append(e.name()).append(" = ").append(declared);
            }
            int offset = out.size();
            int method = e.deflate() ? ZipEntry.DEFLATED : ZipEntry.STORED;
            ByteBuffer lh = ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN);
            lh.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) method).putInt(0)
                    .putInt((int) crc).putInt(body.length).putInt((int) declared).putShort((short) name.length).putShort((short) 0);
            out.writeBytes(lh.array());
            out.writeBytes(name);
            out.writeBytes(body);
            ByteBuffer ch = ByteBuffer.allocate(46).order(ByteOrder.LITTLE_ENDIAN);
            ch.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0).putShort((short) method)
                    .putInt(0).putInt((int) crc).putInt(body.length).putInt((int) declared).putShort((short) name.length)
                    .putShort((short) 0).putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0).putInt(offset);
            central.writeBytes(ch.array());
            central.writeBytes(name);
        }
        int cdOffset = out.size();
        out.writeBytes(central.toByteArray());
        ByteBuffer end = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
        end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) es.size()).putShort((short) es.size())
                .putInt(central.size()).putInt(cdOffset).putShort((short) 0);
        out.writeBytes(end.array());
        return out.toByteArray();
    }
}
