package dev.paligemma;

import java.util.List;

/**
 * One or more images already through the vision encoder and projector: the decoder's image rows,
 * ready to be reused by several prompts (see {@link PaliGemma#embed}). Immutable.
 */
public final class ImageEmbedding {
    private final float[] rows;
    private final int imageCount;
    private final int tokensPerImage;
    private final int hiddenSize;
    private final List<ImageSize> sizes;
    private final long encodeNanos;

    /** Width and height of an original image, in pixels. */
    public record ImageSize(int width, int height) {
    }

    ImageEmbedding(float[] rows, int imageCount, int tokensPerImage, int hiddenSize, List<ImageSize> sizes, long encodeNanos) {
        this.rows = rows;
        this.imageCount = imageCount;
        this.tokensPerImage = tokensPerImage;
        this.hiddenSize = hiddenSize;
        this.sizes = List.copyOf(sizes);
        this.encodeNanos = encodeNanos;
    }

    /** Number of images. */
    public int imageCount() {
        return imageCount;
    }

    /** Image tokens each image contributes (256, 1024 or 4096). */
    public int tokensPerImage() {
        return tokensPerImage;
    }

    /** Total image rows: {@code imageCount * tokensPerImage}. */
    public int rowCount() {
        return imageCount * tokensPerImage;
    }

    /** Width of each row (the decoder's hidden size). */
    public int hiddenSize() {
        return hiddenSize;
    }

    /** Original sizes of the images, in order; detections are mapped into the first. */
    public List<ImageSize> sizes() {
        return sizes;
    }

    /** Time the vision tower took, in nanoseconds. */
    public long encodeNanos() {
        return encodeNanos;
    }

    /** A copy of the rows, {@code [rowCount, hiddenSize]} row-major. */
    public float[] rows() {
        return rows.clone();
    }

    float[] rowsShared() {
        return rows;
    }
}
