package dev.paligemma.core;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Block quantisation of weight matrices to 8 bits ({@link DType#Q8}): each row of {@code k} elements is
 * cut into blocks of {@value #BLOCK} (the last block of a row is shorter when {@code k} is not a multiple,
 * e.g. SigLIP's MLP width 4304 = 134 x 32 + 16), and each block stores a float16 scale
 * {@code s = max|w| / 127} (rounded to nearest even, then raised by one half-ulp step if that rounding made
 * {@code 127 s < max|w|}) and one signed byte per element, {@code q = rint(w / s)} (round half to even), so
 * {@code |w - q s| <= s / 2}. The product {@code q s} of a 8-bit integer and an 11-bit half mantissa is
 * exact in float32, so a Q8 tensor behaves exactly like the float32 tensor of its dequantised values.
 * Storage: 1 byte per weight plus 2 bytes per block, 1.0625 bytes per weight for full blocks. Long rows are
 * stored in column panels ({@link #panelLength}, {@link Tensor#panelLength}), and rows in groups of four
 * interleaved block by block ({@link #rowGroup}).
 */
public final class Q8 {
    /** Elements per scale along a row. */
    public static final int BLOCK = 32;

    private static final ValueLayout.OfShort I16 = Tensor.I16;

    private Q8() {
    }

    /** Number of scale blocks in a row of {@code k} elements. */
    public static long blocks(long k) {
        return (k + BLOCK - 1) / BLOCK;
    }

    /** Longest panel {@link #panelLength} picks: its activations (12 KB) stay in a core's L1 while a row streams past. */
    public static final int PANEL_MAX = 3072;
    /** Shortest panel {@link #panelLength} accepts; a row length whose panels would be shorter stays row-major. */
    static final int PANEL_MIN = 1024;

    /**
     * The panel length {@link #quantize} stores rows of {@code k} elements in: k itself up to {@value #PANEL_MAX},
     * else the longest divisor of k that is a multiple of {@link #BLOCK} and at most {@value #PANEL_MAX} (k when
     * there is none of at least {@value #PANEL_MIN}). Gemma 2's down projection (k = 9216) gets three panels of
     * 3072, Gemma's (16384) eight of 2048.
     *
     * <p>Why: a decode matrix-vector product is bound by streaming the weights, and on two Zen 4 cores a Q8 row
     * streams at 30-31 GB/s only while its activation vector stays in L1 (k up to 3072; 27 GB/s at 4096, 21 at
     * 4608, 16 at 6144, one row at a time). Longer rows went four per pass, sharing each activation load: four
     * weight streams and four scale streams that restart every pass. Panels give both: the kernel goes one row
     * at a time through a panel, one sequential stream whose activations fit L1, carrying each row's
     * accumulators from panel to panel, so the bits are those of the row-major product. Through
     * {@code Matmul.matvec}, two threads, 26 matrices of 2304 x 9216 (one paligemma2 decode step's down
     * projections) read 25.7-27.5 GB/s in panels against 23.5-25.6 row-major, and 18 of 2048 x 16384 28.4-30.8
     * against 22.9-25.2 (medians of alternating rounds in five JVMs, anonymous and file-mapped memory).
     *
     * <p>{@link Checkpoint#panelled} stores long BF16 rows in the same panels, for the same reason: through
     * {@code Matmul.matvec} over the real files, paligemma2's 26 down projections read 32.7 against 30.3 GB/s
     * row-major (four rows per pass) when the machine streamed ~33 GB/s, and 51.3 against 37.1 when it streamed
     * ~55; paligemma's 18 (eight panels of 2048) 33.8 against 32.2 and 52.6 against 40.5.
     */
    public static long panelLength(long k) {
        if (k <= PANEL_MAX || k % BLOCK != 0) {
            return k;
        }
        long blocks = k / BLOCK;
        for (long n = (k + PANEL_MAX - 1) / PANEL_MAX; n <= blocks; n++) {
            if (blocks % n == 0) {
                long kc = k / n;
                return kc >= PANEL_MIN ? kc : k;
            }
        }
        return k;
    }

    /**
     * Rows per interleaved group in the Q8 layout ({@link #rowGroup}): a decode kernel reads four rows per pass,
     * sharing each activation load, from one sequential stream.
     */
    public static final int GROUP = 4;

    /**
     * How many rows of a Q8 matrix of {@code rows} rows of {@code k} elements stored in column panels of
     * {@code panel} are interleaved block by block: {@link #GROUP} when the matrix is row-major (no panels), the
     * rows come in whole groups and the blocks are whole (every real decode matrix but Gemma's down projections),
     * else 1 (plain rows or panels). Group {@code g} holds rows {@code [g G, g G + G)}: the first block of each of
     * its rows, then the second block of each, and so on; the scales the same way (see
     * {@link #valueIndex(long, long, int, long, long)}).
     *
     * <p>Why: one row at a time, a Q8 row loads an activation vector for each weight vector; four rows per pass
     * share it, and from L2 two Zen 5 cores then read 53 against 41 GB/s (a matrix of 384 x 2304). But four
     * separate row streams were no faster from memory (27.6 against 29.0 GB/s, 200000 x 2304); interleaved, the
     * four rows are one stream again: 33-35 against 22-29 GB/s in the same JVMs (medians of alternating rounds).
     * Panelled matrices stay plain: a group of four rows through three panels of 3072 (Gemma 2's down
     * projection) read 15-16 against 26-36 GB/s for one row at a time through each panel, and the panel-major
     * order needs each row's accumulators kept in memory between panels, which for groups measured slower too
     * (19.8 against 27.9).
     */
    public static int rowGroup(long rows, long k, long panel) {
        return rowGroups && rows > 0 && rows % GROUP == 0 && panel == k && k % BLOCK == 0 ? GROUP : 1;
    }

    /**
     * Whether {@link #rowGroup} interleaves rows at all: {@code -Dpaligemma.q8RowGroups=false} stores every Q8
     * matrix plain, read one row at a time, for a machine where that streams faster (on the Zen 4 guest of
     * earlier measurements four interleaved rows read 18.5-19.3 against 24.6-25.1 GB/s in a harness; see
     * docs/performance.md). The Q8 cache records the setting and is rewritten when it changes. Mutable for tests.
     */
    static volatile boolean rowGroups = !"false".equalsIgnoreCase(System.getProperty("paligemma.q8RowGroups"));

    /** The group size {@link #rowGroup} gives a matrix that allows one, under the current setting. */
    static int groupSetting() {
        return rowGroups ? GROUP : 1;
    }

    /**
     * Index of element {@code (row, col)} among the values of a matrix (BF16 of a {@link Checkpoint#panelled}
     * view, or Q8 with a {@link #rowGroup} of 1) of {@code rows} rows stored in column panels of {@code panel}
     * (see {@link Tensor#panelLength}; row-major when {@code panel} is the row length).
     */
    public static long valueIndex(long rows, long panel, long row, long col) {
        return valueIndex(rows, panel, 1, row, col);
    }

    /**
     * Index of element {@code (row, col)} among the values of a matrix of {@code rows} rows stored in column
     * panels of {@code panel} with rows interleaved in groups of {@code group} ({@link #rowGroup}): panel
     * {@code s} holds its columns of every row, group after group; a group holds its rows' first blocks of
     * {@link #BLOCK} (row after row), then their second blocks, and so on. With a group of 1 that is plain
     * panels; a group above 1 needs a panel of whole blocks.
     */
    public static long valueIndex(long rows, long panel, int group, long row, long col) {
        long s = col / panel;
        long c = col - s * panel;
        long g = row / group;
        long b = c / BLOCK;
        return s * rows * panel + g * group * panel + b * group * BLOCK + (row - g * group) * BLOCK + (c - b * BLOCK);
    }

    /** Index of the scale of element {@code (row, col)} among the scales, laid out as {@link #valueIndex}. */
    public static long scaleIndex(long rows, long panel, int group, long row, long col) {
        long s = col / panel;
        long nbc = blocks(panel);
        long g = row / group;
        return s * rows * nbc + g * group * nbc + (col - s * panel) / BLOCK * group + (row - g * group);
    }

    /** Receives the quantised pieces of a matrix in storage order from {@link #quantizeInOrder}. */
    @FunctionalInterface
    interface PieceSink<E extends Exception> {
        /**
         * One panel's piece of one row, or of one {@link #rowGroup} interleaved: its values and float16 scales
         * (arrays reused between calls).
         */
        void accept(byte[] q, short[] scales) throws E;
    }

    /**
     * Quantises a float matrix in the order its bytes are stored: panel by panel ({@link #panelLength}), row by
     * row, or group by group when rows are interleaved ({@link #rowGroup}). A block never straddles two panels,
     * so a panel's piece of a row quantises as it would in the whole row. The one definition of that order, for
     * {@link #quantize} and the Q8 cache.
     */
    static <E extends Exception> void quantizeInOrder(Tensor t, PieceSink<E> sink) throws E {
        long m = t.dim(0);
        int k = Math.toIntExact(t.dim(1));
        int kc = (int) panelLength(k);
        int group = rowGroup(m, k, kc);
        int nbc = (int) blocks(kc);
        float[] row = new float[kc];
        byte[] q = new byte[kc];
        short[] s = new short[nbc];
        byte[] gq = new byte[group * kc];
        short[] gs = new short[group * nbc];
        for (int p0 = 0; p0 < k; p0 += kc) {
            for (long r0 = 0; r0 < m; r0 += group) {
                for (int r = 0; r < group; r++) {
                    t.toFloats((r0 + r) * k + p0, row, 0, kc);
                    quantizeRow(t, row, q, s);
                    if (group == 1) {
                        // plain rows go as they are (their last block may be short)
                        sink.accept(q, s);
                    } else {
                        for (int b = 0; b < nbc; b++) {
                            System.arraycopy(q, b * BLOCK, gq, (b * group + r) * BLOCK, BLOCK);
                            gs[b * group + r] = s[b];
                        }
                    }
                }
                if (group > 1) {
                    sink.accept(gq, gs);
                }
            }
        }
    }

    /** Whether the kernels may use a quantised copy of this tensor: a rank-2 float matrix. */
    public static boolean quantizable(Tensor t) {
        return t.rank() == 2 && t.dtype() != DType.Q8 && t.dtype().isFloatWeight() && t.dim(1) > 0;
    }

    /**
     * A Q8 tensor over existing bytes ({@code values}: {@code product(shape)} signed bytes; {@code scales}:
     * {@code dim0 x blocks(rowLength)} little-endian float16), in the order {@link #quantize} stores them: rows
     * interleaved in groups of four when {@link #rowGroup} says so (rows a multiple of four, row length a
     * multiple of {@link #BLOCK}), else row-major; see {@link #valueIndex(long, long, int, long, long)}.
     *
     * @throws CheckpointException if a segment has the wrong size
     */
    public static Tensor of(String name, long[] shape, MemorySegment values, MemorySegment scales, String source) {
        long rows = shape.length < 1 ? 0 : shape[0];
        return of(name, shape, rows == 0 ? 0 : Tensor.elementCount(shape) / rows, values, scales, source);
    }

    /**
     * Throws an {@link InvalidArgumentException} starting with {@code what} unless {@code panelLength} is the row
     * length {@code k} or a multiple of {@link #BLOCK} dividing it: the panels {@link Tensor#panelLength} allows.
     */
    static void requirePanelLength(String what, long k, long panelLength) {
        if (panelLength != k && (panelLength <= 0 || panelLength % BLOCK != 0 || k % panelLength != 0)) {
            throw new InvalidArgumentException(what + ": panel length " + panelLength
                    + " is neither the row length nor a multiple of " + BLOCK + " dividing it");
        }
    }

    /**
     * A Q8 tensor over existing bytes stored in column panels of {@code panelLength} elements (see
     * {@link Tensor#panelLength}); the row length itself means no panels, as {@link #of(String, long[],
     * MemorySegment, MemorySegment, String)}.
     *
     * @throws CheckpointException if a segment has the wrong size
     * @throws InvalidArgumentException if the panel length neither equals the row length nor is a multiple of
     *                                  {@link #BLOCK} dividing it
     */
    public static Tensor of(String name, long[] shape, long panelLength, MemorySegment values, MemorySegment scales, String source) {
        if (shape.length < 1) {
            throw new InvalidArgumentException(source + ": Q8 tensor '" + name + "' must have rank >= 1");
        }
        long count = Tensor.elementCount(shape);
        long rows = shape[0];
        long k = rows == 0 ? 0 : count / rows;
        requirePanelLength(source + ": Q8 tensor '" + name + "' " + Arrays.toString(shape), k, panelLength);
        long expected = Math.multiplyExact(Math.multiplyExact(rows, blocks(k)), 2);
        if (scales.byteSize() != expected) {
            throw new CheckpointException(source + ": Q8 tensor '" + name + "' " + Arrays.toString(shape) + " has "
                    + scales.byteSize() + " bytes of scales, expected " + expected);
        }
        return new Tensor(name, DType.Q8, shape, values, scales, panelLength, source);
    }

    /** Quantises a float matrix into native memory of {@code arena}, in the panels of {@link #panelLength}. */
    public static Tensor quantize(Tensor t, Arena arena) {
        if (!quantizable(t)) {
            throw new InvalidArgumentException(t.source() + ": tensor '" + t.name() + "' " + t.dtype()
                    + Arrays.toString(t.shape()) + " is not a float matrix; only those are quantised");
        }
        long m = t.dim(0);
        int k = Math.toIntExact(t.dim(1));
        MemorySegment values = arena.allocate(m * k, 64);
        MemorySegment scales = arena.allocate(m * blocks(k) * 2L, 64);
        long[] at = {0, 0};
        quantizeInOrder(t, (q, s) -> {
            MemorySegment.copy(q, 0, values, ValueLayout.JAVA_BYTE, at[0], q.length);
            MemorySegment.copy(s, 0, scales, I16, at[1], s.length);
            at[0] += q.length;
            at[1] += 2L * s.length;
        });
        return of(t.name(), t.shape(), panelLength(k), values, scales, t.source() + " (Q8)");
    }

    /**
     * Quantises one row: {@code q[0..row.length)} and {@code scales[0..blocks(row.length))} (float16 bits).
     *
     * @throws CheckpointException naming {@code t} if the row holds a NaN or infinity, or a block is too
     *                             large for a float16 scale
     */
    static void quantizeRow(Tensor t, float[] row, byte[] q, short[] scales) {
        int k = row.length;
        for (int b = 0, p0 = 0; p0 < k; b++, p0 += BLOCK) {
            int p1 = Math.min(k, p0 + BLOCK);
            float amax = 0;
            for (int p = p0; p < p1; p++) {
                float a = Math.abs(row[p]);
                if (!(a <= Float.MAX_VALUE)) {
                    throw new CheckpointException(t.source() + ": tensor '" + t.name() + "' holds " + row[p]
                            + "; it cannot be quantised to Q8");
                }
                amax = Math.max(amax, a);
            }
            short h = scaleBits(amax);
            if (Float.isInfinite(Float.float16ToFloat(h))) {
                throw new CheckpointException(t.source() + ": tensor '" + t.name() + "' has a block with max |w| = " + amax
                        + ", beyond a float16 Q8 scale");
            }
            scales[b] = h;
            float s = Float.float16ToFloat(h);
            for (int p = p0; p < p1; p++) {
                q[p] = s == 0 ? 0 : (byte) Math.rint(row[p] / s);
            }
        }
    }

    /** The float16 scale of a block whose largest magnitude is {@code amax}, with {@code 127 s >= amax}. */
    static short scaleBits(float amax) {
        if (amax == 0) {
            return 0;
        }
        short h = Float.floatToFloat16(amax / 127f);
        // raise by one step if rounding (or a subnormal result) left 127 s below amax, so no value clips
        while (Float.float16ToFloat(h) * 127f < amax && !Float.isInfinite(Float.float16ToFloat(h))) {
            h++;
        }
        return h;
    }
}
