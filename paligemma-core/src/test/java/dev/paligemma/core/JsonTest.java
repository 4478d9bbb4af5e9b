package dev.paligemma.core;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {
    private static void bad(String text) {
        assertThrows(Json.JsonException.class, () -> Json.parse(text), text);
    }

    @Test
    void validDocument() {
        Object v = Json.parse(" {\"a\": [1, -2, 3.5, true, false, null, \"s\"], \"b\": {}, \"c\": [], \"d\": {\"e\": {\"f\": 0}}}\n");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of("a", "b", "c", "d"), List.copyOf(m.keySet()), "insertion order kept");
        assertEquals(Arrays.asList(1L, -2L, 3.5, true, false, null, "s"), m.get("a"));
        assertEquals(Map.of(), m.get("b"));
        assertEquals(List.of(), m.get("c"));
        assertEquals(0L, ((Map<?, ?>) ((Map<?, ?>) m.get("d")).get("e")).get("f"));
        assertNull(Json.parse("null"));
        assertEquals("x", Json.parse("\"x\""));
        assertThrows(UnsupportedOperationException.class, () -> ((Map<String, Object>) m).put("z", 1));
    }

    @Test
    void escapes() {
        assertEquals("\"\\/\b\f\n\r\t", Json.parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""));
        assertEquals("é\u0000A", Json.parse("\"\\u00e9\\u0000\\u0041\""));
        // U+1F600 as a surrogate pair
        String s = (String) Json.parse("\"\\ud83d\\ude00\"");
        assertEquals(0x1F600, s.codePointAt(0));
        assertEquals(2, s.length());
        assertEquals("日本", Json.parse("\"日本\""));
        bad("\"\\x\"");
        bad("\"\\u12\"");
        bad("\"\\u12g4\"");
        bad("\"abc");
        bad("\"a\nb\"");
        bad("\"\\");
    }

    @Test
    void nestingIsBounded() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        assertTrue(Json.parse(ok) instanceof List<?>);
        Json.JsonException e = assertThrows(Json.JsonException.class,
                () -> Json.parse("[".repeat(100_000) + "]".repeat(100_000)));
        assertTrue(e.getMessage().contains("nesting"), e.getMessage());
        assertThrows(Json.JsonException.class, () -> Json.parse("{\"a\":".repeat(10_000) + "1" + "}".repeat(10_000)));
    }

    @Test
    void duplicateKeysRejected() {
        Json.JsonException e = assertThrows(Json.JsonException.class, () -> Json.parse("{\"a\": 1, \"a\": 2}"));
        assertTrue(e.getMessage().contains("\"a\""));
        Json.parse("{\"a\": {\"a\": 1}}");
    }

    @Test
    void numbers() {
        assertEquals(0L, Json.parse("0"));
        assertEquals(-0.0, Json.parse("-0.0"));
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(9223372036854775808.0, Json.parse("9223372036854775808"), "past long range: a double");
        assertEquals(1e30, Json.parse("1000000000000000000000000000000"));
        assertEquals(1e-6, Json.parse("1e-06"));
        assertEquals(2.5e10, Json.parse("2.5E+10"));
        assertEquals(10000.0, Json.parse("1e4"));
        assertEquals(0.00392156862745098, Json.parse("0.00392156862745098"));
        bad("-");
        bad("1.");
        bad(".5");
        bad("1e");
        bad("1e+");
        bad("+1");
        bad("0x10");
        bad("NaN");
        bad("Infinity");
        bad("01");
        bad("-01");
    }

    @Test
    void trailingGarbageAndOtherMalformations() {
        bad("{} x");
        bad("[1] [2]");
        bad("1 2");
        bad("");
        bad("   ");
        bad("[1,]");
        bad("{\"a\":1,}");
        bad("{a:1}");
        bad("{\"a\" 1}");
        bad("[1 2]");
        bad("tru");
        bad("nul");
        bad("{\"a\":1");
        bad("[");
        bad("\ufeff{}");
        assertThrows(Json.JsonException.class, () -> Json.parse(null));
        Json.JsonException e = assertThrows(Json.JsonException.class, () -> Json.parse("{\"a\": 1} }"));
        assertTrue(e.getMessage().contains("offset 9"), e.getMessage());
    }

    @Test
    void writtenJsonParsesBackToTheSameValues() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("text", "quote \" backslash \\ newline \n tab \t bell \u0007 emoji \uD83D\uDE00");
        m.put("ints", new int[] {1, -2, 3});
        m.put("floats", new float[] {0.5f, Float.NaN});
        m.put("list", List.of(1L, true, "x"));
        m.put("nested", Map.of("k", 2.25));
        m.put("none", null);
        Object back = Json.parse(Json.write(m));
        Map<?, ?> b = (Map<?, ?>) back;
        assertEquals(m.get("text"), b.get("text"));
        assertEquals(List.of(1L, -2L, 3L), b.get("ints"));
        assertEquals(Arrays.asList(0.5, null), b.get("floats"), "NaN is written as null");
        assertEquals(List.of(1L, true, "x"), b.get("list"));
        assertEquals(Map.of("k", 2.25), b.get("nested"));
        assertTrue(b.containsKey("none") && b.get("none") == null);
    }
}
