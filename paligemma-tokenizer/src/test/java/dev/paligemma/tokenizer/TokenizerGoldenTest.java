package dev.paligemma.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every case of fixtures/tokenizer/tokenizer_golden.json (made by SentencePiece itself) must match exactly. */
class TokenizerGoldenTest {
    static Path dir;
    static Tokenizer tok;
    static Map<String, Object> golden;

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void load() throws IOException {
        dir = Path.of(System.getProperty("paligemma.fixtures"), "tokenizer");
        tok = Tokenizer.load(dir.resolve("tokenizer.model"));
        golden = (Map<String, Object>) MiniJson.parse(Files.readString(dir.resolve("tokenizer_golden.json")));
    }

    static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(o -> ((Long) o).intValue()).toArray();
    }

    @Test
    @SuppressWarnings("unchecked")
    void specialIdsAndVocabSize() {
        assertEquals(1856, tok.vocabSize());
        assertEquals(((Long) golden.get("vocab_size")).intValue(), tok.vocabSize());
        Map<String, Object> sp = (Map<String, Object>) golden.get("special");
        assertEquals(((Long) sp.get("pad")).intValue(), tok.padId());
        assertEquals(((Long) sp.get("eos")).intValue(), tok.eosId());
        assertEquals(((Long) sp.get("bos")).intValue(), tok.bosId());
        assertEquals(((Long) sp.get("unk")).intValue(), tok.unkId());
        assertEquals(((Long) sp.get("newline")).intValue(), tok.newlineId());
        assertEquals(((Long) sp.get("loc0000")).intValue(), tok.id("<loc0000>"));
        assertEquals(((Long) sp.get("seg000")).intValue(), tok.id("<seg000>"));
        assertEquals(0, tok.padId());
        assertEquals(1, tok.eosId());
        assertEquals(2, tok.bosId());
        assertEquals(3, tok.unkId());
        assertEquals(7, tok.newlineId());
        assertEquals("<loc1023>", tok.piece(1727));
        assertEquals("<seg127>", tok.piece(1855));
        assertEquals(-1, tok.id("<not a piece>"));
        assertEquals(-1, tok.id(""));
        assertEquals(67, tok.id("<0x3B>"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyGoldenCaseMatchesIdsPiecesAndDecodedText() {
        List<Object> cases = (List<Object>) golden.get("cases");
        assertEquals(23, cases.size());
        for (Object o : cases) {
            Map<String, Object> c = (Map<String, Object>) o;
            String text = (String) c.get("text");
            int[] expected = ints(c.get("ids"));
            int[] ids = tok.encode(text);
            assertArrayEquals(expected, ids, () -> "ids of " + escape(text));
            List<Object> pieces = (List<Object>) c.get("pieces");
            for (int i = 0; i < ids.length; i++) {
                assertEquals(pieces.get(i), tok.piece(ids[i]), "piece " + i + " of " + escape(text));
            }
            assertEquals(c.get("decoded"), tok.decode(expected), () -> "decode of " + escape(text));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void goldenDecodeCasesDropControlPiecesAndJoinBytesAcrossPieces() {
        for (Object o : (List<Object>) golden.get("decode_cases")) {
            Map<String, Object> c = (Map<String, Object>) o;
            assertEquals(c.get("text"), tok.decode(ints(c.get("ids"))));
        }
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp > 0x7E) sb.append(String.format("\\u{%X}", cp));
            else sb.appendCodePoint(cp);
        });
        return sb.append('"').toString();
    }
}
