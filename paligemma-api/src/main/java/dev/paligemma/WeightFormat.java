package dev.paligemma;

import dev.paligemma.core.Checkpoint;
import java.nio.file.Path;

/** How the weight matrices are held in memory and fed to the kernels. */
public enum WeightFormat {
    /**
     * As stored in the checkpoint (F32, BF16 or F16), read in place from the mapped files. BF16 matrices with
     * long rows (Gemma's MLP down projections) are read from a copy of the same values in column panels, a file
     * written once beside the Q8 cache ({@link LoadOptions#q8CacheDir()}) and mapped the same way: a decode
     * step streams them faster (see {@link dev.paligemma.core.Checkpoint#panelled}). It takes as much disk
     * space as those matrices (about 30 % of a Gemma checkpoint); {@code -Dpaligemma.panels=false} reads
     * them as stored instead.
     */
    STORED,
    /**
     * 8-bit block quantisation ({@link dev.paligemma.core.Q8}): int8 values with a float16 scale per 32
     * weights of a row, about 1.06 bytes per weight. Applies to the projection, MLP and embedding
     * matrices; norms, biases, position and patch embeddings stay as stored. The quantised copy is cached
     * as safetensors (see {@link LoadOptions#q8CacheDir()}).
     */
    Q8;

    /**
     * The view of {@code stored} this format loads: its {@link Checkpoint#quantized} view for {@link #Q8}; for
     * {@link #STORED} its {@link Checkpoint#panelled} view, or {@code stored} itself when panels are off. Caches
     * live under {@code cacheRoot}. The view takes over {@code stored}.
     */
    public Checkpoint view(Checkpoint stored, Path cacheRoot) {
        return switch (this) {
            case Q8 -> stored.quantized(cacheRoot);
            case STORED -> panelsEnabled() ? stored.panelled(cacheRoot) : stored;
        };
    }

    /** Whether {@link #STORED} reads long BF16 rows from the column-panel cache ({@code -Dpaligemma.panels}, default true). */
    public static boolean panelsEnabled() {
        return !"false".equalsIgnoreCase(System.getProperty("paligemma.panels", "true"));
    }
}
