package dev.paligemma.core.config;

import dev.paligemma.core.ConfigException;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A checkpoint's {@code preprocessor_config.json} ({@code SiglipImageProcessor} settings).
 *
 * @param resample PIL filter number: 2 bilinear, 3 bicubic (PaliGemma's)
 */
public record PreprocessorConfig(int height, int width, boolean doResize, int resample, boolean doRescale,
                                 double rescaleFactor, boolean doNormalize, float[] imageMean, float[] imageStd,
                                 int imageSeqLength) {

    public static final String FILE = "preprocessor_config.json";

    public PreprocessorConfig {
        imageMean = imageMean.clone();
        imageStd = imageStd.clone();
    }

    @Override
    public float[] imageMean() {
        return imageMean.clone();
    }

    @Override
    public float[] imageStd() {
        return imageStd.clone();
    }

    /** PaliGemma's settings for a square input of {@code size} pixels, for checkpoints without the file. */
    public static PreprocessorConfig defaults(int size) {
        return new PreprocessorConfig(size, size, true, 3, true, 1 / 255.0, true,
                new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f}, (size / 14) * (size / 14));
    }

    /** Reads the file from a checkpoint directory, or the defaults for {@code fallbackSize} if it is absent. */
    public static PreprocessorConfig load(Path checkpointDir, int fallbackSize) {
        Path file = checkpointDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return defaults(fallbackSize);
        }
        JsonConfig j = JsonConfig.read(file);
        JsonConfig size = j.object("size");
        int h = size.integer("height", fallbackSize, 1, 1 << 14);
        int w = size.integer("width", fallbackSize, 1, 1 << 14);
        int resample = j.integer("resample", 3, 0, 5);
        if (resample != 2 && resample != 3) {
            throw j.error("resample", "is " + resample + "; supported: 2 (bilinear), 3 (bicubic)");
        }
        float[] half = {0.5f, 0.5f, 0.5f};
        float[] std = j.floats("image_std", half);
        for (float s : std) {
            if (!(s > 0) || !Float.isFinite(s)) {
                throw j.error("image_std", "must hold positive numbers");
            }
        }
        float[] mean = j.floats("image_mean", half);
        for (float m : mean) {
            // a JSON number beyond float range (1e300) narrows to Infinity and would poison every pixel
            if (!Float.isFinite(m)) {
                throw j.error("image_mean", "must hold finite numbers");
            }
        }
        int seq = j.integer("image_seq_length", (h / 14) * (w / 14), 1, 1 << 20);
        if (h != w) {
            throw new ConfigException(file + ": key 'size' is " + w + "x" + h + "; PaliGemma takes square images");
        }
        return new PreprocessorConfig(h, w, j.bool("do_resize", true), resample, j.bool("do_rescale", true),
                j.number("rescale_factor", 1 / 255.0), j.bool("do_normalize", true),
                mean, std, seq);
    }
}
