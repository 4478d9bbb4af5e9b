package dev.paligemma.siglip;

import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * Turns an {@link RgbImage} into SigLIP's {@code pixel_values}, as transformers'
 * {@code SiglipImageProcessor} does with the values of a {@code preprocessor_config.json}: resize
 * the whole image to {@code height x width} without keeping the aspect ratio and without cropping,
 * multiply by {@code rescaleFactor}, subtract {@code mean} and divide by {@code std} per channel,
 * and lay the result out channels-first, float32 {@code [3, height, width]}.
 *
 * <p>The resize works on 8-bit values exactly as Pillow's {@code Image.resize} does (see
 * {@link Resample}). Immutable and thread-safe.
 */
public final class ImagePreprocessor {
    private final int height;
    private final int width;
    private final Resample resample;
    private final double rescaleFactor;
    private final double[] mean;
    private final double[] std;

    /**
     * @param height target height in pixels ({@code size.height})
     * @param width target width in pixels ({@code size.width})
     * @param resample resampling filter ({@code resample}: 3 = bicubic, 2 = bilinear)
     * @param rescaleFactor multiplier applied to the 0..255 values ({@code rescale_factor}, 1/255)
     * @param mean per-channel mean, R, G, B ({@code image_mean})
     * @param std per-channel standard deviation, R, G, B ({@code image_std}); each must be positive
     * @throws InvalidArgumentException if a size is not positive, an array does not hold three
     *     finite values, or a std is not positive
     */
    public ImagePreprocessor(
            int height, int width, Resample resample, double rescaleFactor, double[] mean, double[] std) {
        if (height <= 0 || width <= 0) {
            throw new InvalidArgumentException(
                    "preprocessor size must be positive, got height " + height + " and width " + width);
        }
        if (resample == null) {
            throw new InvalidArgumentException("preprocessor resample must not be null");
        }
        if (!Double.isFinite(rescaleFactor)) {
            throw new InvalidArgumentException("preprocessor rescale_factor must be finite, got " + rescaleFactor);
        }
        this.height = height;
        this.width = width;
        this.resample = resample;
        this.rescaleFactor = rescaleFactor;
        this.mean = channels("image_mean", mean);
        this.std = channels("image_std", std);
        for (double s : this.std) {
            if (!(s > 0)) {
                throw new InvalidArgumentException("preprocessor image_std must be positive, got " + Arrays.toString(std));
            }
        }
    }

    /**
     * PaliGemma's settings for a square input of {@code size} pixels: bicubic, 1/255, mean and std
     * 0.5, so values land in [-1, 1].
     */
    public static ImagePreprocessor paligemma(int size) {
        return new ImagePreprocessor(
                size, size, Resample.BICUBIC, 1.0 / 255.0, new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5});
    }

    private static double[] channels(String name, double[] values) {
        if (values == null || values.length != 3) {
            throw new InvalidArgumentException(
                    "preprocessor " + name + " must hold 3 values (R, G, B), got "
                            + (values == null ? "null" : Arrays.toString(values)));
        }
        for (double v : values) {
            if (!Double.isFinite(v)) {
                throw new InvalidArgumentException("preprocessor " + name + " must be finite, got " + Arrays.toString(values));
            }
        }
        return values.clone();
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public Resample resample() {
        return resample;
    }

    public double rescaleFactor() {
        return rescaleFactor;
    }

    public double[] mean() {
        return mean.clone();
    }

    public double[] std() {
        return std.clone();
    }

    /** The image as float32 channels-first {@code [3, height, width]}. */
    public float[] preprocess(RgbImage image) {
        float[] out = new float[3 * height * width];
        preprocessInto(requireImage(image, 0), out, 0);
        return out;
    }

    /** The images as float32 {@code [n, 3, height, width]}, each as {@link #preprocess} makes it. */
    public float[] preprocess(List<RgbImage> images) {
        if (images == null || images.isEmpty()) {
            throw new InvalidArgumentException("images: expected at least one image");
        }
        long total = (long) images.size() * 3 * height * width;
        if (total > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException(
                    "images: a batch of " + images.size() + " at " + height + "x" + width + " is too large for one array");
        }
        float[] out = new float[(int) total];
        int stride = 3 * height * width;
        for (int i = 0; i < images.size(); i++) {
            preprocessInto(requireImage(images.get(i), i), out, i * stride);
        }
        return out;
    }

    /** {@link #preprocess(List)} as a tensor named {@code pixel_values}, shape {@code [n, 3, height, width]}. */
    public Tensor pixelValues(List<RgbImage> images) {
        float[] values = preprocess(images);
        return Tensor.ofFloats("pixel_values", new long[] {images.size(), 3, height, width}, values);
    }

    private static RgbImage requireImage(RgbImage image, int index) {
        if (image == null) {
            throw new InvalidArgumentException("images[" + index + "] is null");
        }
        return image;
    }

    private void preprocessInto(RgbImage image, float[] out, int offset) {
        RgbImage resized = Resizer.resize(image, width, height, resample);
        byte[] rgb = resized.data();
        int plane = height * width;
        float[][] lut = new float[3][256];
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                // rescale then normalise as two float32 steps, the order transformers applies them
                float scaled = (float) (v * rescaleFactor);
                lut[c][v] = (float) ((scaled - mean[c]) / std[c]);
            }
        }
        for (int p = 0; p < plane; p++) {
            out[offset + p] = lut[0][rgb[p * 3] & 0xFF];
            out[offset + plane + p] = lut[1][rgb[p * 3 + 1] & 0xFF];
            out[offset + 2 * plane + p] = lut[2][rgb[p * 3 + 2] & 0xFF];
        }
    }

    @Override
    public String toString() {
        return "ImagePreprocessor[" + height + "x" + width + ", " + resample + ", rescale " + rescaleFactor
                + ", mean " + Arrays.toString(mean) + ", std " + Arrays.toString(std) + "]";
    }
}
