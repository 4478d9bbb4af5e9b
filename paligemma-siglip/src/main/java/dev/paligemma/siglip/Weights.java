package dev.paligemma.siglip;

import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.Tensor;

/** Checks shared by the vision tower's loaders. */
final class Weights {
    /** Rows per parallel chunk for cheap row-wise work (norms, embeddings): enough to amortise a task. */
    static final int ROW_GRAIN = 64;

    private Weights() {
    }

    /** The kernels read F32, BF16 and F16 weights; an integer tensor here means a wrong or quantised file. */
    static Tensor requireFloat(Tensor t) {
        if (!t.dtype().isFloatWeight()) {
            throw new CheckpointException(t.source() + ": tensor '" + t.name() + "' is " + t.dtype()
                    + "; only F32, BF16 and F16 weights are supported");
        }
        return t;
    }
}
