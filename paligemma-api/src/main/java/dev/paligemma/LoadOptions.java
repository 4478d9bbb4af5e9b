package dev.paligemma;

import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.siglip.ImageLoader;
import dev.paligemma.siglip.Resample;

/**
 * How to load a checkpoint.
 *
 * @param threads        worker threads for the kernels; 0 means one per core
 * @param slidingWindow  apply Gemma 2's {@code sliding_window} on layers 0, 2, 4, ... as transformers and
 *                       gemma.cpp do; off by default, as in big_vision, which trained these models without
 *                       one (it matters only beyond 4096 tokens)
 * @param maxImagePixels images with more pixels are refused before their pixels are decoded
 * @param resample       resize filter, or null for the checkpoint's ({@code preprocessor_config.json}:
 *                       bicubic for PaliGemma); {@link Resample#BILINEAR} is big_vision's own
 */
public record LoadOptions(int threads, boolean slidingWindow, long maxImagePixels, Resample resample) {

    public LoadOptions {
        if (threads < 0) {
            throw new InvalidArgumentException("threads: must be >= 0 (0 = one per core), got " + threads);
        }
        if (maxImagePixels < 1) {
            throw new InvalidArgumentException("maxImagePixels: must be positive, got " + maxImagePixels);
        }
    }

    /** One thread per core, no sliding window, 100-megapixel image budget, the checkpoint's filter. */
    public static LoadOptions defaults() {
        return new LoadOptions(0, false, ImageLoader.DEFAULT_MAX_PIXELS, null);
    }

    public LoadOptions withThreads(int n) {
        return new LoadOptions(n, slidingWindow, maxImagePixels, resample);
    }

    public LoadOptions withSlidingWindow(boolean on) {
        return new LoadOptions(threads, on, maxImagePixels, resample);
    }

    public LoadOptions withMaxImagePixels(long pixels) {
        return new LoadOptions(threads, slidingWindow, pixels, resample);
    }

    public LoadOptions withResample(Resample r) {
        return new LoadOptions(threads, slidingWindow, maxImagePixels, r);
    }
}
