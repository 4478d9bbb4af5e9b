package dev.paligemma.tokenizer;

/**
 * SentencePiece's {@code Normalizer} for models without a precompiled character map (the
 * "identity" rule PaliGemma uses): optional removal of leading, trailing and repeated spaces, an
 * optional dummy space before (or, with treat_whitespace_as_suffix, after) the text, and spaces
 * escaped to U+2581. User-defined pieces are kept whole while spaces are squeezed, as the C++
 * normalizer does through its prefix matcher.
 */
final class Normalizer {
    static final byte[] SPACE_SYMBOL = {(byte) 0xE2, (byte) 0x96, (byte) 0x81};
    private static final byte[] REPLACEMENT_UTF8 = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};

    private final boolean addDummyPrefix;
    private final boolean removeExtraWhitespaces;
    private final boolean escapeWhitespaces;
    private final boolean treatWhitespaceAsSuffix;
    private final PrefixMatcher matcher;

    Normalizer(ModelProto m, PrefixMatcher matcher) {
        this.addDummyPrefix = m.addDummyPrefix;
        this.removeExtraWhitespaces = m.removeExtraWhitespaces;
        this.escapeWhitespaces = m.escapeWhitespaces;
        this.treatWhitespaceAsSuffix = m.treatWhitespaceAsSuffix;
        this.matcher = matcher;
    }

    /** Normalizes UTF-8 {@code in}; the result is exactly what SentencePiece hands its model. */
    byte[] normalize(byte[] in) {
        int n = in.length;
        int pos = 0;
        if (n == 0) return in;
        if (removeExtraWhitespaces) {
            while (pos < n) {
                int len = unitLength(in, pos, n);
                if (!(len == 1 && in[pos] == ' ')) break;
                pos += len;
            }
            if (pos == n) return new byte[0];
        }
        Out out = new Out(n * 3 + 6);
        if (!treatWhitespaceAsSuffix && addDummyPrefix) out.space(escapeWhitespaces);
        if (!removeExtraWhitespaces) {
            // Without space squeezing, grouping into user-defined units cannot change the output,
            // and the input (from a Java string) is well-formed UTF-8: a byte-wise escape suffices.
            for (; pos < n; pos++) {
                byte b = in[pos];
                if (b == ' ' && escapeWhitespaces) out.space(true);
                else out.put(b);
            }
        } else {
            boolean prevSpace = true;
            while (pos < n) {
                int len = unitLength(in, pos, n);
                byte[] src = in;
                int s = pos, e = pos + len;
                if (len == 1 && (in[pos] & 0x80) != 0 && Utf8.decodeOne(in, pos, n) == ((1L << 32) | Utf8.REPLACEMENT)) {
                    src = REPLACEMENT_UTF8;
                    s = 0;
                    e = 3;
                }
                if (prevSpace) {
                    while (s < e && src[s] == ' ') s++;
                }
                if (s < e) {
                    for (int i = s; i < e; i++) {
                        if (src[i] == ' ' && escapeWhitespaces) out.space(true);
                        else out.put(src[i]);
                    }
                    prevSpace = src[e - 1] == ' ';
                }
                pos += len;
            }
            byte[] space = escapeWhitespaces ? SPACE_SYMBOL : new byte[] {' '};
            while (out.endsWith(space)) out.size -= space.length;
        }
        if (treatWhitespaceAsSuffix && addDummyPrefix) out.space(escapeWhitespaces);
        return out.toArray();
    }

    /** Length of the next normalization unit: a user-defined piece, else one UTF-8 character. */
    private int unitLength(byte[] in, int pos, int n) {
        int m = matcher.match(in, pos, n);
        if (m < 0) return -m;
        return (int) (Utf8.decodeOne(in, pos, n) >>> 32);
    }

    private static final class Out {
        byte[] buf;
        int size;

        Out(int cap) {
            buf = new byte[cap];
        }

        void put(byte b) {
            if (size == buf.length) buf = java.util.Arrays.copyOf(buf, buf.length * 2 + 8);
            buf[size++] = b;
        }

        void space(boolean escape) {
            if (escape) {
                put(SPACE_SYMBOL[0]);
                put(SPACE_SYMBOL[1]);
                put(SPACE_SYMBOL[2]);
            } else {
                put((byte) ' ');
            }
        }

        boolean endsWith(byte[] suffix) {
            if (size < suffix.length) return false;
            return java.util.Arrays.equals(buf, size - suffix.length, size, suffix, 0, suffix.length);
        }

        byte[] toArray() {
            return java.util.Arrays.copyOf(buf, size);
        }
    }
}
