package dev.paligemma;

import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.siglip.ImageLoader;
import dev.paligemma.siglip.Resample;

import java.nio.file.Path;

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
 * @param weights        weight format in memory; {@link WeightFormat#STORED} (the default) or
 *                       {@link WeightFormat#Q8}
 * @param q8CacheDir     root of the Q8 cache (one subdirectory per checkpoint directory), or null for
 *                       {@code ${user.home}/.cache/paligemma-java/q8}
 */
public record LoadOptions(int threads, boolean slidingWindow, long maxImagePixels, Resample resample,
                          WeightFormat weights, Path q8CacheDir) {

    /** Options with the stored weight format. */
    public LoadOptions(int threads, boolean slidingWindow, long maxImagePixels, Resample resample) {
        this(threads, slidingWindow, maxImagePixels, resample, WeightFormat.STORED, null);
    }

    public LoadOptions {
        if (weights == null) {
            throw new InvalidArgumentException("weights: must not be null (WeightFormat.STORED or Q8)");
        }
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
        return new LoadOptions(n, slidingWindow, maxImagePixels, resample, weights, q8CacheDir);
    }

    public LoadOptions withSlidingWindow(boolean on) {
        return new LoadOptions(threads, on, maxImagePixels, resample, weights, q8CacheDir);
    }

    public LoadOptions withMaxImagePixels(long pixels) {
        return new LoadOptions(threads, slidingWindow, pixels, resample, weights, q8CacheDir);
    }

    public LoadOptions withResample(Resample r) {
        return new LoadOptions(threads, slidingWindow, maxImagePixels, r, weights, q8CacheDir);
    }

    /** These options with weight format {@code format} ({@link WeightFormat#Q8} to quantise at load). */
    public LoadOptions withWeights(WeightFormat format) {
        return new LoadOptions(threads, slidingWindow, maxImagePixels, resample, format, q8CacheDir);
    }

    /** These options with the Q8 cache under {@code dir} (null: the default under the user's home). */
    public LoadOptions withQ8CacheDir(Path dir) {
        return new LoadOptions(threads, slidingWindow, maxImagePixels, resample, weights, dir);
    }

    /** The Q8 cache root in effect: {@link #q8CacheDir()} or {@code ${user.home}/.cache/paligemma-java/q8}. */
    public Path effectiveQ8CacheDir() {
        return q8CacheDir != null ? q8CacheDir
                : Path.of(System.getProperty("user.home"), ".cache", "paligemma-java", "q8");
    }
}
