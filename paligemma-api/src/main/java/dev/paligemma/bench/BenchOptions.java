package dev.paligemma.bench;

import dev.paligemma.core.DType;
import dev.paligemma.core.InvalidArgumentException;

import java.nio.file.Path;
import java.util.Locale;

/**
 * What {@link BenchmarkRunner#run} measures.
 *
 * @param synthetic  a synthetic model name from {@link SyntheticSpec#NAMES} (ignored when {@code checkpoint} is set)
 * @param dtype      weight type of the synthetic checkpoint: {@code f32} or {@code bf16} ({@code q8} is rejected
 *                   until a quantised path exists)
 * @param threads    threads of the kernel pool, 0 for the default (all cores)
 * @param quick      fewer repetitions and 8 decode tokens instead of 32
 * @param cacheDir   folder of synthetic checkpoints, null for {@link SyntheticCheckpoint#defaultCacheRoot()}
 * @param checkpoint an existing checkpoint folder to measure instead of a synthetic one (no tokenizer needed), or null
 */
public record BenchOptions(String synthetic, String dtype, int threads, boolean quick, Path cacheDir, Path checkpoint) {

    public BenchOptions {
        if (checkpoint == null) {
            SyntheticSpec.named(synthetic); // fails on unknown names, listing the known ones
        }
        dtype = dtype == null ? "bf16" : dtype.toLowerCase(Locale.ROOT);
        switch (dtype) {
            case "f32", "bf16", "q8" -> { }
            default -> throw new InvalidArgumentException("--dtype: '" + dtype + "' is not one of f32, bf16, q8");
        }
        if (threads < 0) {
            throw new InvalidArgumentException("--threads: must be >= 1 (or 0 for all cores), got " + threads);
        }
    }

    /** Full run of {@code synthetic} in {@code dtype}, all cores, default cache. */
    public static BenchOptions of(String synthetic, String dtype) {
        return new BenchOptions(synthetic, dtype, 0, false, null, null);
    }

    public BenchOptions withThreads(int n) {
        return new BenchOptions(synthetic, dtype, n, quick, cacheDir, checkpoint);
    }

    public BenchOptions withQuick(boolean q) {
        return new BenchOptions(synthetic, dtype, threads, q, cacheDir, checkpoint);
    }

    public BenchOptions withCacheDir(Path dir) {
        return new BenchOptions(synthetic, dtype, threads, quick, dir, checkpoint);
    }

    public BenchOptions withCheckpoint(Path dir) {
        return new BenchOptions(synthetic, dtype, threads, quick, cacheDir, dir);
    }

    /** The stored type of the synthetic checkpoint: F32, or BF16 (which q8 quantises at load). */
    public DType weightType() {
        return dtype.equals("f32") ? DType.F32 : DType.BF16;
    }

    /** Whether the weights are block-quantised to Q8 at load ({@code --dtype q8}). */
    public boolean q8() {
        return dtype.equals("q8");
    }

    /** Tokens timed in the decode measurement. */
    public int decodeTokens() {
        return quick ? 8 : 32;
    }
}
