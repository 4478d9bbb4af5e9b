package dev.paligemma.core.ops;

import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Tensor;

/**
 * Matrix-vector products of several weight matrices against one activation vector, bound once to their
 * buffers and run as a single parallel pass over the matrices' rows laid end to end (no weight copied), for
 * the decode step: Q/K/V, or gate/up, are then one {@link Parallel} dispatch that reads each weight byte
 * once, with contiguous row blocks per thread. {@link #run()} allocates nothing itself (the plan is its own
 * loop body). Each output row is computed exactly as {@link Matmul#matvec} computes it, whatever the split,
 * so results have the same bits.
 *
 * <p>Not thread-safe: one plan belongs to one decode session.
 */
public final class MatvecPlan implements Parallel.RangeBody {
    private final float[] x;
    private final int xOffset;
    private final int k;
    private final Tensor[] weights;
    private final float[][] outs;
    /** First concatenated row of each matrix, plus the total at the end. */
    private final int[] starts;
    private final int grain;
    private boolean vector;

    /**
     * @param x       the activation vector (read at each {@link #run()}; fill it before)
     * @param xOffset where the k inputs start in {@code x}
     * @param weights matrices {@code [m_i, k]} with the same k (F32, BF16, F16 or Q8)
     * @param outs    {@code outs[i]} receives the m_i results of {@code weights[i]} from index 0
     */
    public MatvecPlan(float[] x, int xOffset, Tensor[] weights, float[][] outs) {
        if (weights.length == 0 || weights.length != outs.length) {
            throw new InvalidArgumentException("MatvecPlan: " + weights.length + " weights for " + outs.length + " outputs");
        }
        this.x = x;
        this.xOffset = xOffset;
        this.weights = weights.clone();
        this.outs = outs.clone();
        this.starts = new int[weights.length + 1];
        long kl = weights[0].rank() == 0 || weights[0].dim(0) == 0 ? 0 : weights[0].size() / weights[0].dim(0);
        this.k = (int) Math.min(Integer.MAX_VALUE, kl);
        long bytesPerRow = 0;
        for (int i = 0; i < weights.length; i++) {
            Tensor w = weights[i];
            if (!w.dtype().isFloatWeight() || w.rank() < 1 || w.dim(0) == 0 || w.size() / w.dim(0) != kl || kl > Integer.MAX_VALUE) {
                throw new InvalidArgumentException("MatvecPlan: weight " + w + " is not a float matrix with rows of k = " + kl);
            }
            if (outs[i].length < w.dim(0)) {
                throw new InvalidArgumentException("MatvecPlan: output " + i + " has " + outs[i].length + " floats, need " + w.dim(0)
                        + " for " + w.name());
            }
            starts[i + 1] = Math.addExact(starts[i], (int) w.dim(0));
            bytesPerRow = Math.max(bytesPerRow, k * (long) w.dtype().byteSize());
        }
        if (xOffset < 0 || (long) xOffset + k > x.length) {
            throw new InvalidArgumentException("MatvecPlan: x has " + x.length + " floats, need " + k + " at offset " + xOffset);
        }
        this.grain = (int) Math.max(4, Matmul.MATVEC_CHUNK_BYTES / Math.max(1, bytesPerRow));
    }

    /** Total output rows (the concatenated matrices). */
    public int rows() {
        return starts[weights.length];
    }

    /** Computes every product from the current contents of {@code x}. */
    public void run() {
        vector = Simd.vector();
        Parallel.forRange(rows(), grain, this);
    }

    /** Concatenated rows {@code [from, to)}: the part of each matrix that falls in the range. */
    @Override
    public void run(int from, int to) {
        for (int i = 0; i < weights.length; i++) {
            int r0 = Math.max(from, starts[i]) - starts[i];
            int r1 = Math.min(to, starts[i + 1]) - starts[i];
            if (r0 < r1) {
                rows(weights[i], r0, r1, outs[i]);
            }
        }
    }

    private void rows(Tensor w, int r0, int r1, float[] out) {
        Matmul.rowsOf(x, xOffset, k, w, r0, r1, out, 0, vector);
    }
}
