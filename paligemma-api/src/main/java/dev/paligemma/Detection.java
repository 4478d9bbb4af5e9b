package dev.paligemma;

import dev.paligemma.core.Box;

import java.util.OptionalDouble;

/**
 * One detected object.
 *
 * @param label the label the model wrote after the box
 * @param box   the box in pixels of the original image
 * @param score a confidence if one was computed (PaliGemma itself writes none)
 */
public record Detection(String label, Box box, OptionalDouble score) {
    public Detection {
        if (label == null || box == null || score == null) {
            throw new NullPointerException("label, box and score must not be null (use OptionalDouble.empty())");
        }
    }
}
