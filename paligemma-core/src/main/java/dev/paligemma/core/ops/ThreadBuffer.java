package dev.paligemma.core.ops;

/**
 * A float buffer per thread that grows to the largest size asked for and is then reused: no allocation once
 * warm. Each instance is one buffer per thread, and a caller must be done with it before anything on the same
 * thread asks that instance again.
 */
public final class ThreadBuffer {
    /**
     * Attention scores of prefill and the vision encoder, one query block at a time. They allocated a fresh
     * {@code block x n} score matrix per (head, query block): about 1.8 GB of garbage per 448-px image and 1 GB
     * per 1034-token prefill, which kept the collector busy and the heap large. Attention tasks do not nest; the
     * products called on these scores use the matmul kernels' own buffer, not this one.
     */
    public static final ThreadBuffer SCORES = new ThreadBuffer();

    private final ThreadLocal<float[][]> holder = ThreadLocal.withInitial(() -> new float[1][0]);

    ThreadBuffer() {
    }

    /** This thread's buffer, at least {@code size} floats long (contents undefined). */
    public float[] get(int size) {
        float[][] h = holder.get();
        if (h[0].length < size) {
            h[0] = new float[size];
        }
        return h[0];
    }
}
