package dev.paligemma.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * decode(encode(s)) == s for the identity-normalized fixture model (except that a literal U+2581 in
 * the input comes back as a space, as in SentencePiece), plus structural checks of encodings.
 */
class TokenizerRoundTripTest {
    static String expectedRoundTrip(String s) {
        return s.replace('\u2581', ' ');
    }

    static final Tokenizer TOK = Tokenizer.load(
            Path.of(System.getProperty("paligemma.fixtures"), "tokenizer", "tokenizer.model"));

    @Test
    void generatedTextRoundTripsExactly() {
        TextGenerator gen = new TextGenerator(7, TOK);
        int bytePieces = 0, userDefined = 0;
        for (int i = 0; i < 3000; i++) {
            String s = gen.next();
            int[] ids = TOK.encode(s);
            assertEquals(expectedRoundTrip(s), TOK.decode(ids), () -> TokenizerGoldenTest.escape(s));
            for (int id : ids) {
                String p = TOK.piece(id);
                assertTrue(id != TOK.unkId() && id != TOK.bosId() && id != TOK.eosId() && id != TOK.padId(),
                        "text never yields <unk> (byte fallback) or control ids");
                assertTrue(p.indexOf(' ') < 0, "spaces are always escaped");
                if (p.startsWith("<0x")) bytePieces++;
                if (id == TOK.newlineId() || p.startsWith("<loc") || p.startsWith("<seg")) userDefined++;
            }
        }
        assertTrue(bytePieces > 1000 && userDefined > 300, "generator covers byte fallback and user-defined pieces");
    }

    @Test
    void userDefinedPiecesAreMatchedWholeAndLongestFirst() {
        assertArrayEquals(new int[] {704 + 123, 1728 + 42, 7, 7}, TOK.encode("<loc0123><seg042>\n\n"));
        assertEquals("<loc0123><seg042>\n", TOK.decode(new int[] {2, 704 + 123, 1728 + 42, 7, 1}));
        int[] turn = TOK.encode("<start_of_turn>user");
        assertEquals("<start_of_turn>", TOK.piece(turn[0]));
        // "<seg128>" is not a piece: it falls back to characters and bytes, never to <seg012>
        int[] notSeg = TOK.encode("<seg128>");
        assertTrue(notSeg.length > 1);
        assertEquals("<seg128>", TOK.decode(notSeg));
    }

    @Test
    void spaceSymbolInInputDecodesAsSpaceLikeSentencePiece() {
        assertArrayEquals(TOK.encode(" x"), TOK.encode("\u2581x"));
        assertEquals(" x", TOK.decode(TOK.encode("\u2581x")));
    }

    @Test
    void emojiSpanFourBytePiecesAndDecodeBack() {
        int[] ids = TOK.encode("\uD83D\uDE00");
        assertEquals(4, ids.length);
        assertArrayEquals(new int[] {TOK.id("<0xF0>"), TOK.id("<0x9F>"), TOK.id("<0x98>"), TOK.id("<0x80>")}, ids);
        assertEquals("\uD83D\uDE00", TOK.decode(ids));
    }

    @Test
    void longInputIsEncodedInOnePassAndRoundTrips() {
        StringBuilder sb = new StringBuilder();
        TextGenerator gen = new TextGenerator(99, TOK);
        while (sb.length() < 200_000) sb.append(gen.next());
        String s = sb.toString();
        assertTrue(expectedRoundTrip(s).equals(TOK.decode(TOK.encode(s))), "200 KB text round-trips");
        // a pathological run of one character must not be quadratic
        String spaces = " ".repeat(300_000);
        long t0 = System.nanoTime();
        assertEquals(spaces, TOK.decode(TOK.encode(spaces)));
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "300k spaces encode in well under 5 s");
    }

    @Test
    void sharedInstanceIsThreadSafe() throws Exception {
        List<String> texts = new ArrayList<>();
        TextGenerator gen = new TextGenerator(3, TOK);
        for (int i = 0; i < 400; i++) texts.add(gen.next());
        List<int[]> expected = texts.stream().map(TOK::encode).toList();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                results.add(pool.submit(() -> {
                    for (int i = 0; i < texts.size(); i++) {
                        if (!java.util.Arrays.equals(expected.get(i), TOK.encode(texts.get(i)))) return false;
                        if (!expectedRoundTrip(texts.get(i)).equals(TOK.decode(expected.get(i)))) return false;
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : results) assertTrue(f.get());
        } finally {
            pool.shutdown();
        }
    }
}
