package dev.paligemma.siglip;

/**
 * Resampling filter for the resize to the model's input size, with the kernels and support of
 * Pillow's {@code Image.resize}: when shrinking, the kernel is widened by the scale factor, so the
 * resize also low-pass filters (antialiasing) the way Pillow and transformers do.
 */
public enum Resample {
    /** Keys cubic convolution with a = -0.5, support 2: Pillow's {@code BICUBIC} (resample=3), PaliGemma's setting in transformers. */
    BICUBIC(2.0),
    /** Triangle filter, support 1: Pillow's {@code BILINEAR} (resample=2); big_vision resizes bilinearly. */
    BILINEAR(1.0);

    private final double support;

    Resample(double support) {
        this.support = support;
    }

    double support() {
        return support;
    }

    double weight(double x) {
        double t = Math.abs(x);
        return switch (this) {
            case BICUBIC -> {
                final double a = -0.5;
                if (t < 1.0) {
                    yield ((a + 2.0) * t - (a + 3.0)) * t * t + 1;
                }
                if (t < 2.0) {
                    yield (((t - 5) * t + 8) * t - 4) * a;
                }
                yield 0.0;
            }
            case BILINEAR -> t < 1.0 ? 1.0 - t : 0.0;
        };
    }

    /** Maps the {@code resample} integer of a {@code preprocessor_config.json} (PIL's numbering). */
    public static Resample fromPil(int code) {
        return switch (code) {
            case 2 -> BILINEAR;
            case 3 -> BICUBIC;
            default -> throw new dev.paligemma.core.InvalidArgumentException(
                    "resample: PIL filter " + code + " is not supported (2 = bilinear, 3 = bicubic)");
        };
    }
}
