package dev.paligemma.core.ops;

/**
 * A per-thread float buffer for attention scores, reused across calls. Prefill and the vision encoder
 * allocated a fresh {@code block x n} score matrix per (head, query block): about 1.8 GB of garbage per
 * 448-px image and 1 GB per 1034-token prefill, which kept the collector busy and the heap large.
 *
 * <p>One buffer per thread: a caller must be done with it before anything on the same thread asks again
 * (attention tasks do not nest). Separate from the matmul kernels' own scratch, which the products called
 * on a score buffer use.
 */
public final class ScoreBuffer {
    private static final ThreadLocal<float[][]> BUFFER = ThreadLocal.withInitial(() -> new float[1][0]);

    private ScoreBuffer() {
    }

    /** This thread's buffer, at least {@code size} floats long (contents undefined). */
    public static float[] get(int size) {
        float[][] holder = BUFFER.get();
        if (holder[0].length < size) {
            holder[0] = new float[size];
        }
        return holder[0];
    }
}
