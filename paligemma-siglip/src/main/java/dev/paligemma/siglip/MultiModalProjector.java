package dev.paligemma.siglip;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Tensor;
import dev.paligemma.core.TensorNames;
import dev.paligemma.core.config.VisionConfig;

import java.util.Objects;

/**
 * PaliGemma's {@code multi_modal_projector}: one linear layer (with bias) from the SigLIP width to the
 * decoder width. Its output rows are the decoder's image rows as they are, with no {@code sqrt(H)}
 * scaling (transformers 4 divided here and multiplied back in the decoder; big_vision does neither).
 *
 * <p>Immutable and thread-safe; the weight stays mapped, so the {@link Checkpoint} must stay open.
 */
public final class MultiModalProjector {
    private final int visionHidden;
    private final int textHidden;
    private final Tensor weight;
    private final float[] bias;

    private MultiModalProjector(int visionHidden, int textHidden, Tensor weight, float[] bias) {
        this.visionHidden = visionHidden;
        this.textHidden = textHidden;
        this.weight = weight;
        this.bias = bias;
    }

    /**
     * Binds {@code multi_modal_projector.linear.{weight,bias}}: weight {@code [textHidden, vision.hiddenSize]},
     * bias {@code [textHidden]}.
     *
     * @throws CheckpointException if a tensor is missing or misshapen, or the config's
     *                             {@code projection_dim} disagrees with {@code textHidden}
     */
    public static MultiModalProjector load(Checkpoint checkpoint, VisionConfig vision, int textHidden) {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(vision, "vision");
        if (vision.projectionDim() != textHidden) {
            throw new CheckpointException(checkpoint.directory() + ": vision projection_dim " + vision.projectionDim()
                    + " differs from the decoder hidden_size " + textHidden + "; image rows could not enter the decoder");
        }
        String p = TensorNames.PROJECTOR + "linear.";
        Tensor w = SiglipLayer.matrix(checkpoint, p + "weight", textHidden, vision.hiddenSize());
        float[] b = SiglipLayer.vector(checkpoint, p + "bias", textHidden);
        return new MultiModalProjector(vision.hiddenSize(), textHidden, w, b);
    }

    /** Input width (SigLIP hidden size). */
    public int inputSize() {
        return visionHidden;
    }

    /** Output width (decoder hidden size). */
    public int outputSize() {
        return textHidden;
    }

    /**
     * Projects {@code rows} rows of SigLIP output.
     *
     * @param visionHidden {@code [rows, inputSize]}
     * @return {@code [rows, outputSize]}, unscaled
     */
    public float[] project(float[] visionHidden, int rows) {
        if (rows < 0) {
            throw new InvalidArgumentException("rows must be non-negative, got " + rows);
        }
        if (visionHidden == null || visionHidden.length != (long) rows * this.visionHidden) {
            throw new InvalidArgumentException("visionHidden has " + (visionHidden == null ? "no" : visionHidden.length)
                    + " floats; expected [" + rows + ", " + this.visionHidden + "] = " + (long) rows * this.visionHidden);
        }
        if ((long) rows * textHidden > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException("rows " + rows + " too many for one call; project fewer at a time");
        }
        float[] out = new float[rows * textHidden];
        SiglipEncoder.linear(visionHidden, rows, this.visionHidden, weight, bias, out);
        return out;
    }
}
