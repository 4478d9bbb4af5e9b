package dev.paligemma.core;

import java.util.Optional;

/** Element types of safetensors tensors, with the byte size each takes in the file. */
public enum DType {
    F32(4, true),
    BF16(2, true),
    F16(2, true),
    F64(8, false),
    I8(1, false),
    U8(1, false),
    I16(2, false),
    I32(4, false),
    I64(8, false),
    BOOL(1, false),
    /**
     * Block-quantised weights (not a safetensors dtype): one signed byte per element, plus a companion
     * segment of float16 scales, one per block of {@link Q8#BLOCK} consecutive elements of a row (the last
     * block of a row may be shorter). Element value = byte x scale. See {@link Q8}.
     */
    Q8(1, true);

    private final int byteSize;
    private final boolean floatWeights;

    DType(int byteSize, boolean floatWeights) {
        this.byteSize = byteSize;
        this.floatWeights = floatWeights;
    }

    /** Bytes one element occupies in the file. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether the kernels can use tensors of this type as weights (decoded to float32 on the fly). */
    public boolean isFloatWeight() {
        return floatWeights;
    }

    /** The type named by a safetensors header's {@code dtype} string, if this library knows it. */
    public static Optional<DType> fromSafetensors(String name) {
        for (DType t : values()) {
            if (t != Q8 && t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
