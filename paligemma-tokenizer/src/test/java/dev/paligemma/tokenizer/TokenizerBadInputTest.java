package dev.paligemma.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.TokenizerException;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Missing, truncated, foreign and hostile files, bad ids and malformed text all fail cleanly or follow SentencePiece. */
class TokenizerBadInputTest {
    static final Path FIXTURES = Path.of(System.getProperty("paligemma.fixtures"));
    static final Path MODEL = FIXTURES.resolve("tokenizer/tokenizer.model");

    @TempDir
    Path tmp;

    TokenizerException loadFails(byte[] bytes, String expectedFragment) throws Exception {
        Path f = tmp.resolve("bad-" + System.nanoTime() + ".model");
        Files.write(f, bytes);
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.load(f));
        assertTrue(e.getMessage().contains(f.toString()), () -> "message names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expectedFragment), () -> "message says why: " + e.getMessage());
        return e;
    }

    static ModelWriter minimalPieces(ModelWriter w) {
        return w.piece("<unk>", 0, ModelProto.UNKNOWN).piece("<bos>", 0, ModelProto.CONTROL)
                .piece("a", -1, ModelProto.NORMAL).piece("b", -2, ModelProto.NORMAL);
    }

    @Test
    void missingFileNamesTheFile() {
        Path f = tmp.resolve("nope/tokenizer.model");
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.load(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void directoryIsRejected() {
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.load(tmp));
        assertTrue(e.getMessage().contains(tmp.toString()), e.getMessage());
    }

    @Test
    void truncatedModelIsRejected() throws Exception {
        byte[] full = Files.readAllBytes(MODEL);
        for (int len : new int[] {1, 2, 3, 100, full.length / 2, full.length - 1}) {
            loadFails(Arrays.copyOf(full, len), "");
        }
        loadFails(Arrays.copyOf(full, full.length / 2), "truncated");
    }

    @Test
    void foreignFilesAreRejected() throws Exception {
        loadFails(new byte[0], "no vocabulary pieces");
        loadFails(Files.readAllBytes(FIXTURES.resolve("tokenizer/tokenizer_golden.json")), "");
        loadFails(Files.readAllBytes(FIXTURES.resolve("images/scene.png")), "");
        loadFails(Files.readAllBytes(FIXTURES.resolve("paligemma-tiny/config.json")), "");
        loadFails("hello world\n".getBytes(), "");
    }

    @Test
    void hugeLengthPrefixIsRejectedBeforeAllocation() throws Exception {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ModelWriter.tag(o, 1, 2);
        ModelWriter.varint(o, (1L << 31) - 1); // a piece message claiming 2 GiB
        o.write(new byte[16]);
        loadFails(o.toByteArray(), "exceeds");
        ByteArrayOutputStream o2 = new ByteArrayOutputStream();
        ModelWriter.tag(o2, 1, 2);
        ModelWriter.varint(o2, Long.MAX_VALUE);
        loadFails(o2.toByteArray(), "exceeds");
    }

    @Test
    void claimedTwoBillionPieceVocabularyIsRejected() throws Exception {
        ModelWriter w = minimalPieces(new ModelWriter());
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        ModelWriter.varintField(t, 3, ModelProto.BPE);
        ModelWriter.varintField(t, 4, 1L << 31);
        ModelWriter.bytesField(w.out, 2, t.toByteArray());
        loadFails(w.bytes(), "2147483648");
    }

    @Test
    void unimplementedModelTypesAreRejected() throws Exception {
        loadFails(minimalPieces(new ModelWriter()).trainerSpec(ModelProto.UNIGRAM, false, false).bytes(), "UNIGRAM");
        loadFails(minimalPieces(new ModelWriter()).trainerSpec(ModelProto.WORD, false, false).bytes(), "WORD");
        // no trainer_spec at all: proto2 default model type is UNIGRAM
        loadFails(minimalPieces(new ModelWriter()).bytes(), "UNIGRAM");
    }

    @Test
    void precompiledNormalizationIsRejected() throws Exception {
        ModelWriter w = minimalPieces(new ModelWriter()).trainerSpec(ModelProto.BPE, false, false);
        ByteArrayOutputStream n = new ByteArrayOutputStream();
        ModelWriter.bytesField(n, 1, "nmt_nfkc".getBytes());
        ModelWriter.bytesField(n, 2, new byte[] {4, 0, 0, 0, 1, 2, 3, 4, 5});
        ModelWriter.bytesField(w.out, 3, n.toByteArray());
        loadFails(w.bytes(), "nmt_nfkc");
    }

    @Test
    void inconsistentVocabulariesAreRejected() throws Exception {
        loadFails(new ModelWriter().piece("a", 0, 1).trainerSpec(ModelProto.BPE, false, false).bytes(), "UNKNOWN");
        loadFails(minimalPieces(new ModelWriter()).piece("a", 0, 1).trainerSpec(ModelProto.BPE, false, false).bytes(),
                "already defined");
        loadFails(minimalPieces(new ModelWriter()).piece("<0x41>", 0, ModelProto.BYTE)
                .trainerSpec(ModelProto.BPE, false, false).bytes(), "byte_fallback is false");
        loadFails(minimalPieces(new ModelWriter()).piece("<0x41>", 0, ModelProto.BYTE)
                .trainerSpec(ModelProto.BPE, true, false).bytes(), "<0x00>");
        loadFails(minimalPieces(new ModelWriter()).piece("", 0, 1).trainerSpec(ModelProto.BPE, false, false).bytes(), "empty");
        loadFails(minimalPieces(new ModelWriter()).piece("x", 0, 9).trainerSpec(ModelProto.BPE, false, false).bytes(), "type 9");
    }

    @Test
    void smallHandBuiltModelLoadsAndEncodes() throws Exception {
        Path f = tmp.resolve("small.model");
        Files.write(f, minimalPieces(new ModelWriter()).piece("ab", -0.5f, 1)
                .trainerSpec(ModelProto.BPE, false, false).normalizerSpec(false, false, true).bytes());
        Tokenizer t = Tokenizer.load(f);
        assertArrayEquals(new int[] {4, 2}, t.encode("aba"));
        assertArrayEquals(new int[] {4, 0}, t.encode("abzz")); // a run of unknowns collapses to one <unk>
        assertEquals("ab \u2047 ", t.decode(new int[] {4, 0}));
        assertEquals(1, t.bosId());
        assertEquals(-1, t.eosId());
        assertEquals(-1, t.newlineId());
    }

    @Test
    void nullTextAndIdsThrowClearNullPointerExceptions() {
        Tokenizer t = Tokenizer.load(MODEL);
        NullPointerException e = assertThrows(NullPointerException.class, () -> t.encode(null));
        assertTrue(e.getMessage().contains("text"), e.getMessage());
        assertThrows(NullPointerException.class, () -> t.decode(null));
        assertThrows(NullPointerException.class, () -> Tokenizer.load(null));
    }

    @Test
    void badIdsNameTheId() {
        Tokenizer t = Tokenizer.load(MODEL);
        for (int bad : new int[] {-1, 1856, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> t.decode(new int[] {5, bad}));
            assertTrue(e.getMessage().contains(Integer.toString(bad)), e.getMessage());
            assertTrue(e.getMessage().contains("index 1"), e.getMessage());
            InvalidArgumentException p = assertThrows(InvalidArgumentException.class, () -> t.piece(bad));
            assertTrue(p.getMessage().contains(Integer.toString(bad)), p.getMessage());
        }
    }

    @Test
    void unpairedSurrogatesEncodeAsReplacementCharacter() {
        Tokenizer t = Tokenizer.load(MODEL);
        // U+FFFD is EF BF BD: not in the fixture vocabulary, so three byte pieces
        int[] fffd = {t.id("<0xEF>"), t.id("<0xBF>"), t.id("<0xBD>")};
        assertArrayEquals(fffd, t.encode("\uD800"));
        assertArrayEquals(fffd, t.encode("\uDC00"));
        assertArrayEquals(t.encode("a\uFFFDb\uFFFD"), t.encode("a\uD83Db\uDC31"));
        assertArrayEquals(t.encode("\uFFFD\uFFFD"), t.encode("\uDC31\uD83D")); // reversed pair: two lone halves
        assertArrayEquals(t.encode("x\uFFFD"), t.encode("x\uDBFF"));
        assertEquals("a\uFFFDb", t.decode(t.encode("a\uD800b")));
    }

    @Test
    void malformedByteSequencesDecodeToOneReplacementPerByte() {
        Tokenizer t = Tokenizer.load(MODEL);
        int f0 = t.id("<0xF0>"), x9f = t.id("<0x9F>"), x90 = t.id("<0x90>"), xb1 = t.id("<0xB1>");
        int a = t.id("a");
        assertEquals("\uD83D\uDC31", t.decode(new int[] {f0, x9f, x90, xb1}));
        // a cut emoji: each byte that starts no well-formed character is one U+FFFD, as SentencePiece does
        assertEquals("\uFFFD\uFFFD\uFFFDa", t.decode(new int[] {f0, x9f, x90, a}));
        assertEquals("\uFFFD\uD83D\uDC31", t.decode(new int[] {x9f, f0, x9f, x90, xb1}));
        // a non-byte piece between byte pieces splits the run
        assertEquals("\uFFFD\uFFFDa\uFFFD\uFFFD", t.decode(new int[] {f0, x9f, a, x90, xb1}));
        // overlong encoding of '/', encoded surrogate, beyond U+10FFFF
        assertEquals("\uFFFD\uFFFD", t.decode(new int[] {t.id("<0xC0>"), t.id("<0xAF>")}));
        assertEquals("\uFFFD\uFFFD\uFFFD", t.decode(new int[] {t.id("<0xED>"), t.id("<0xA0>"), t.id("<0x80>")}));
        assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD", t.decode(new int[] {t.id("<0xF4>"), x90, t.id("<0x80>"), t.id("<0x80>")}));
        assertEquals("A", t.decode(new int[] {t.id("<0x41>")}));
    }
}
