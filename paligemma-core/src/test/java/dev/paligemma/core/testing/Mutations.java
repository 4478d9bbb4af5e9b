package dev.paligemma.core.testing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Byte-level mutations for the fuzz tests: deterministic for a given random source, each returning a
 * description so a failing case can be reproduced from its seed. (A copy lives in each module that
 * owns a parser: test code is not shared between modules.)
 */
public final class Mutations {
    private Mutations() {
    }

    /** Values that tend to sit on boundaries of length and count checks. */
    private static final long[] INTERESTING = {0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFFL, 0x8000_0000L,
            0xFFFF_FFFFL, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE};

    /** A mutated copy of {@code in}; positions fall in {@code [0, hot)} with probability 0.7 (a header, say). */
    public static byte[] mutate(byte[] in, int hot, SplittableRandom rnd, StringBuilder what) {
        byte[] b = in;
        int rounds = 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(4) : 0);
        for (int r = 0; r < rounds; r++) {
            b = once(b, hot, rnd, what);
        }
        return b;
    }

    private static int pos(byte[] b, int hot, SplittableRandom rnd) {
        if (b.length == 0) {
            return 0;
        }
        int range = hot > 0 && hot < b.length && rnd.nextInt(10) < 7 ? hot : b.length;
        return rnd.nextInt(range);
    }

    private static byte[] once(byte[] b, int hot, SplittableRandom rnd, StringBuilder what) {
        int op = rnd.nextInt(9);
        if (b.length == 0) {
            op = 5;
        }
        int p = pos(b, hot, rnd);
        switch (op) {
            case 0, 1 -> {
                byte[] c = b.clone();
                int flips = 1 + rnd.nextInt(8);
                for (int i = 0; i < flips; i++) {
                    int q = Math.min(c.length - 1, Math.max(0, p + rnd.nextInt(-8, 9)));
                    c[q] ^= (byte) (1 << rnd.nextInt(8));
                }
                what.append(" flip").append(flips).append('@').append(p);
                return c;
            }
            case 2 -> {
                byte[] c = b.clone();
                long v = INTERESTING[rnd.nextInt(INTERESTING.length)];
                int width = new int[] {1, 2, 4, 8}[rnd.nextInt(4)];
                for (int i = 0; i < width && p + i < c.length; i++) {
                    c[p + i] = (byte) (v >>> (8 * i));
                }
                what.append(" set").append(width).append('@').append(p).append('=').append(v);
                return c;
            }
            case 3 -> {
                int n = 1 + rnd.nextInt(16);
                byte[] ins = new byte[n];
                for (int i = 0; i < n; i++) {
                    ins[i] = (byte) rnd.nextInt(256);
                }
                what.append(" insert").append(n).append('@').append(p);
                return splice(b, p, 0, ins);
            }
            case 4 -> {
                int n = Math.min(b.length - p, 1 + rnd.nextInt(64));
                what.append(" delete").append(n).append('@').append(p);
                return splice(b, p, n, new byte[0]);
            }
            case 5 -> {
                int n = 1 + rnd.nextInt(4096);
                byte[] c = Arrays.copyOf(b, b.length + n);
                if (rnd.nextBoolean()) {
                    for (int i = b.length; i < c.length; i++) {
                        c[i] = (byte) rnd.nextInt(256);
                    }
                }
                what.append(" extend").append(n);
                return c;
            }
            case 6 -> {
                what.append(" truncate@").append(p);
                return Arrays.copyOf(b, p);
            }
            case 7 -> {
                int n = Math.min(b.length - p, 1 + rnd.nextInt(256));
                int at = pos(b, hot, rnd);
                what.append(" dup").append(n).append('@').append(p).append("->").append(at);
                return splice(b, at, 0, Arrays.copyOfRange(b, p, p + n));
            }
            default -> {
                // swap two chunks' contents
                int n = Math.min(b.length - p, 1 + rnd.nextInt(32));
                int q = pos(b, hot, rnd);
                n = Math.min(n, b.length - q);
                byte[] c = b.clone();
                System.arraycopy(b, p, c, q, n);
                System.arraycopy(b, q, c, p, n);
                what.append(" swap").append(n).append('@').append(p).append('/').append(q);
                return c;
            }
        }
    }

    public static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] c = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, c, 0, at);
        System.arraycopy(insert, 0, c, at, insert.length);
        System.arraycopy(b, at + remove, c, at + insert.length, b.length - at - remove);
        return c;
    }

    /** A value unlike what a field usually holds: wrong types, boundary integers, odd floats, deep or long lists. */
    public static Object oddValue(SplittableRandom rnd) {
        return switch (rnd.nextInt(16)) {
            case 0 -> null;
            case 1 -> "";
            case 2 -> "x\u0000\uD800";
            case 3 -> Boolean.TRUE;
            case 4 -> 0L;
            case 5 -> -1L;
            case 6 -> (long) Integer.MAX_VALUE;
            case 7 -> 1L << 31;
            case 8 -> Long.MAX_VALUE;
            case 9 -> 1.5;
            case 10 -> 1e300;
            case 11 -> -0.0;
            case 12 -> new ArrayList<>();
            case 13 -> new ArrayList<>(List.of(1L, 2L, 3L));
            case 14 -> new java.util.LinkedHashMap<String, Object>();
            default -> (long) rnd.nextInt(-4, 70000);
        };
    }

    /** Serialises the JSON values {@code Json.parse} produces (maps, lists, strings, numbers, booleans, null). */
    public static String toJson(Object v) {
        StringBuilder sb = new StringBuilder();
        write(v, sb);
        return sb.toString();
    }

    private static void write(Object v, StringBuilder sb) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                write(String.valueOf(e.getKey()), sb);
                sb.append(':');
                write(e.getValue(), sb);
            }
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                write(l.get(i), sb);
            }
            sb.append(']');
        } else if (v instanceof String s) {
            sb.append('"');
            for (char c : s.toCharArray()) {
                if (c == '"' || c == '\\') {
                    sb.append('\\').append(c);
                } else if (c < 0x20 || (c >= 0xD800 && c <= 0xDFFF)) {
                    sb.append(String.format("\\u%04x", (int) c));
                } else {
                    sb.append(c);
                }
            }
            sb.append('"');
        } else if (v instanceof Double d && (d.isNaN() || d.isInfinite())) {
            sb.append("1e999");
        } else {
            sb.append(v);
        }
    }

    /** Deep mutable copy of a parsed JSON value. */
    @SuppressWarnings("unchecked")
    public static Object mutableCopy(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            m.forEach((k, x) -> out.put((String) k, mutableCopy(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            l.forEach(x -> out.add(mutableCopy(x)));
            return out;
        }
        return v;
    }
}
