package dev.paligemma.core.ops;

/**
 * Conv-as-matmul helper for a non-overlapping patch convolution (kernel = stride = patch).
 */
public final class Im2col {
    private Im2col() {
    }

    /**
     * Cuts a channels-first image {@code [channels, height, width]} into patches in row-major patch
     * order; each row is {@code channels * patch * patch} values laid out like a conv weight
     * {@code [out, channels, patch, patch]}, so {@code patches x weight^T} is the convolution.
     */
    public static float[] patches(float[] image, int imageOffset, int channels, int height, int width, int patch) {
        int ph = height / patch;
        int pw = width / patch;
        int k = channels * patch * patch;
        float[] out = new float[ph * pw * k];
        for (int py = 0; py < ph; py++) {
            for (int px = 0; px < pw; px++) {
                int row = (py * pw + px) * k;
                for (int c = 0; c < channels; c++) {
                    for (int y = 0; y < patch; y++) {
                        int src = imageOffset + (c * height + py * patch + y) * width + px * patch;
                        System.arraycopy(image, src, out, row + (c * patch + y) * patch, patch);
                    }
                }
            }
        }
        return out;
    }
}
