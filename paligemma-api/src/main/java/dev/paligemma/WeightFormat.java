package dev.paligemma;

/** How the weight matrices are held in memory and fed to the kernels. */
public enum WeightFormat {
    /** As stored in the checkpoint (F32, BF16 or F16), read in place from the mapped files. */
    STORED,
    /**
     * 8-bit block quantisation ({@link dev.paligemma.core.Q8}): int8 values with a float16 scale per 32
     * weights of a row, about 1.06 bytes per weight. Applies to the projection, MLP and embedding
     * matrices; norms, biases, position and patch embeddings stay as stored. The quantised copy is cached
     * as safetensors (see {@link LoadOptions#q8CacheDir()}).
     */
    Q8
}
