package dev.paligemma.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.sentencepiece.SpProcessor;
import ai.djl.sentencepiece.SpTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Compares encode against the SentencePiece C++ library (through djl-sentencepiece, test scope only)
 * on thousands of generated strings, for the fixture model and for variants of it that switch on the
 * normalizer and trainer flags PaliGemma leaves off. DJL's own decode mangles characters outside the
 * BMP, so decode is checked by the goldens and by round trips instead.
 */
class TokenizerReferenceTest {
    static final Path MODEL = Path.of(System.getProperty("paligemma.fixtures"), "tokenizer", "tokenizer.model");

    static void compare(byte[] modelBytes, Path modelFile, int count, long seed) throws Exception {
        Tokenizer ours = Tokenizer.load(modelFile);
        try (SpTokenizer sp = new SpTokenizer(modelBytes)) {
            SpProcessor ref = sp.getProcessor();
            TextGenerator gen = new TextGenerator(seed, ours);
            for (int i = 0; i < count; i++) {
                String text = gen.next();
                int[] expected = ref.encode(text);
                assertArrayEquals(expected, ours.encode(text),
                        () -> "case " + " " + TokenizerGoldenTest.escape(text));
            }
        }
    }

    @Test
    void fixtureModelMatchesSentencePieceOnGeneratedText() throws Exception {
        compare(Files.readAllBytes(MODEL), MODEL, 4000, 42);
    }

    /** Rebuilds the fixture's vocabulary with other flags, optionally turning some pieces UNUSED or dropping bytes. */
    static byte[] variant(boolean dummyPrefix, boolean removeExtraWs, boolean wsSuffix, boolean byteFallback,
            boolean someUnused) throws Exception {
        ModelProto m = ModelProto.parse(Files.readAllBytes(MODEL));
        ModelWriter w = new ModelWriter();
        for (int i = 0; i < m.pieceCount; i++) {
            int type = m.types[i];
            if (type == ModelProto.BYTE && !byteFallback) continue;
            // every 7th multi-character normal piece becomes UNUSED: merges through it must be undone
            if (someUnused && type == ModelProto.NORMAL && i % 7 == 0 && m.pieces[i].length > 1) type = ModelProto.UNUSED;
            w.piece(m.pieces[i], m.scores[i], type);
        }
        return w.trainerSpec(ModelProto.BPE, byteFallback, wsSuffix)
                .normalizerSpec(dummyPrefix, removeExtraWs, true).bytes();
    }

    static void compareVariant(byte[] bytes, long seed) throws Exception {
        Path f = Files.createTempFile("variant", ".model");
        try {
            Files.write(f, bytes);
            compare(bytes, f, 1500, seed);
        } finally {
            Files.delete(f);
        }
    }

    @Test
    void dummyPrefixAndExtraWhitespaceRemovalMatchSentencePiece() throws Exception {
        compareVariant(variant(true, true, false, true, false), 1);
        compareVariant(variant(true, false, false, true, false), 2);
        compareVariant(variant(false, true, false, true, false), 3);
    }

    @Test
    void whitespaceAsSuffixMatchesSentencePiece() throws Exception {
        compareVariant(variant(true, false, true, true, false), 4);
    }

    @Test
    void withoutByteFallbackUnknownRunsCollapseAsSentencePiece() throws Exception {
        compareVariant(variant(false, false, false, false, false), 5);
        compareVariant(variant(true, true, false, false, false), 6);
    }

    @Test
    void unusedPiecesAreResegmentedAsSentencePiece() throws Exception {
        compareVariant(variant(false, false, false, true, true), 7);
        compareVariant(variant(true, true, false, false, true), 8);
    }

    @Test
    void referenceAgreesOnSpecialIds() throws Exception {
        Tokenizer ours = Tokenizer.load(MODEL);
        try (SpTokenizer sp = new SpTokenizer(Files.readAllBytes(MODEL))) {
            SpProcessor ref = sp.getProcessor();
            for (int id = 0; id < ours.vocabSize(); id++) {
                assertEquals(ref.getToken(id), ours.piece(id), "piece " + id);
                assertEquals(ref.getId(ours.piece(id)), ours.id(ours.piece(id)), "id of piece " + id);
            }
        }
    }
}
