package dev.paligemma.tokenizer;

/**
 * Longest-prefix matcher over the user-defined pieces, SentencePiece's {@code PrefixMatcher}: at a
 * position it returns the length of the longest user-defined piece starting there (and marks it
 * found), or else the length of one UTF-8 character judged from its lead byte. A byte trie whose
 * edges live in one open-addressing table keyed by {@code node << 8 | byte}, so a lookup costs one
 * probe per matched byte.
 */
final class PrefixMatcher {
    private final long[] edgeKeys;
    private final int[] edgeChild;
    private final int mask;
    private final boolean[] terminal;
    private final boolean[] firstByte = new boolean[256];
    private final boolean empty;

    PrefixMatcher(byte[][] userDefined) {
        long totalBytes = 0;
        for (byte[] s : userDefined) totalBytes += s.length;
        int cap = Integer.highestOneBit((int) Math.max(4, totalBytes * 2)) << 1;
        edgeKeys = new long[cap];
        java.util.Arrays.fill(edgeKeys, -1L);
        edgeChild = new int[cap];
        mask = cap - 1;
        boolean[] term = new boolean[(int) totalBytes + 1];
        int nodes = 1;
        for (byte[] s : userDefined) {
            int node = 0;
            for (byte b : s) {
                long key = ((long) node << 8) | (b & 0xFF);
                int slot = slot(key);
                if (edgeKeys[slot] == key) {
                    node = edgeChild[slot];
                } else {
                    edgeKeys[slot] = key;
                    edgeChild[slot] = nodes;
                    node = nodes++;
                }
            }
            term[node] = true;
            firstByte[s[0] & 0xFF] = true;
        }
        terminal = term;
        empty = userDefined.length == 0;
    }

    private int slot(long key) {
        int slot = (int) (key * 0x9E3779B97F4A7C15L >>> 40) & mask;
        while (edgeKeys[slot] != -1L && edgeKeys[slot] != key) slot = (slot + 1) & mask;
        return slot;
    }

    /**
     * Returns the match length at {@code b[off..end)} ({@code off < end}); a user-defined match is
     * flagged by a negative result ({@code -length}).
     */
    int match(byte[] b, int off, int end) {
        if (!empty && firstByte[b[off] & 0xFF]) {
            int node = 0, longest = 0;
            for (int i = off; i < end; i++) {
                long key = ((long) node << 8) | (b[i] & 0xFF);
                int slot = slot(key);
                if (edgeKeys[slot] != key) break;
                node = edgeChild[slot];
                if (terminal[node]) longest = i + 1 - off;
            }
            if (longest > 0) return -longest;
        }
        return Math.min(end - off, Utf8.oneCharLen(b[off]));
    }
}
