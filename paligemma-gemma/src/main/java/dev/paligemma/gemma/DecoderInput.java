package dev.paligemma.gemma;

import dev.paligemma.core.InvalidArgumentException;

/**
 * The decoder's input for a prefix: {@code length} rows of {@code hiddenSize} float32 values,
 * image rows first (projector output, unscaled), then the text rows (token embeddings times
 * {@code sqrt(hiddenSize)}). Built by {@link GemmaModel#input(float[], int, int[])}; the whole prefix
 * attends to itself bidirectionally.
 *
 * <p>Immutable: the rows are copied in and never handed out.
 */
public final class DecoderInput {
    private final float[] rows;
    private final int length;
    private final int hiddenSize;
    private final int imageRows;

    DecoderInput(float[] rows, int length, int hiddenSize, int imageRows) {
        this.rows = rows;
        this.length = length;
        this.hiddenSize = hiddenSize;
        this.imageRows = imageRows;
    }

    /**
     * Wraps precomputed decoder input rows (copied), e.g. rows saved from another run.
     *
     * @param rows       {@code length * hiddenSize} values, row-major
     * @param imageRows  how many of the leading rows come from the image (informational)
     */
    public static DecoderInput ofRows(float[] rows, int length, int hiddenSize, int imageRows) {
        if (rows == null) {
            throw new InvalidArgumentException("rows: must not be null");
        }
        if (length < 1 || hiddenSize < 1 || (long) length * hiddenSize != rows.length) {
            throw new InvalidArgumentException("rows: " + rows.length + " values do not form " + length + " rows of "
                    + hiddenSize);
        }
        if (imageRows < 0 || imageRows > length) {
            throw new InvalidArgumentException("imageRows: " + imageRows + " is outside [0, " + length + "]");
        }
        return new DecoderInput(rows.clone(), length, hiddenSize, imageRows);
    }

    /** Number of prefix positions. */
    public int length() {
        return length;
    }

    public int hiddenSize() {
        return hiddenSize;
    }

    /** Number of leading image rows. */
    public int imageRows() {
        return imageRows;
    }

    /** A copy of all rows, {@code [length, hiddenSize]} row-major. */
    public float[] toFloatArray() {
        return rows.clone();
    }

    /** The backing array; callers inside the package must not modify it. */
    float[] rows() {
        return rows;
    }
}
