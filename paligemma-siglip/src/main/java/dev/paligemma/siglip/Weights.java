package dev.paligemma.siglip;

import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.Tensor;
import dev.paligemma.core.ops.Activations;
import dev.paligemma.core.ops.Parallel;

/** Checks shared by the vision tower's loaders. */
final class Weights {
    /** Rows per parallel chunk for cheap row-wise work (bias, norms): enough to amortise a task. */
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

    /** {@code x[r, :] += bias} for every one of {@code rows} rows of width {@code bias.length}. */
    static void addBias(float[] x, int rows, float[] bias) {
        int w = bias.length;
        Parallel.forRange(rows, ROW_GRAIN, (from, to) -> {
            for (int r = from; r < to; r++) {
                Activations.add(x, r * w, bias, 0, w);
            }
        });
    }
}
