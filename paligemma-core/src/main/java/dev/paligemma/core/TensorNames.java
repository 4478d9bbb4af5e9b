package dev.paligemma.core;

/**
 * Maps the tensor names the different writers use onto one canonical form, the hub's:
 * {@code vision_tower.vision_model.*}, {@code multi_modal_projector.*}, {@code language_model.model.*}
 * and {@code language_model.lm_head.weight}. transformers 5 drops {@code vision_model.} and may nest
 * everything under {@code model.}; both spellings of one checkpoint therefore load the same way.
 */
public final class TensorNames {
    public static final String VISION = "vision_tower.vision_model.";
    public static final String PROJECTOR = "multi_modal_projector.";
    public static final String DECODER = "language_model.model.";
    public static final String LM_HEAD = "language_model.lm_head.weight";

    private TensorNames() {
    }

    /** The canonical name of {@code name}, or {@code name} itself when it belongs to no known part. */
    public static String canonical(String name) {
        String n = name;
        if (n.startsWith("model.")) {
            String rest = n.substring("model.".length());
            if (rest.startsWith("vision_tower.") || rest.startsWith("multi_modal_projector.")
                    || rest.startsWith("language_model.") || rest.startsWith("lm_head.")) {
                n = rest;
            }
        }
        if (n.startsWith("lm_head.")) {
            return "language_model." + n;
        }
        if (n.startsWith("vision_tower.") && !n.startsWith(VISION)) {
            return VISION + n.substring("vision_tower.".length());
        }
        if (n.startsWith("language_model.") && !n.startsWith(DECODER) && !n.startsWith("language_model.lm_head.")) {
            return DECODER + n.substring("language_model.".length());
        }
        return n;
    }
}
