package dev.paligemma.segmentation;

import dev.paligemma.core.CheckpointException;

import java.util.ArrayList;
import java.util.List;

/**
 * The header dict of a {@code .npy} file, e.g. {@code {'descr': '<f4', 'fortran_order': False, 'shape': (128, 512), }}.
 *
 * <p>The dict is a Python literal; it is read by a small recursive-descent parser that understands only
 * strings, {@code True}/{@code False} and tuples of non-negative integers, so nothing in a file is ever
 * evaluated.
 */
record NpyHeader(String descr, boolean fortranOrder, long[] shape) {

    /** Parses the header text; {@code where} names the file and array for error messages. */
    static NpyHeader parse(String text, String where) {
        return new Parser(text, where).parseHeader();
    }

    private static final class Parser {
        private final String s;
        private final String where;
        private int pos;

        Parser(String s, String where) {
            this.s = s;
            this.where = where;
        }

        NpyHeader parseHeader() {
            String descr = null;
            Boolean fortran = null;
            long[] shape = null;
            skipSpace();
            expect('{');
            while (true) {
                skipSpace();
                if (peek() == '}') {
                    pos++;
                    break;
                }
                String key = parseString();
                skipSpace();
                expect(':');
                skipSpace();
                switch (key) {
                    case "descr" -> {
                        if (descr != null) {
                            throw fail("duplicate key 'descr'");
                        }
                        if (peek() != '\'' && peek() != '"') {
                            throw fail("unsupported dtype: 'descr' is not a simple type string (structured dtypes are not supported)");
                        }
                        descr = parseString();
                    }
                    case "fortran_order" -> {
                        if (fortran != null) {
                            throw fail("duplicate key 'fortran_order'");
                        }
                        fortran = parseBool();
                    }
                    case "shape" -> {
                        if (shape != null) {
                            throw fail("duplicate key 'shape'");
                        }
                        shape = parseShape();
                    }
                    default -> throw fail("unexpected key '" + key + "'");
                }
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != '}') {
                    throw fail("expected ',' or '}' at offset " + pos);
                }
            }
            skipSpace();
            if (pos != s.length()) {
                throw fail("trailing characters after the header dict at offset " + pos);
            }
            if (descr == null || fortran == null || shape == null) {
                throw fail("header dict lacks one of 'descr', 'fortran_order', 'shape'");
            }
            return new NpyHeader(descr, fortran, shape);
        }

        private long[] parseShape() {
            expect('(');
            List<Long> dims = new ArrayList<>();
            while (true) {
                skipSpace();
                if (peek() == ')') {
                    pos++;
                    break;
                }
                dims.add(parseDim());
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != ')') {
                    throw fail("expected ',' or ')' in shape at offset " + pos);
                }
            }
            if (dims.size() > 32) {
                throw fail("shape has " + dims.size() + " dimensions (numpy allows at most 32)");
            }
            long[] out = new long[dims.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = dims.get(i);
            }
            return out;
        }

        private long parseDim() {
            int start = pos;
            while (pos < s.length() && Character.isDigit(s.charAt(pos))) {
                pos++;
            }
            // tolerate Python 2 long suffix written by old numpy versions
            if (pos < s.length() && s.charAt(pos) == 'L') {
                pos++;
                if (pos - 1 == start) {
                    throw fail("expected a dimension at offset " + start);
                }
                return toLong(s.substring(start, pos - 1), start);
            }
            if (pos == start) {
                throw fail("expected a non-negative integer dimension at offset " + start);
            }
            return toLong(s.substring(start, pos), start);
        }

        private long toLong(String digits, int at) {
            if (digits.length() > 18) {
                throw fail("dimension too large at offset " + at);
            }
            return Long.parseLong(digits);
        }

        private boolean parseBool() {
            if (s.startsWith("True", pos)) {
                pos += 4;
                return true;
            }
            if (s.startsWith("False", pos)) {
                pos += 5;
                return false;
            }
            throw fail("expected True or False at offset " + pos);
        }

        private String parseString() {
            char q = peek();
            if (q != '\'' && q != '"') {
                throw fail("expected a quoted string at offset " + pos);
            }
            pos++;
            int start = pos;
            while (pos < s.length() && s.charAt(pos) != q) {
                if (s.charAt(pos) == '\\') {
                    throw fail("escape sequences are not supported in header strings (offset " + pos + ")");
                }
                pos++;
            }
            if (pos >= s.length()) {
                throw fail("unterminated string starting at offset " + (start - 1));
            }
            String out = s.substring(start, pos);
            pos++;
            return out;
        }

        private void expect(char c) {
            if (peek() != c) {
                throw fail("expected '" + c + "' at offset " + pos);
            }
            pos++;
        }

        private char peek() {
            return pos < s.length() ? s.charAt(pos) : '\0';
        }

        private void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        private CheckpointException fail(String why) {
            return new CheckpointException(where + ": malformed .npy header: " + why);
        }
    }
}
