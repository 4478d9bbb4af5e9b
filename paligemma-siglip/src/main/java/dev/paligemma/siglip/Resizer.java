package dev.paligemma.siglip;

/**
 * Separable two-pass resize of 8-bit RGB that reproduces Pillow's {@code Image.resize} for 8-bit
 * images (libImaging/Resample.c) bit for bit: double-precision kernel weights normalised to sum 1
 * per output pixel, then rounded to fixed point with 22 fractional bits; a horizontal pass into an
 * 8-bit intermediate (rounded and clamped), then a vertical pass. Matching the intermediate
 * rounding, not just the kernel, is what keeps the result within one 8-bit level of the reference.
 */
final class Resizer {
    /** 32 bits minus 8 for the value minus 2 for the overshoot of negative-lobe kernels. */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private Resizer() {}

    /** Per output pixel: first input index, number of taps, and fixed-point weights. */
    record Coefficients(int taps, int[] first, int[] count, int[] weights) {}

    static Coefficients coefficients(int inSize, int outSize, Resample filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support() * filterScale;
        int taps = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize];
        int[] count = new int[outSize];
        int[] weights = new int[outSize * taps];
        double[] w = new double[taps];
        double inverseScale = 1.0 / filterScale;
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            // (int) truncates toward zero like Pillow's C cast; the +0.5 rounds the window ends
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double sum = 0.0;
            for (int x = 0; x < xmax; x++) {
                w[x] = filter.weight((x + xmin - center + 0.5) * inverseScale);
                sum += w[x];
            }
            for (int x = 0; x < xmax; x++) {
                double k = sum != 0.0 ? w[x] / sum : w[x];
                weights[xx * taps + x] = k < 0
                        ? (int) (-0.5 + k * (1 << PRECISION_BITS))
                        : (int) (0.5 + k * (1 << PRECISION_BITS));
            }
            first[xx] = xmin;
            count[xx] = xmax;
        }
        return new Coefficients(taps, first, count, weights);
    }

    private static int clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    static RgbImage resize(RgbImage image, int outWidth, int outHeight, Resample filter) {
        int inWidth = image.width();
        int inHeight = image.height();
        byte[] src = image.data();
        boolean horizontal = outWidth != inWidth;
        boolean vertical = outHeight != inHeight;
        if (!horizontal && !vertical) {
            return image;
        }
        Coefficients ver = coefficients(inHeight, outHeight, filter);
        // rows of the input the vertical pass reads; the horizontal pass only needs these
        int rowFirst = ver.first[0];
        int rowEnd = ver.first[outHeight - 1] + ver.count[outHeight - 1];
        byte[] mid = src;
        int midRowOffset = 0;
        if (horizontal) {
            Coefficients hor = coefficients(inWidth, outWidth, filter);
            int rows = rowEnd - rowFirst;
            mid = new byte[rows * outWidth * 3];
            horizontalPass(src, inWidth, rowFirst, rows, mid, outWidth, hor);
            midRowOffset = rowFirst;
        }
        if (!vertical) {
            return new RgbImage(outWidth, outHeight, mid, true);
        }
        byte[] out = new byte[outWidth * outHeight * 3];
        verticalPass(mid, outWidth, midRowOffset, out, outHeight, ver);
        return new RgbImage(outWidth, outHeight, out, true);
    }

    private static void horizontalPass(
            byte[] src, int inWidth, int rowFirst, int rows, byte[] dst, int outWidth, Coefficients c) {
        int half = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < rows; y++) {
            int srcRow = (y + rowFirst) * inWidth * 3;
            int dstRow = y * outWidth * 3;
            for (int xx = 0; xx < outWidth; xx++) {
                int base = srcRow + c.first[xx] * 3;
                int k = xx * c.taps;
                int r = half, g = half, b = half;
                for (int x = 0, n = c.count[xx]; x < n; x++) {
                    int w = c.weights[k + x];
                    int p = base + x * 3;
                    r += (src[p] & 0xFF) * w;
                    g += (src[p + 1] & 0xFF) * w;
                    b += (src[p + 2] & 0xFF) * w;
                }
                int d = dstRow + xx * 3;
                dst[d] = (byte) clip8(r);
                dst[d + 1] = (byte) clip8(g);
                dst[d + 2] = (byte) clip8(b);
            }
        }
    }

    private static void verticalPass(
            byte[] src, int width, int rowOffset, byte[] dst, int outHeight, Coefficients c) {
        int half = 1 << (PRECISION_BITS - 1);
        int stride = width * 3;
        for (int yy = 0; yy < outHeight; yy++) {
            int k = yy * c.taps;
            int firstRow = c.first[yy] - rowOffset;
            int n = c.count[yy];
            int dstRow = yy * stride;
            for (int i = 0; i < stride; i++) {
                int acc = half;
                int p = firstRow * stride + i;
                for (int y = 0; y < n; y++, p += stride) {
                    acc += (src[p] & 0xFF) * c.weights[k + y];
                }
                dst[dstRow + i] = (byte) clip8(acc);
            }
        }
    }
}
