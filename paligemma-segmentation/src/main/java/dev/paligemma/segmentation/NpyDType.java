package dev.paligemma.segmentation;

/**
 * The numpy element types this reader accepts: little-endian float32, float16, int32 and bytes.
 * Anything else (object arrays, big-endian, structured dtypes) is refused, never interpreted.
 */
public enum NpyDType {
    /** {@code <f4} */
    F4("<f4", 4),
    /** {@code <f2} */
    F2("<f2", 2),
    /** {@code <i4} */
    I4("<i4", 4),
    /** {@code |u1} */
    U1("|u1", 1);

    private final String descr;
    private final int itemSize;

    NpyDType(String descr, int itemSize) {
        this.descr = descr;
        this.itemSize = itemSize;
    }

    /** The numpy {@code descr} string, e.g. {@code <f4}. */
    public String descr() {
        return descr;
    }

    /** Bytes per element. */
    public int itemSize() {
        return itemSize;
    }

    /** The dtype for a {@code descr}, or null if it is not one this reader supports. */
    static NpyDType forDescr(String descr) {
        for (NpyDType t : values()) {
            if (t.descr.equals(descr)) {
                return t;
            }
        }
        // numpy writes '<' on little-endian machines, but '=' (native) and '|'/'<' for one-byte types are equivalent
        return switch (descr) {
            case "<u1", "=u1" -> U1;
            default -> null;
        };
    }
}
