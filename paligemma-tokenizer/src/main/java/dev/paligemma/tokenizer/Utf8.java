package dev.paligemma.tokenizer;

/**
 * UTF-8 conversions with SentencePiece's rules for bad data: an unpaired surrogate in a Java string
 * becomes U+FFFD, and a byte that does not start a well-formed sequence decodes to one U+FFFD per
 * byte (SentencePiece's {@code DecodeUTF8} consumes one byte on error, unlike Java's decoder).
 */
final class Utf8 {
    static final int REPLACEMENT = 0xFFFD;

    private Utf8() {}

    /** Encodes {@code s} as UTF-8 into a new array sized exactly; lone surrogates become EF BF BD. */
    static byte[] encode(String s) {
        int n = s.length();
        byte[] out = new byte[n * 3];
        int o = 0;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                out[o++] = (byte) c;
            } else if (c < 0x800) {
                out[o++] = (byte) (0xC0 | (c >> 6));
                out[o++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(++i));
                out[o++] = (byte) (0xF0 | (cp >> 18));
                out[o++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                out[o++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                out[o++] = (byte) (0x80 | (cp & 0x3F));
            } else {
                int cp = Character.isSurrogate(c) ? REPLACEMENT : c;
                out[o++] = (byte) (0xE0 | (cp >> 12));
                out[o++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                out[o++] = (byte) (0x80 | (cp & 0x3F));
            }
        }
        return o == out.length ? out : java.util.Arrays.copyOf(out, o);
    }

    /** Byte length of the character starting with lead byte {@code b}, from the lead byte alone. */
    static int oneCharLen(byte b) {
        int u = b & 0xFF;
        if (u < 0xC0) return 1;
        if (u < 0xE0) return 2;
        if (u < 0xF0) return 3;
        return 4;
    }

    private static boolean isTrail(byte b) {
        return (b & 0xC0) == 0x80;
    }

    private static boolean isValidCodepoint(int c) {
        return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF);
    }

    /**
     * Decodes one code point at {@code buf[off..end)}, storing its length in bit 32.. of the result:
     * returns {@code (long) length << 32 | codePoint}; an invalid sequence gives length 1 and
     * U+FFFD, as SentencePiece's {@code DecodeUTF8}.
     */
    static long decodeOne(byte[] buf, int off, int end) {
        int len = end - off;
        int b0 = buf[off] & 0xFF;
        if (b0 < 0x80) return (1L << 32) | b0;
        if (len >= 2 && (b0 & 0xE0) == 0xC0) {
            int cp = ((b0 & 0x1F) << 6) | (buf[off + 1] & 0x3F);
            if (isTrail(buf[off + 1]) && cp >= 0x80 && isValidCodepoint(cp)) return (2L << 32) | cp;
        } else if (len >= 3 && (b0 & 0xF0) == 0xE0) {
            int cp = ((b0 & 0x0F) << 12) | ((buf[off + 1] & 0x3F) << 6) | (buf[off + 2] & 0x3F);
            if (isTrail(buf[off + 1]) && isTrail(buf[off + 2]) && cp >= 0x800 && isValidCodepoint(cp)) {
                return (3L << 32) | cp;
            }
        } else if (len >= 4 && (b0 & 0xF8) == 0xF0) {
            int cp = ((b0 & 0x07) << 18) | ((buf[off + 1] & 0x3F) << 12) | ((buf[off + 2] & 0x3F) << 6)
                    | (buf[off + 3] & 0x3F);
            if (isTrail(buf[off + 1]) && isTrail(buf[off + 2]) && isTrail(buf[off + 3])
                    && cp >= 0x10000 && isValidCodepoint(cp)) {
                return (4L << 32) | cp;
            }
        }
        return (1L << 32) | REPLACEMENT;
    }

    /** Appends the UTF-8 bytes {@code buf[off..end)} to {@code sb}, one U+FFFD per malformed byte. */
    static void appendDecoded(byte[] buf, int off, int end, StringBuilder sb) {
        int i = off;
        while (i < end) {
            long r = decodeOne(buf, i, end);
            sb.appendCodePoint((int) r);
            i += (int) (r >>> 32);
        }
    }
}
