package dev.paligemma.tokenizer;

import dev.paligemma.core.testing.FuzzHarness;
import dev.paligemma.core.testing.Mutations;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes {@link Tokenizer#load} with mutated copies of the fixture {@code tokenizer.model}: raw byte
 * damage (flips, insertions, deletions, truncations, extensions, boundary integers) and protobuf field
 * edits (top-level fields deleted, duplicated, reordered; a piece's bytes mutated in place). A load that
 * succeeds must encode and decode a few strings with in-range ids; a load that fails must throw a
 * {@code PaliGemmaException} naming the file. Deterministic seeds; each case bounded to 5 s.
 */
class TokenizerFuzzTest {
    static final long SEED = 0x70C311AEL;
    static final int BYTE_CASES = 1500;
    static final int FIELD_CASES = 1500;
    static final String[] TEXTS = {"hello world", "<loc0012><loc1023><seg042> cat\n", "  two  spaces ",
            "\u65e5\u672c\u8a9e \uD83D\uDE00", "", "12345"};

    @TempDir
    Path tmp;

    static final Path MODEL = Path.of(System.getProperty("paligemma.fixtures")).resolve("tokenizer/tokenizer.model");

    static void exercise(Path file) {
        Tokenizer t = Tokenizer.load(file);
        int v = t.vocabSize();
        assertTrue(v > 0);
        for (String s : TEXTS) {
            int[] ids = t.encode(s);
            for (int id : ids) {
                assertTrue(id >= 0 && id < v, "id " + id + " outside vocabulary " + v);
            }
            t.decode(ids);
        }
        int[] some = new int[Math.min(v, 64)];
        for (int i = 0; i < some.length; i++) {
            some[i] = (int) ((long) i * 7919 % v);
        }
        t.decode(some);
        for (int special : new int[] {t.bosId(), t.eosId(), t.padId(), t.unkId()}) {
            assertTrue(special >= -1 && special < v, "special id " + special);
        }
    }

    @Test
    void byteMutations() throws Exception {
        byte[] src = Files.readAllBytes(MODEL);
        try (FuzzHarness h = new FuzzHarness("tokenizer bytes", 5_000)) {
            for (int i = 0; i < BYTE_CASES; i++) {
                long seed = SEED + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                StringBuilder what = new StringBuilder();
                byte[] mutated = Mutations.mutate(src, 0, rnd, what);
                Path f = tmp.resolve("case-" + i + ".model");
                Files.write(f, mutated);
                h.run(seed, what.toString(), f.getFileName().toString(), () -> exercise(f));
                Files.delete(f);
            }
        }
    }

    /** Top-level protobuf fields of {@code b} as [start, end) byte ranges; null if the framing is not length-delimited. */
    static List<int[]> topLevelFields(byte[] b) {
        List<int[]> out = new ArrayList<>();
        int p = 0;
        while (p < b.length) {
            int start = p;
            long key = 0;
            for (int shift = 0; ; shift += 7) {
                byte x = b[p++];
                key |= (long) (x & 0x7F) << shift;
                if (x >= 0) {
                    break;
                }
            }
            if ((key & 7) != 2) {
                return null;
            }
            long len = 0;
            for (int shift = 0; ; shift += 7) {
                byte x = b[p++];
                len |= (long) (x & 0x7F) << shift;
                if (x >= 0) {
                    break;
                }
            }
            p += (int) len;
            out.add(new int[] {start, p});
        }
        return out;
    }

    @Test
    void fieldEdits() throws Exception {
        byte[] src = Files.readAllBytes(MODEL);
        List<int[]> fields = topLevelFields(src);
        assertTrue(fields != null && fields.size() > 1800, "the fixture is a SentencePiece model");
        try (FuzzHarness h = new FuzzHarness("tokenizer fields", 5_000)) {
            for (int i = 0; i < FIELD_CASES; i++) {
                long seed = SEED + 1_000_000 + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                List<int[]> order = new ArrayList<>(fields);
                // pieces are most fields; the specs (trainer, normalizer) at the end matter as much, so favour them
                int pick = rnd.nextInt(3) == 0 ? order.size() - 1 - rnd.nextInt(Math.min(4, order.size())) : rnd.nextInt(order.size());
                int op = rnd.nextInt(5);
                StringBuilder what = new StringBuilder("op" + op + " field#" + pick);
                byte[] mutatedField = null;
                switch (op) {
                    case 0 -> order.remove(pick);
                    case 1 -> order.add(rnd.nextInt(order.size() + 1), order.get(pick));
                    case 2 -> {
                        int other = rnd.nextInt(order.size());
                        order.set(pick, order.set(other, order.get(pick)));
                        what.append("<->").append(other);
                    }
                    case 3 -> order.subList(pick, order.size()).clear();
                    default -> {
                        int[] r = order.get(pick);
                        byte[] field = java.util.Arrays.copyOfRange(src, r[0], r[1]);
                        mutatedField = Mutations.mutate(field, 0, rnd, what);
                    }
                }
                ByteArrayOutputStream out = new ByteArrayOutputStream(src.length + 64);
                for (int k = 0; k < order.size(); k++) {
                    if (mutatedField != null && k == pick) {
                        out.write(mutatedField);
                    } else {
                        int[] r = order.get(k);
                        out.write(src, r[0], r[1] - r[0]);
                    }
                }
                Path f = tmp.resolve("case-" + i + ".model");
                Files.write(f, out.toByteArray());
                h.run(seed, what.toString(), f.getFileName().toString(), () -> exercise(f));
                Files.delete(f);
            }
        }
    }
}
