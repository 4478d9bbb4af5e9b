package dev.paligemma.core;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named, typed view of tensor bytes: for checkpoint tensors a zero-copy slice of a memory-mapped
 * file. Elements are little-endian and row-major. Reading converts to float32 (BF16 by widening the
 * high 16 bits, F16 exactly, subnormals, infinities and NaN included).
 *
 * <p>Immutable; safe to share between threads while the owning {@link Checkpoint} is open.
 */
public final class Tensor {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final MemorySegment data;
    private final String source;
    /** {@link DType#Q8} only: float16 scales, laid out as the values (see {@link #panelLength}); null otherwise. */
    private final MemorySegment scales;
    /** Elements of a row per column panel (see {@link #panelLength}); the row length if row-major. */
    private final long panel;
    /** Rows interleaved per group ({@link Q8#rowGroup}); 1 for everything but Q8 matrices. */
    private final int group;
    /** Elements per row (product of the dims after the first); used to locate Q8 scales. */
    private final long rowLength;

    /**
     * @param name   tensor name (as the caller will look it up)
     * @param dtype  element type
     * @param shape  dimensions, row-major
     * @param data   exactly {@code product(shape) * dtype.byteSize()} bytes
     * @param source where the bytes come from (a file name), for error messages
     */
    public Tensor(String name, DType dtype, long[] shape, MemorySegment data, String source) {
        this(name, dtype, shape, data, null, -1, source);
        if (dtype == DType.Q8) {
            throw new InvalidArgumentException(source + ": tensor '" + name + "': Q8 tensors need scales; use Q8.of or Q8.quantize");
        }
    }

    /**
     * A tensor stored in column panels of {@code panel} elements (a negative panel: row-major); a {@link DType#Q8}
     * one with its scales. Validated by {@link Q8#of} and {@link #panelled}.
     */
    Tensor(String name, DType dtype, long[] shape, MemorySegment data, MemorySegment scales, long panel, String source) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
        this.source = source;
        this.scales = scales;
        long count = elementCount(this.shape);
        this.rowLength = this.shape.length == 0 || this.shape[0] == 0 ? count : count / this.shape[0];
        this.panel = panel < 0 ? rowLength : panel;
        this.group = dtype == DType.Q8 && this.shape.length > 0 ? Q8.rowGroup(this.shape[0], rowLength, this.panel) : 1;
        long expected;
        try {
            expected = Math.multiplyExact(elementCount(this.shape), dtype.byteSize());
        } catch (ArithmeticException overflow) {
            throw new InvalidArgumentException(source + ": tensor '" + name + "' shape " + Arrays.toString(shape) + " overflows");
        }
        if (data.byteSize() != expected) {
            throw new CheckpointException(source + ": tensor '" + name + "' has " + data.byteSize()
                    + " bytes but shape " + Arrays.toString(shape) + " x " + dtype + " needs " + expected);
        }
    }

    /** A float32 tensor over a heap or native segment, for tests and synthetic weights. */
    public static Tensor ofFloats(String name, long[] shape, float[] values) {
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 4)]);
        for (int i = 0; i < values.length; i++) {
            seg.setAtIndex(F32, i, values[i]);
        }
        return new Tensor(name, DType.F32, shape, seg, "<memory>");
    }

    static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new InvalidArgumentException("negative dimension " + d + " in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    /** Number of elements. */
    public long size() {
        return elementCount(shape);
    }

    /** The raw little-endian bytes (a zero-copy slice of the mapping for checkpoint tensors). */
    public MemorySegment segment() {
        return data;
    }

    /**
     * The float16 scales of a {@link DType#Q8} tensor: {@code rows x Q8.blocks(rowLength())} little-endian
     * halves, one per block of {@link Q8#BLOCK} elements of a row, in the order of the values (see
     * {@link #panelLength}).
     *
     * @throws InvalidArgumentException for any other dtype
     */
    public MemorySegment scales() {
        if (scales == null) {
            throw new InvalidArgumentException("tensor '" + name + "' is " + dtype + ", it has no Q8 scales");
        }
        return scales;
    }

    /**
     * How the elements (and a {@link DType#Q8} tensor's scales) are ordered. With a panel length {@code kc} equal
     * to {@link #rowLength()} (every tensor a file holds) they are row-major. With a shorter one (a divisor of
     * the row length, a multiple of {@link Q8#BLOCK}) the columns of a matrix are cut into panels of kc: panel
     * {@code s} holds columns {@code [s kc, (s + 1) kc)} of every row, row-major, and the panels follow each
     * other; Q8 scales are cut the same way. Element {@code (row, col)} is then element
     * {@code (col / kc) rows kc + row kc + col % kc} of {@link #segment()} ({@link Q8#valueIndex}). Q8 matrices
     * ({@link Q8#quantize}) and BF16 matrices of a {@link Checkpoint#panelled} view come in panels when their
     * rows are long ({@link Q8#panelLength} says when, and why).
     */
    public long panelLength() {
        return panel;
    }

    /**
     * A BF16 matrix over bytes stored in column panels of {@code panelLength} elements (see {@link #panelLength}).
     *
     * @throws InvalidArgumentException if the panel length is not a multiple of {@link Q8#BLOCK} dividing the row
     *                                  length, or the tensor is not a BF16 matrix
     */
    public static Tensor panelled(String name, DType dtype, long[] shape, long panelLength, MemorySegment data, String source) {
        if (dtype != DType.BF16 || shape.length != 2) {
            throw new InvalidArgumentException(source + ": tensor '" + name + "': only BF16 matrices come in panels, not "
                    + dtype + " " + Arrays.toString(shape));
        }
        Q8.requirePanelLength(source + ": tensor '" + name + "' " + Arrays.toString(shape), shape[1], panelLength);
        return new Tensor(name, dtype, shape, data, null, panelLength, source);
    }

    /**
     * Rows stored interleaved block by block per group ({@link Q8#rowGroup}, {@link Q8#valueIndex(long, long,
     * int, long, long)}): 1 unless this is a Q8 matrix.
     */
    public int rowGroup() {
        return group;
    }

    /** Whether {@link #panelLength} is shorter than a row. */
    public boolean isPanelled() {
        return panel != rowLength;
    }

    /** Element index (a Q8 tensor's byte) in {@link #segment()} of flat (row-major) element {@code index}. */
    private long stored(long index) {
        if (panel == rowLength && group == 1) {
            return index;
        }
        long row = index / rowLength;
        return Q8.valueIndex(shape[0], panel, group, row, index - row * rowLength);
    }

    /** Elements per row: the product of every dimension after the first (all elements for a scalar). */
    public long rowLength() {
        return rowLength;
    }

    /** The file (or other origin) the bytes come from. */
    public String source() {
        return source;
    }

    /** Element {@code index} (flat, row-major) as float32. */
    public float getFloat(long index) {
        try {
            return readFloat(index);
        } catch (InternalError e) {
            throw fault(e);
        }
    }

    /**
     * A read from a mapping whose file was truncated after it was opened: HotSpot turns the SIGBUS of a
     * segment access into an InternalError; report it against this tensor's file instead.
     */
    private RuntimeException fault(InternalError e) {
        if (Checkpoint.mappingFault(e) == null) {
            throw e;
        }
        return new CheckpointException(source + ": reading tensor '" + name + "' faulted (" + e.getMessage()
                + "); the weight file was probably truncated or replaced after it was opened", e);
    }

    private float readFloat(long index) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, index);
            case BF16 -> Float.intBitsToFloat((data.getAtIndex(I16, stored(index)) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, index));
            case F64 -> (float) Double.longBitsToDouble(data.getAtIndex(I64, index));
            case I8 -> data.get(ValueLayout.JAVA_BYTE, index);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
            case I16 -> data.getAtIndex(I16, index);
            case I32 -> data.getAtIndex(I32, index);
            case I64 -> data.getAtIndex(I64, index);
            case Q8 -> data.get(ValueLayout.JAVA_BYTE, stored(index)) * q8Scale(index);
        };
    }

    /** The (exactly representable) scale of the Q8 block holding flat element {@code index}. */
    private float q8Scale(long index) {
        long row = index / rowLength;
        long col = index - row * rowLength;
        return Float.float16ToFloat(scales.getAtIndex(I16, Q8.scaleIndex(shape[0], panel, group, row, col)));
    }

    /** Element {@code index} of an integer tensor (I8/U8/I16/I32/I64/BOOL) as a long. */
    public long getLong(long index) {
        try {
            return readLong(index);
        } catch (InternalError e) {
            throw fault(e);
        }
    }

    private long readLong(long index) {
        return switch (dtype) {
            case I8 -> data.get(ValueLayout.JAVA_BYTE, index);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
            case I16 -> data.getAtIndex(I16, index);
            case I32 -> data.getAtIndex(I32, index);
            case I64 -> data.getAtIndex(I64, index);
            case F32, BF16, F16, F64, Q8 ->
                    throw new CheckpointException(source + ": tensor '" + name + "' is " + dtype + ", not an integer type");
        };
    }

    /** Converts {@code length} elements starting at flat index {@code start} into {@code dst[dstOffset..]}. */
    public void toFloats(long start, float[] dst, int dstOffset, int length) {
        try {
            copyFloats(start, dst, dstOffset, length);
        } catch (InternalError e) {
            throw fault(e);
        }
    }

    private void copyFloats(long start, float[] dst, int dstOffset, int length) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, F32, start * 4, dst, dstOffset, length);
            case BF16 -> {
                for (int i = 0; i < length; i++) {
                    dst[dstOffset + i] = Float.intBitsToFloat((data.getAtIndex(I16, stored(start + i)) & 0xFFFF) << 16);
                }
            }
            case F16 -> {
                for (int i = 0; i < length; i++) {
                    dst[dstOffset + i] = Float.float16ToFloat(data.getAtIndex(I16, start + i));
                }
            }
            case Q8 -> {
                // one scale per block, not per element: embedding lookups read whole rows this way; a block
                // never straddles two panels
                int i = 0;
                while (i < length) {
                    long idx = start + i;
                    long col = idx % rowLength;
                    int run = (int) Math.min(length - i, Math.min(Q8.BLOCK - col % Q8.BLOCK, rowLength - col));
                    float s = q8Scale(idx);
                    long at = stored(idx);
                    for (int j = 0; j < run; j++) {
                        dst[dstOffset + i + j] = data.get(ValueLayout.JAVA_BYTE, at + j) * s;
                    }
                    i += run;
                }
            }
            default -> {
                for (int i = 0; i < length; i++) {
                    dst[dstOffset + i] = readFloat(start + i);
                }
            }
        }
    }

    /** All elements as a new float32 array (copies; for small tensors such as norms and biases). */
    public float[] toFloatArray() {
        long n = size();
        if (n > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(source + ": tensor '" + name + "' has " + n + " elements, too many for one array");
        }
        float[] out = new float[(int) n];
        toFloats(0, out, 0, out.length);
        return out;
    }

    /** Throws a {@link CheckpointException} naming this tensor unless its shape equals {@code expected}. */
    public Tensor requireShape(long... expected) {
        if (!Arrays.equals(shape, expected)) {
            throw new CheckpointException(source + ": tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + ", expected " + Arrays.toString(expected));
        }
        return this;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
