package dev.paligemma.segmentation;

/**
 * Bilinear resize of a single-channel float image, matching Pillow's {@code Image.resize(size, BILINEAR)}
 * on mode {@code F} (libImaging {@code ImagingResample}): separable, horizontal pass first, each pass
 * skipped when that dimension is unchanged; the triangle filter's support widens by the scale factor when
 * shrinking; weights are normalised doubles; sums are accumulated in double and stored as float32 after
 * each pass, so the second pass reads rounded values exactly as Pillow's intermediate image holds them.
 */
final class PilBilinear {
    private PilBilinear() {
    }

    /** Resizes {@code src [srcH, srcW]} (row-major) to {@code [dstH, dstW]}. */
    static float[] resize(float[] src, int srcW, int srcH, int dstW, int dstH) {
        float[] cur = src;
        int curW = srcW;
        if (dstW != srcW) {
            Coefficients c = Coefficients.of(srcW, dstW);
            float[] out = new float[dstW * srcH];
            for (int y = 0; y < srcH; y++) {
                int row = y * srcW;
                for (int x = 0; x < dstW; x++) {
                    int min = c.min[x];
                    int k = x * c.ksize;
                    double ss = 0.0;
                    for (int i = 0; i < c.count[x]; i++) {
                        ss += cur[row + min + i] * c.weights[k + i];
                    }
                    out[y * dstW + x] = (float) ss;
                }
            }
            cur = out;
            curW = dstW;
        }
        if (dstH != srcH) {
            Coefficients c = Coefficients.of(srcH, dstH);
            float[] out = new float[curW * dstH];
            for (int y = 0; y < dstH; y++) {
                int min = c.min[y];
                int k = y * c.ksize;
                for (int x = 0; x < curW; x++) {
                    double ss = 0.0;
                    for (int i = 0; i < c.count[y]; i++) {
                        ss += cur[(min + i) * curW + x] * c.weights[k + i];
                    }
                    out[y * curW + x] = (float) ss;
                }
            }
            cur = out;
        }
        return cur == src ? src.clone() : cur;
    }

    /** Per output position: first input index, number of taps and their weights ({@code precompute_coeffs}). */
    private record Coefficients(int[] min, int[] count, double[] weights, int ksize) {
        static Coefficients of(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filterScale; // the triangle filter's support is 1
            int ksize = (int) Math.ceil(support) * 2 + 1;
            int[] min = new int[outSize];
            int[] count = new int[outSize];
            double[] weights = new double[outSize * ksize];
            double ss = 1.0 / filterScale;
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                // (int) truncates toward zero, as the C cast does
                int xmin = Math.max((int) (center - support + 0.5), 0);
                int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
                double ww = 0.0;
                for (int x = 0; x < xmax; x++) {
                    double w = triangle((x + xmin - center + 0.5) * ss);
                    weights[xx * ksize + x] = w;
                    ww += w;
                }
                if (ww != 0.0) {
                    for (int x = 0; x < xmax; x++) {
                        weights[xx * ksize + x] /= ww;
                    }
                }
                min[xx] = xmin;
                count[xx] = Math.max(xmax, 0);
            }
            return new Coefficients(min, count, weights, ksize);
        }

        private static double triangle(double x) {
            double a = Math.abs(x);
            return a < 1.0 ? 1.0 - a : 0.0;
        }
    }
}
