package dev.paligemma.gemma;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Keys and values of every layer for up to {@code capacity} positions, off-heap in one segment laid
 * out {@code [layer][key|value][position][kvHeads * headDim]} as float32.
 *
 * <p>float32 rather than bf16: the cache is small next to the weights for PaliGemma's few KV heads
 * (PaliGemma 1 3B: 1 KV head x 256 x 18 layers x 2 x 4 bytes = 36 KiB per position), and keeping
 * the values exactly as computed lets the cached decode path match the reference to float32 rounding.
 *
 * <p>The arena is shared because the attention kernels read it from the worker pool; the cache is
 * still used by one generation at a time.
 */
final class KvCache implements AutoCloseable {
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private final Arena arena;
    private final MemorySegment data;
    private final int layers;
    private final int capacity;
    private final int kvDim;
    private int length;

    KvCache(int layers, int capacity, int kvDim) {
        this.layers = layers;
        this.capacity = capacity;
        this.kvDim = kvDim;
        this.arena = Arena.ofShared();
        long bytes = Math.multiplyExact(Math.multiplyExact((long) layers * 2, (long) capacity), (long) kvDim * Float.BYTES);
        this.data = arena.allocate(bytes, 64);
    }

    MemorySegment data() {
        return data;
    }

    int capacity() {
        return capacity;
    }

    int kvDim() {
        return kvDim;
    }

    /** Positions filled so far. */
    int length() {
        return length;
    }

    void setLength(int length) {
        this.length = length;
    }

    /** Float index of the key row of {@code layer} at {@code pos}. */
    long keyIndex(int layer, int pos) {
        return ((long) (layer * 2) * capacity + pos) * kvDim;
    }

    /** Float index of the value row of {@code layer} at {@code pos}. */
    long valueIndex(int layer, int pos) {
        return ((long) (layer * 2 + 1) * capacity + pos) * kvDim;
    }

    /** Stores {@code rows} consecutive key and value rows for positions {@code [pos, pos + rows)}. */
    void store(int layer, int pos, float[] k, int kOff, float[] v, int vOff, int rows) {
        MemorySegment.copy(k, kOff, data, F, keyIndex(layer, pos) * Float.BYTES, rows * kvDim);
        MemorySegment.copy(v, vOff, data, F, valueIndex(layer, pos) * Float.BYTES, rows * kvDim);
    }

    @Override
    public void close() {
        arena.close();
    }
}
