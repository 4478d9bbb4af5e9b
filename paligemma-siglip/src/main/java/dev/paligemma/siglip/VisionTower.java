package dev.paligemma.siglip;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.config.VisionConfig;

import java.util.Objects;

/**
 * Images to decoder rows: the {@link SiglipEncoder} followed by the {@link MultiModalProjector}.
 *
 * <p>Immutable and thread-safe; valid while the {@link Checkpoint} it was loaded from is open.
 *
 * @param encoder   the SigLIP encoder
 * @param projector the projection into the decoder width
 */
public record VisionTower(SiglipEncoder encoder, MultiModalProjector projector) {

    public VisionTower {
        Objects.requireNonNull(encoder, "encoder");
        Objects.requireNonNull(projector, "projector");
        if (encoder.config().hiddenSize() != projector.inputSize()) {
            throw new InvalidArgumentException("projector input width " + projector.inputSize()
                    + " differs from the encoder hidden size " + encoder.config().hiddenSize());
        }
    }

    /** Loads and validates every vision and projector tensor of {@code checkpoint}. */
    public static VisionTower load(Checkpoint checkpoint, VisionConfig vision, int textHidden) {
        return new VisionTower(SiglipEncoder.load(checkpoint, vision),
                MultiModalProjector.load(checkpoint, vision, textHidden));
    }

    /**
     * The decoder's image rows for {@code batch} images.
     *
     * @param pixelValues {@code [batch, channels, imageSize, imageSize]}, values in [-1, 1]
     * @return {@code [batch * numPatches, textHidden]}, unscaled (not divided by {@code sqrt(textHidden)})
     */
    public float[] imageFeatures(float[] pixelValues, int batch) {
        float[] hidden = encoder.encode(pixelValues, batch);
        return projector.project(hidden, batch * encoder.numPatches());
    }
}
