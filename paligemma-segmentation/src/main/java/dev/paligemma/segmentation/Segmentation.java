package dev.paligemma.segmentation;

import dev.paligemma.core.Box;
import java.util.Objects;

/**
 * One segmented object: the label the model wrote, its box and its mask, both in pixel coordinates of
 * the original image.
 */
public record Segmentation(String label, Box box, Mask mask) {
    /** Rejects nulls. */
    public Segmentation {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(box, "box");
        Objects.requireNonNull(mask, "mask");
    }
}
