package dev.paligemma.tokenizer;

import java.util.Arrays;

/**
 * Open-addressing hash map from a piece's UTF-8 bytes to its id, looked up by a range of a byte
 * array so the BPE loop can test a candidate merge without building a String.
 */
final class PieceTable {
    private final byte[][] keys;
    private final int[] values;
    private final int mask;
    private int maxKeyLength;

    PieceTable(int expected) {
        int cap = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
        keys = new byte[cap][];
        values = new int[cap];
        mask = cap - 1;
    }

    static int hash(byte[] b, int off, int len) {
        int h = 0x811C9DC5;
        for (int i = off, end = off + len; i < end; i++) {
            h = (h ^ b[i]) * 0x01000193;
        }
        return h ^ (h >>> 16);
    }

    /** Adds {@code key -> id}; returns false (and changes nothing) if the key is already present. */
    boolean put(byte[] key, int id) {
        int slot = hash(key, 0, key.length) & mask;
        while (keys[slot] != null) {
            if (Arrays.equals(keys[slot], key)) return false;
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        values[slot] = id;
        maxKeyLength = Math.max(maxKeyLength, key.length);
        return true;
    }

    /** The id stored for {@code b[off..off+len)}, or -1. */
    int get(byte[] b, int off, int len) {
        if (len > maxKeyLength) return -1;
        int slot = hash(b, off, len) & mask;
        byte[] k;
        while ((k = keys[slot]) != null) {
            if (k.length == len && Arrays.equals(k, 0, len, b, off, off + len)) return values[slot];
            slot = (slot + 1) & mask;
        }
        return -1;
    }
}
