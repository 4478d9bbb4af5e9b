package dev.paligemma.core.ops;

import static dev.paligemma.core.ops.Simd.B;
import static dev.paligemma.core.ops.Simd.F;
import static dev.paligemma.core.ops.Simd.I;
import static dev.paligemma.core.ops.Simd.L;
import static dev.paligemma.core.ops.Simd.LE;
import static dev.paligemma.core.ops.Simd.S;
import static dev.paligemma.core.ops.Simd.SF;

import dev.paligemma.core.DType;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Q8;
import dev.paligemma.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Matrix products. Weights are checkpoint tensors in their row-major {@code [m, k]} layout (F32, BF16 or
 * F16, read straight from the tensor's memory segment and converted to float32 in registers); activations
 * are float32 arrays.
 *
 * <p>{@link #matmul} (prefill, vision encoder) is {@link PackedGemm}'s on the vector path: weight rows decoded
 * once per task into floats, outer-product micro-tiles over transposed activations. Attention's products over
 * float arrays ({@link #matmulTransposed}) compute 4x4 output tiles as 16 vector dot products
 * ({@link #blockArray}). {@link #matvec} (decoding) is bandwidth-bound: each thread streams a contiguous row
 * block, one row at a time or several rows per pass ({@link #severalRowsPerPass}, {@link #bf16EightRows}),
 * whichever the machine streams faster; Q8 matrices quantised here are stored so that four rows come from one
 * stream ({@link Q8#rowGroup}, {@link #rowsQ8Groups}).
 *
 * <p>The kernels write each weight load and its widening out in place, from the Vector API's own methods,
 * instead of calling a small helper: C2 inlines those unconditionally, but may refuse a helper at one call site
 * of a big unrolled loop, and then its vector result is boxed and every live register spilled around the call,
 * every iteration. That happened to one of the eight Q8 loads of {@link #rowsQ8Wide} in some JVMs and not in
 * others (seen in the disassembly), and a paligemma2-3b-224 Q8 decode step took 102 to 200 ms from one run of the
 * same jar to the next.
 */
public final class Matmul {
    /** Weight rows per parallel task in {@link #matmul}'s scalar path. */
    static final int MB = 64;
    /**
     * Weight bytes per row in one k slice of {@link #blockArray}: 64 rows of it (576 KB) stay in a 1 MB L2
     * while all activation rows stream past (figures from when the weight products used these tiles too). A
     * slice's tiles end in an epilogue (16 lane sums, scalar tail, stores), so fewer, longer slices pay it less
     * often: Gemma 2's k = 2304 was a 2048 slice plus a 256 one.
     * As one slice, 266 x 2304 x 18432 BF16 went 137 -> 154 GFLOP/s and SigLIP's 256 x 4304 x 1152 132 -> 152
     * (medians of 12 alternating runs). Four activation rows then outgrow L1, which measured no slower.
     */
    static final int SLICE_BYTES = 9216;
    /** Multiply-adds below which attention products run on the calling thread. */
    static final long PARALLEL_FLOPS = 1L << 20;
    /**
     * Longest row {@link #matvec} reads one row at a time. A single row is one sequential stream, which the
     * hardware prefetcher follows best; but once the activation vector outgrows L1 (Gemma 2's down projection,
     * k = 9216: 36 KB) every weight line also pulls an activation line from L2, and four rows sharing each
     * activation load are faster (31 against 19-22 GB/s on two Zen 4 cores). Both give the same bits: every
     * row keeps its own accumulator. The several-row loops are separate methods: as a rarely taken branch of the
     * single-row method C2 compiled the four-row loop 5x slower. Q8 matrices quantised here avoid the choice:
     * long rows are stored in column panels ({@link Q8#panelLength}), each read one row at a time
     * ({@link #rowsQ8Panels}), and shorter ones in interleaved groups of four rows ({@link #rowsQ8Groups}); the
     * several-row loops remain for BF16 weights and Q8 matrices stored plain by others.
     */
    static final int SINGLE_ROW_MAX_K = 4096;

    /**
     * Whether {@link #rowsOf} takes rows of length k several per pass (four Q8 rows, eight BF16 ones): longer
     * than {@link #SINGLE_ROW_MAX_K} and made of whole vector pairs (every real shape). The several-row kernels
     * have no tails: with them they were big enough that C2 ran out of inlining budget (see
     * {@link #rowsQ8Wide}); other lengths go one row at a time, with the same bits.
     */
    static boolean severalRowsPerPass(int k) {
        return k > SINGLE_ROW_MAX_K && k % (2 * L) == 0;
    }
    /**
     * Whether {@link #rowsOf} takes every BF16 matrix made of whole vector pairs eight rows per pass
     * ({@link #rowsBf16Wide}), not only those of {@link #severalRowsPerPass}: the same bits, a different memory
     * access pattern, and which one streams faster depends on the machine. Two threads over paligemma2's 78 gate,
     * up and q projections (k = 2304, the mapped file): on a 2-core Intel Xeon guest four rows per pass read
     * 21.5-23.3 GB/s against 18.0-19.2 one row at a time (one thread 11.6-12.2 against 9.7-10.1; a plain
     * streaming sum over the same weights 23.5-24.2), and eight rows beat four (see {@link #rowsBf16Wide}); on
     * the Zen 4 guest the docs describe, four interleaved rows read 14 against 27 GB/s per core. So: on when the
     * CPU is Intel's ({@code /proc/cpuinfo}), or as {@code -Dpaligemma.bf16EightRows=true|false} says. Plain
     * Q8 rows stay one at a time: four separate Q8 rows per pass read 10.2-11.9 against 12.4-16.8 GB/s on the
     * same Xeon (Q8 rows interleaved four to a stream are another matter: {@link Q8#rowGroup}). Mutable for
     * tests, read once per call.
     */
    static volatile boolean bf16EightRows = bf16EightRowsDefault();

    private static boolean bf16EightRowsDefault() {
        String set = System.getProperty("paligemma.bf16EightRows");
        if (set != null) {
            return Boolean.parseBoolean(set);
        }
        // the first vendor line only: on a many-core machine the whole file is hundreds of KB, read at class load
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("vendor_id")).findFirst().map(l -> l.contains("GenuineIntel")).orElse(false);
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    /** Weight bytes per matvec chunk, so a small product does not pay for waking workers. */
    static final long MATVEC_CHUNK_BYTES = 1L << 16;

    static final ValueLayout.OfFloat LE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE_I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Matmul() {
    }

    /**
     * {@code out[i, j] = sum_p x[i, p] * w[j, p]} for activations {@code x [n, k]} and weight
     * {@code w [m, k]} (any rank: dim 0 is m, the rest flatten to k). {@code out} is {@code [n, m]}.
     */
    public static void matmul(float[] x, int n, int k, Tensor w, float[] out) {
        int m = rows(w, k);
        if (n < 0 || (long) n * k > x.length) {
            throw new InvalidArgumentException("matmul: x has " + x.length + " floats, need n*k = " + n + "*" + k);
        }
        if ((long) n * m > out.length) {
            throw new InvalidArgumentException("matmul: out has " + out.length + " floats, need n*m = " + n + "*" + m + " for " + w.name());
        }
        if (n == 0 || m == 0) {
            return;
        }
        if (n == 1) {
            matvec(x, 0, w, out, 0);
            return;
        }
        MemorySegment seg = w.segment();
        DType dt = w.dtype();
        int panel = (int) w.panelLength();
        long ldw = (long) panel * dt.byteSize();
        boolean vector = Simd.vector();
        if (vector && (dt != DType.Q8 || Simd.Q8_VECTOR)) {
            PackedGemm.matmul(x, n, k, new Tensor[] {w}, new int[] {m}, null, new float[][] {out});
            return;
        }
        int blocks = (m + MB - 1) / MB;
        Parallel.forEach(blocks, b -> {
            int j0 = b * MB;
            int j1 = Math.min(m, j0 + MB);
            if (dt == DType.Q8) {
                scalarQ8(x, 0, k, n, k, panel, w.rowGroup(), m, seg, w.scales(), j0, j1, out, 0, m);
            } else {
                scalarBlock(x, 0, k, n, k, seg, dt, 0, ldw, panel, m, j0, j1, out, 0, m);
            }
        });
    }

    /**
     * {@code outs[w] = x w^T} for each weight {@code ws[w]} ({@code [m_w, k]}) against the same activations
     * {@code x [n, k]}: the products of {@link #matmul}, each with its bits, computed together (the activations
     * are prepared once and all the matrices' rows share one parallel loop).
     */
    public static void matmul(float[] x, int n, int k, Tensor[] ws, float[][] outs) {
        matmul(x, n, k, ws, null, outs);
    }

    /**
     * {@link #matmul(float[], int, int, Tensor[], float[][])} plus a bias row per weight:
     * {@code outs[w][i, j] = (x ws[w]^T)[i, j] + biases[w][j]}, the bits of the product followed by one float
     * add. On the packed path the add is done as the output is stored, so a linear layer makes no second pass
     * over its output (in SigLIP at 448 px that pass was 2 % of the encoder). {@code biases}, or any of its
     * entries, may be null: no bias.
     */
    public static void matmul(float[] x, int n, int k, Tensor[] ws, float[][] biases, float[][] outs) {
        if (ws.length != outs.length || (biases != null && biases.length != ws.length)) {
            throw new InvalidArgumentException("matmul: " + ws.length + " weights for " + outs.length + " outputs and "
                    + (biases == null ? "no" : Integer.toString(biases.length)) + " biases");
        }
        int[] ms = new int[ws.length];
        boolean packed = n > 1 && Simd.vector();
        for (int w = 0; w < ws.length; w++) {
            ms[w] = rows(ws[w], k);
            if ((long) ms[w] * n > outs[w].length) {
                throw new InvalidArgumentException("matmul: out " + w + " has " + outs[w].length + " floats, need n*m = "
                        + n + "*" + ms[w] + " for " + ws[w].name());
            }
            packed &= ms[w] > 0 && (ws[w].dtype() != DType.Q8 || Simd.Q8_VECTOR);
            if (biases != null && biases[w] != null && biases[w].length < ms[w]) {
                throw new InvalidArgumentException("matmul: bias " + w + " has " + biases[w].length + " floats, need "
                        + ms[w] + " for " + ws[w].name());
            }
        }
        if (n < 0 || (long) n * k > x.length) {
            throw new InvalidArgumentException("matmul: x has " + x.length + " floats, need n*k = " + n + "*" + k);
        }
        if (!packed) {
            for (int w = 0; w < ws.length; w++) {
                matmul(x, n, k, ws[w], outs[w]);
                if (biases != null && biases[w] != null) {
                    addRows(outs[w], n, ms[w], biases[w]);
                }
            }
            return;
        }
        PackedGemm.matmul(x, n, k, ws, ms, biases, outs);
    }

    /** {@code out[i, :] += bias} for each of n rows of m. */
    private static void addRows(float[] out, int n, int m, float[] bias) {
        Parallel.forRange(n, Math.max(1, (1 << 14) / Math.max(1, m)), (from, to) -> {
            for (int i = from; i < to; i++) {
                Activations.add(out, i * m, bias, 0, m);
            }
        });
    }

    /**
     * {@code k} rounded up to whole float vectors of this machine ({@code k} itself on the scalar path): a
     * row length at which {@link #matmulTransposed} and {@link #matmulPlain} need no scalar tail.
     */
    public static int vectorPadded(int k) {
        return Simd.vector() ? (k + L - 1) / L * L : k;
    }

    /** Matrix-vector product for decoding: {@code out[j] = sum_p w[j, p] * x[xOffset + p]}, j in {@code [0, m)}. */
    public static void matvec(float[] x, int xOffset, Tensor w, float[] out, int outOffset) {
        if (w.rank() == 0 || w.dim(0) == 0) {
            return;
        }
        long kl = w.size() / w.dim(0);
        if (kl > Integer.MAX_VALUE) {
            throw new InvalidArgumentException("matvec: " + w.name() + " rows too long: " + kl);
        }
        int k = (int) kl;
        int m = rows(w, k);
        if (xOffset < 0 || (long) xOffset + k > x.length) {
            throw new InvalidArgumentException("matvec: x has " + x.length + " floats, need " + k + " at offset " + xOffset + " for " + w.name());
        }
        if (outOffset < 0 || (long) outOffset + m > out.length) {
            throw new InvalidArgumentException("matvec: out has " + out.length + " floats, need " + m + " at offset " + outOffset + " for " + w.name());
        }
        long ldw = (long) k * w.dtype().byteSize();
        int grain = (int) Math.max(4, MATVEC_CHUNK_BYTES / Math.max(1, ldw));
        boolean vector = Simd.vector();
        Parallel.forRange(m, grain, (r0, r1) -> rowsOf(x, xOffset, k, w, r0, r1, out, outOffset, vector));
    }

    /**
     * Output rows {@code [r0, r1)} of {@code w * x} for any weight type: the kernel behind {@link #matvec} and
     * {@link MatvecPlan}. Q8 rows interleaved in groups go four per pass ({@link #rowsQ8Groups}), Q8 rows in
     * column panels one at a time through each panel; other long rows
     * ({@link #severalRowsPerPass}) several per pass, as do BF16 rows with {@link #bf16EightRows}; the rest one
     * at a time.
     */
    static void rowsOf(float[] x, int xOff, int k, Tensor w, int r0, int r1, float[] out, int outOff, boolean vector) {
        MemorySegment seg = w.segment();
        DType dt = w.dtype();
        int panel = (int) w.panelLength();
        long ldw = (long) panel * dt.byteSize();
        boolean wide = severalRowsPerPass(k);
        if (dt == DType.Q8) {
            MemorySegment sc = w.scales();
            long lds = 2 * Q8.blocks(k);
            if (!vector || !Simd.Q8_VECTOR) {
                scalarQ8(x, xOff, k, 1, k, panel, w.rowGroup(), w.dim(0), seg, sc, r0, r1, out, outOff, 0);
            } else if (w.rowGroup() == Q8.GROUP) {
                rowsQ8Groups(x, xOff, k, w.dim(0), seg, sc, r0, r1, out, outOff);
            } else if (panel < k) {
                rowsQ8Panels(x, xOff, k, panel, w.dim(0), seg, sc, r0, r1, out, outOff);
            } else if (wide) {
                rowsQ8Wide(x, xOff, k, seg, ldw, sc, lds, r0, r1, out, outOff);
            } else {
                rowsQ8(x, xOff, k, seg, ldw, sc, lds, r0, r1, out, outOff);
            }
            return;
        }
        if (!vector) {
            scalarBlock(x, xOff, k, 1, k, seg, dt, 0, ldw, panel, w.dim(0), r0, r1, out, outOff, 0);
            return;
        }
        switch (dt) {
            case F32 -> rowsF32(x, xOff, k, seg, 0, ldw, r0, r1, out, outOff);
            case BF16 -> {
                // panels are whole vector pairs; row-major rows eight per pass must be too
                boolean eight = panel < k ? bf16EightRows : wide || (bf16EightRows && k % (2 * L) == 0);
                if (eight) {
                    int r8 = r0 + (r1 - r0) / 8 * 8;
                    rowsBf16Wide(pairedX(x, xOff, k), k, panel, w.dim(0), seg, r0, r8, out, outOff,
                            PANEL_SUMS.get(2 * L * (panel < k ? Math.max(8, r8 - r0) : 8)), LANES.get());
                    if (r8 < r1) {
                        rowsBf16Panels(x, xOff, k, panel, w.dim(0), seg, r8, r1, out, outOff);
                    }
                } else if (panel < k) {
                    rowsBf16Panels(x, xOff, k, panel, w.dim(0), seg, r0, r1, out, outOff);
                } else {
                    rowsBf16(x, xOff, k, seg, 0, ldw, r0, r1, out, outOff);
                }
            }
            default -> rowsF16Decoded(x, xOff, k, seg, 0, ldw, r0, r1, out, outOff);
        }
    }

    /**
     * Float32 product with a transposed right operand, for attention scores:
     * {@code c[cOff + i*ldc + j] = sum_p a[aOff + i*lda + p] * b[bOff + j*ldb + p]}, i in [0,n), j in [0,m), p in [0,k).
     */
    public static void matmulTransposed(float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                        float[] c, int cOff, int ldc, int n, int m, int k) {
        if (n <= 0 || m <= 0) {
            return;
        }
        MemorySegment seg = MemorySegment.ofArray(b);
        long base = 4L * bOff;
        long ldw = 4L * ldb;
        boolean vector = Simd.vector();
        Parallel.RangeBody body = (j0, j1) -> {
            if (vector) {
                blockArray(a, aOff, lda, n, k, b, bOff, ldb, j0, j1, c, cOff, ldc);
            } else {
                scalarBlock(a, aOff, lda, n, k, seg, DType.F32, base, ldw, k, m, j0, j1, c, cOff, ldc);
            }
        };
        if ((long) n * m * k < PARALLEL_FLOPS) {
            body.run(0, m);
        } else {
            Parallel.forRange(m, 16, body);
        }
    }

    /**
     * {@code t[tOff + c*ldt + r] = a[aOff + r*lda + c]} for r in [0,rows), c in [0,cols): a block of rows
     * transposed, so that a product against it can run as {@link #matmulPlain} (the attention scores against
     * one head's keys).
     */
    public static void transpose(float[] a, int aOff, int lda, int rows, int cols, float[] t, int tOff, int ldt) {
        for (int r = 0; r < rows; r++) {
            int row = aOff + r * lda;
            for (int c = 0; c < cols; c++) {
                t[tOff + c * ldt + r] = a[row + c];
            }
        }
    }

    /**
     * Plain float32 product, for attention-weighted values and scores:
     * {@code c[cOff + i*ldc + j] = sum_p a[aOff + i*lda + p] * b[bOff + p*ldb + j]}, i in [0,n), j in [0,m), p in [0,k).
     */
    public static void matmulPlain(float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                   float[] c, int cOff, int ldc, int n, int m, int k) {
        if (n <= 0 || m <= 0) {
            return;
        }
        boolean vector = Simd.vector();
        Parallel.RangeBody body = (i0, i1) -> {
            if (vector) {
                PlainKernel.rows(a, aOff, lda, b, bOff, ldb, c, cOff, ldc, i0, i1, m, k);
            } else {
                PlainKernel.scalarRows(a, aOff, lda, b, bOff, ldb, c, cOff, ldc, i0, i1, m, k);
            }
        };
        if ((long) n * m * k < PARALLEL_FLOPS) {
            body.run(0, n);
        } else {
            Parallel.forRange(n, 4, body);
        }
    }

    private static int rows(Tensor w, int k) {
        if (!w.dtype().isFloatWeight()) {
            throw new InvalidArgumentException("matmul: weight " + w.name() + " is " + w.dtype() + ", expected F32, BF16, F16 or Q8");
        }
        if (w.rank() == 0) {
            throw new InvalidArgumentException("matmul: weight " + w.name() + " is a scalar");
        }
        long m = w.dim(0);
        if (m > Integer.MAX_VALUE || (m > 0 && w.size() / m != k) || (m == 0 && w.size() != 0)) {
            throw new InvalidArgumentException("matmul: weight " + w + " does not have rows of k = " + k);
        }
        return (int) m;
    }

    /**
     * Slices are whole vectors and whole Q8 blocks (kept from when weight products used {@link #blockArray}'s
     * tiles and dequantised Q8 slices from a block start).
     */
    static final int SLICE_UNIT = Q8.BLOCK % L == 0 ? Q8.BLOCK : L * Q8.BLOCK;

    /**
     * Length of {@link #blockArray}'s k slices for weights of {@code bytesPerWeight} bytes: at most
     * {@link #SLICE_BYTES} per row, all slices equally long but the last (a multiple of {@link #SLICE_UNIT}).
     */
    static int sliceLength(int k, int bytesPerWeight) {
        int unit = SLICE_UNIT;
        int max = SLICE_BYTES / bytesPerWeight / unit * unit;
        if (k <= max) {
            return k;
        }
        int slices = (k + max - 1) / max;
        int len = (k + slices - 1) / slices;
        return (len + unit - 1) / unit * unit;
    }

    /**
     * Rows {@code [j0, j1)} of an F32 product over float arrays (attention's operands, {@code b} is {@code [m, k]}
     * rows of stride {@code ldb}): 4x4 tiles of vector dot products over k slices of {@link #sliceLength}.
     */
    static void blockArray(float[] x, int xOff, int ldx, int n, int k, float[] b, int bOff, int ldb,
                           int j0, int j1, float[] c, int cOff, int ldc) {
        if (k == 0) {
            for (int i = 0; i < n; i++) {
                java.util.Arrays.fill(c, cOff + i * ldc + j0, cOff + i * ldc + j1, 0f);
            }
            return;
        }
        float[] lanes = LANES.get();
        int kc = sliceLength(k, 4);
        for (int p0 = 0; p0 < k; p0 += kc) {
            int p1 = Math.min(k, p0 + kc);
            int pv = p0 + (p1 - p0) / L * L;
            boolean acc = p0 > 0;
            for (int i = 0; i < n; i += 4) {
                for (int j = j0; j < j1; j += 4) {
                    tileArray(x, xOff, ldx, i, n, b, bOff, ldb, j, j1, p0, p1, lanes);
                    finishArray(x, xOff, ldx, i, n, b, bOff, ldb, j, j1, pv, p1, c, cOff, ldc, acc, lanes);
                }
            }
        }
    }

    /** A tile's 16 accumulators as stored lanes, then their 16 sums ({@link Simd#sums16}). */
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[16 * L + 16]);

    /** {@link #rowsF16Decoded}'s per-thread buffer of decoded rows. */
    private static final ThreadBuffer SCRATCH = new ThreadBuffer();

    /** Matvec rows for F16 weights: each row decoded into a per-thread buffer, then a float32 dot product. */
    static void rowsF16Decoded(float[] x, int xOff, int k, MemorySegment w, long wBase, long ldw, int r0, int r1, float[] out, int outOff) {
        int chunk = Math.min(k, 4096);
        float[] buf = SCRATCH.get(chunk);
        for (int j = r0; j < r1; j++) {
            long wo = wBase + j * ldw;
            float s = 0;
            for (int p0 = 0; p0 < k; p0 += chunk) {
                int len = Math.min(chunk, k - p0);
                Simd.decodeF16(w, wo + 2L * p0, buf, 0, len);
                FloatVector a = FloatVector.zero(F);
                int q = 0;
                for (; q + L <= len; q += L) {
                    a = FloatVector.fromArray(F, buf, q).fma(FloatVector.fromArray(F, x, xOff + p0 + q), a);
                }
                s += Simd.sum(a);
                for (; q < len; q++) {
                    s += buf[q] * x[xOff + p0 + q];
                }
            }
            out[outOff + j] = s;
        }
    }

    /** The scalar reference path ({@code -Dpaligemma.scalar=true}): one weight row decoded at a time. */
    static void scalarBlock(float[] x, int xOff, int ldx, int n, int k, MemorySegment w, DType dt, long wBase, long ldw,
                            int panel, long m, int j0, int j1, float[] c, int cOff, int ldc) {
        int es = dt.byteSize();
        for (int j = j0; j < j1; j++) {
            for (int i = 0; i < n; i++) {
                int xo = xOff + i * ldx;
                float s = 0;
                for (int p0 = 0; p0 < k; p0 += panel) {
                    long wo = panelBase(wBase, ldw, m, p0, panel, es) + j * ldw;
                    for (int p = p0, p1 = Math.min(k, p0 + panel); p < p1; p++) {
                        long o = wo + (long) p * es;
                        float b = switch (dt) {
                            case F32 -> getF32(w, o);
                            case BF16 -> getBf16(w, o);
                            default -> getF16(w, o);
                        };
                        s += x[xo + p] * b;
                    }
                }
                c[cOff + i * ldc + j] = s;
            }
        }
    }

    /**
     * Where row 0's piece of the panel starting at column {@code s0} lies, less {@code s0} elements: for m rows
     * {@code ldw} bytes apart in column panels of {@code panel} ({@link Tensor#panelLength}), row j's element p of
     * that panel is at {@code panelBase + j ldw + p es}. Just {@code wBase} for a row-major matrix (s0 = 0).
     */
    static long panelBase(long wBase, long ldw, long m, int s0, int panel, int es) {
        return s0 == 0 ? wBase : wBase + s0 / panel * m * ldw - (long) s0 * es;
    }

    static float getF32(MemorySegment w, long off) {
        return w.get(LE_F32, off);
    }

    static float getBf16(MemorySegment w, long off) {
        return Float.intBitsToFloat(w.get(LE_I16, off) << 16);
    }

    static float getF16(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(LE_I16, off));
    }

    private static void put(float[] c, int at, int nj, boolean accumulate, float s0, float s1, float s2, float s3) {
        if (accumulate) {
            c[at] += s0;
            if (nj > 1) {
                c[at + 1] += s1;
            }
            if (nj > 2) {
                c[at + 2] += s2;
            }
            if (nj > 3) {
                c[at + 3] += s3;
            }
        } else {
            c[at] = s0;
            if (nj > 1) {
                c[at + 1] = s1;
            }
            if (nj > 2) {
                c[at + 2] = s2;
            }
            if (nj > 3) {
                c[at + 3] = s3;
            }
        }
    }

    /**
     * A 4x4 register tile over {@code [p0, p1)} of float arrays (attention operands): 16 vector dot products,
     * their lanes stored to {@code t}. Heap data must not reach the kernels' {@code FloatVector.fromMemorySegment}: the JDK's segment-load code keeps
     * one type profile for every caller, and once it has seen heap, native and mapped segments C2 compiles the
     * weight loads as megamorphic calls (the F32 model ran at 10 % of the FMA peak, 23 vs 155 GFLOP/s).
     * Rows beyond the edge repeat the last row and are not stored. */
    static void tileArray(float[] x, int xOff, int ldx, int i, int n, float[] w, int wBase, int ldw,
                        int j, int j1, int p0, int p1, float[] t) {
        int ni = Math.min(4, n - i);
        int nj = Math.min(4, j1 - j);
        int x0 = xOff + i * ldx;
        int x1 = xOff + (i + Math.min(1, ni - 1)) * ldx;
        int x2 = xOff + (i + Math.min(2, ni - 1)) * ldx;
        int x3 = xOff + (i + Math.min(3, ni - 1)) * ldx;
        int w0 = wBase + j * ldw;
        int w1 = wBase + (j + Math.min(1, nj - 1)) * ldw;
        int w2 = wBase + (j + Math.min(2, nj - 1)) * ldw;
        int w3 = wBase + (j + Math.min(3, nj - 1)) * ldw;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int pv = p0 + (p1 - p0) / L * L;
        for (int p = p0; p < pv; p += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + p);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + p);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + p);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + p);
            int o = p;
            FloatVector b = FloatVector.fromArray(F, w, w0 + o);
            a00 = v0.fma(b, a00);
            a10 = v1.fma(b, a10);
            a20 = v2.fma(b, a20);
            a30 = v3.fma(b, a30);
            b = FloatVector.fromArray(F, w, w1 + o);
            a01 = v0.fma(b, a01);
            a11 = v1.fma(b, a11);
            a21 = v2.fma(b, a21);
            a31 = v3.fma(b, a31);
            b = FloatVector.fromArray(F, w, w2 + o);
            a02 = v0.fma(b, a02);
            a12 = v1.fma(b, a12);
            a22 = v2.fma(b, a22);
            a32 = v3.fma(b, a32);
            b = FloatVector.fromArray(F, w, w3 + o);
            a03 = v0.fma(b, a03);
            a13 = v1.fma(b, a13);
            a23 = v2.fma(b, a23);
            a33 = v3.fma(b, a33);
        }
        // lanes stored and summed in a separate step (Simd.sums16): 16 in-tile vector reductions make the tile too big for C2
        a00.intoArray(t, 0); a01.intoArray(t, L); a02.intoArray(t, 2 * L); a03.intoArray(t, 3 * L);
        a10.intoArray(t, 4 * L); a11.intoArray(t, 5 * L); a12.intoArray(t, 6 * L); a13.intoArray(t, 7 * L);
        a20.intoArray(t, 8 * L); a21.intoArray(t, 9 * L); a22.intoArray(t, 10 * L); a23.intoArray(t, 11 * L);
        a30.intoArray(t, 12 * L); a31.intoArray(t, 13 * L); a32.intoArray(t, 14 * L); a33.intoArray(t, 15 * L);
    }

    /** Sums a {@link #tileArray}'s stored lanes in fixed order, adds the scalar k tail and stores the 4x4 results. */
    static void finishArray(float[] x, int xOff, int ldx, int i, int n, float[] w, int wBase, int ldw,
                        int j, int j1, int pv, int p1, float[] c, int cOff, int ldc, boolean accumulate, float[] t) {
        int ni = Math.min(4, n - i);
        int nj = Math.min(4, j1 - j);
        int x0 = xOff + i * ldx;
        int x1 = xOff + (i + Math.min(1, ni - 1)) * ldx;
        int x2 = xOff + (i + Math.min(2, ni - 1)) * ldx;
        int x3 = xOff + (i + Math.min(3, ni - 1)) * ldx;
        int w0 = wBase + j * ldw;
        int w1 = wBase + (j + Math.min(1, nj - 1)) * ldw;
        int w2 = wBase + (j + Math.min(2, nj - 1)) * ldw;
        int w3 = wBase + (j + Math.min(3, nj - 1)) * ldw;
        Simd.sums16(t);
        int q = 16 * L;
        float s00 = t[q], s01 = t[q + 1], s02 = t[q + 2], s03 = t[q + 3];
        float s10 = t[q + 4], s11 = t[q + 5], s12 = t[q + 6], s13 = t[q + 7];
        float s20 = t[q + 8], s21 = t[q + 9], s22 = t[q + 10], s23 = t[q + 11];
        float s30 = t[q + 12], s31 = t[q + 13], s32 = t[q + 14], s33 = t[q + 15];
        for (int p = pv; p < p1; p++) {
            float v0 = x[x0 + p], v1 = x[x1 + p], v2 = x[x2 + p], v3 = x[x3 + p];
            int o = p;
            float b0 = w[w0 + o], b1 = w[w1 + o], b2 = w[w2 + o], b3 = w[w3 + o];
            s00 += v0 * b0; s01 += v0 * b1; s02 += v0 * b2; s03 += v0 * b3;
            s10 += v1 * b0; s11 += v1 * b1; s12 += v1 * b2; s13 += v1 * b3;
            s20 += v2 * b0; s21 += v2 * b1; s22 += v2 * b2; s23 += v2 * b3;
            s30 += v3 * b0; s31 += v3 * b1; s32 += v3 * b2; s33 += v3 * b3;
        }
        int r = cOff + i * ldc + j;
        put(c, r, nj, accumulate, s00, s01, s02, s03);
        if (ni > 1) {
            put(c, r + ldc, nj, accumulate, s10, s11, s12, s13);
        }
        if (ni > 2) {
            put(c, r + 2 * ldc, nj, accumulate, s20, s21, s22, s23);
        }
        if (ni > 3) {
            put(c, r + 3 * ldc, nj, accumulate, s30, s31, s32, s33);
        }
    }

    /**
     * Output rows {@code [r0, r1)} of a matrix-vector product with F32 weights, one row at a time. Every row
     * kernel here sums a row in two accumulators, vector chunks of even index in one and odd in the other
     * (one FMA chain per row was latency-bound), then their lane sum, then the scalar tail: the same order
     * for every weight type, so a Q8 row has the bits of the F32 row over its dequantised weights.
     */
    static void rowsF32(float[] x, int xOff, int k, MemorySegment w, long wBase, long ldw, int r0, int r1, float[] out, int outOff) {
        int pv = k / L * L;
        float[] lanes = LANES.get();
        for (int j = r0; j < r1; j++) {
            long w0 = wBase + j * ldw;
            FloatVector a0 = FloatVector.zero(F), b0 = a0;
            int p = 0;
            for (; p + 2 * L <= pv; p += 2 * L) {
                long o = w0 + (long) p * 4;
                a0 = FloatVector.fromMemorySegment(F, w, o, LE).fma(FloatVector.fromArray(F, x, xOff + p), a0);
                b0 = FloatVector.fromMemorySegment(F, w, o + 4L * L, LE).fma(FloatVector.fromArray(F, x, xOff + p + L), b0);
            }
            if (p < pv) {
                a0 = FloatVector.fromMemorySegment(F, w, w0 + (long) p * 4, LE).fma(FloatVector.fromArray(F, x, xOff + p), a0);
            }
            a0.add(b0).intoArray(lanes, 0);
            float s0 = Simd.sum(lanes, 0);
            for (p = pv; p < k; p++) {
                s0 += x[xOff + p] * getF32(w, w0 + (long) p * 4);
            }
            out[outOff + j] = s0;
        }
    }

    /**
     * Output rows {@code [r0, r1)} with Bf16 weights, one row at a time, the activations read from this thread's
     * permuted copy ({@link #pairedX}). Each 64-byte load holds 2L weights as L int lanes, an even-indexed
     * weight in the low half of each lane and the odd one after it in the high half: a shift left by 16 and a
     * mask clearing the low half make them floats, multiplied with the even and odd activations of the pair
     * block.
     * That is one load and two integer operations per 2L weights, against two half-width loads, two widenings
     * and two shifts converting them in order. A last lone vector of weights (k an odd number of vectors) is
     * widened in order against the unpermuted tail of the copy. Lane l of the first accumulator sums the
     * products at {@code 2l} of each pair block, of the second those at {@code 2l + 1}; every BF16 decode
     * kernel keeps that order, so they all give the same bits.
     */
    static void rowsBf16(float[] x, int xOff, int k, MemorySegment w, long wBase, long ldw, int r0, int r1, float[] out, int outOff) {
        int pv = k / L * L;
        float[] lanes = LANES.get();
        MemorySegment xs = pairedX(x, xOff, k);
        for (int j = r0; j < r1; j++) {
            long w0 = wBase + j * ldw;
            FloatVector a0 = FloatVector.zero(F), b0 = a0;
            int p = 0;
            for (; p + 2 * L <= pv; p += 2 * L) {
                IntVector v = ShortVector.fromMemorySegment(SF, w, w0 + (long) p * 2, LE).reinterpretAsInts();
                a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromMemorySegment(F, xs, 4L * p, LE), a0);
                b0 = v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretAsFloats().fma(FloatVector.fromMemorySegment(F, xs, 4L * p + 4 * L, LE), b0);
            }
            if (p < pv) {
                a0 = ((IntVector) ShortVector.fromMemorySegment(S, w, w0 + (long) p * 2, LE).castShape(I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromMemorySegment(F, xs, 4L * p, LE), a0);
            }
            a0.add(b0).intoArray(lanes, 0);
            float s0 = Simd.sum(lanes, 0);
            for (p = pv; p < k; p++) {
                s0 += x[xOff + p] * getBf16(w, w0 + (long) p * 2);
            }
            out[outOff + j] = s0;
        }
    }

    /**
     * Rows {@code [r0, r8)} of a BF16 matrix eight per pass, row-major ({@code panel = k}) or in column panels:
     * {@link #rowsBf16Panels} with each pair block's activation loads shared by eight rows, every row with its own
     * two accumulators carried from panel to panel, so the same bits as {@link #rowsBf16}. For the k of
     * {@link #severalRowsPerPass} and, with {@link #bf16EightRows}, every BF16 matrix of whole vector pairs.
     * {@code [r0, r8)} is a whole number of groups of eight ({@link #rowsOf} sends the rest to
     * {@link #rowsBf16Panels}); {@code xs} is the {@link #pairedX} copy of the activations; {@code sums} holds 2L
     * floats per row when the matrix has more than one panel, 16L otherwise; {@code lanes} at least L.
     *
     * <p>Written as small as the eight streams allow, for the reason given at {@link #rowsQ8Wide}, and with no
     * vector merged from two paths: each group's sixteen accumulators are loaded from {@code sums} (zeroed for
     * the first panel), stored back after the loop and finished by {@link #pairSums}, and the activation copy and
     * the thread-local buffers come from the caller. Before, the accumulators started as either zeros or the
     * stored sums, the last panel summed them in registers, and this method made its own copy and buffer lookups;
     * in about half the JVMs that ran decode steps alone (7 of 16 runs of a paligemma2 or paligemma BF16 harness,
     * no image encoded first) C2 compiled it with every FMA result boxed: 3.4-8.3 GB of garbage and 380-580 ms per
     * paligemma2 decode step instead of 230-245. In this form, 0 of 40 such runs did that, at the same speed
     * otherwise. Over paligemma2's embedding (1.2 GB, two
     * threads, alternating in one JVM on the Xeon guest) eight rows per pass read 25.6-27.0 GB/s, four 24.0-25.2
     * (24.3-24.9 with the permuted activations), sixteen with one accumulator each 22.4-24.9; a plain streaming
     * sum 27.6-30.7.
     */
    static void rowsBf16Wide(MemorySegment xs, int k, int panel, long m, MemorySegment w, int r0, int r8,
                             float[] out, int outOff, float[] sums, float[] lanes) {
        long ldw = 2L * panel;
        // a row's sums outlive its group only when there is a next panel; otherwise one group's worth is reused
        int perGroup = panel < k ? 16 * L : 0;
        for (int p0 = 0; p0 < k; p0 += panel) {
            boolean first = p0 == 0, last = p0 + panel >= k;
            long base = panelBase(0, ldw, m, p0, panel, 2);
            for (int j = r0; j < r8; j += 8) {
                // a base per row: with offsets q + r * ldw C2 kept a bounds check on every load but the first
                long w0 = base + j * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw, w4 = w3 + ldw, w5 = w4 + ldw,
                        w6 = w5 + ldw, w7 = w6 + ldw;
                int at = perGroup * ((j - r0) / 8);
                if (first) {
                    Arrays.fill(sums, at, at + 16 * L, 0f);
                }
                FloatVector a0 = FloatVector.fromArray(F, sums, at), b0 = FloatVector.fromArray(F, sums, at + L);
                FloatVector a1 = FloatVector.fromArray(F, sums, at + 2 * L), b1 = FloatVector.fromArray(F, sums, at + 3 * L);
                FloatVector a2 = FloatVector.fromArray(F, sums, at + 4 * L), b2 = FloatVector.fromArray(F, sums, at + 5 * L);
                FloatVector a3 = FloatVector.fromArray(F, sums, at + 6 * L), b3 = FloatVector.fromArray(F, sums, at + 7 * L);
                FloatVector a4 = FloatVector.fromArray(F, sums, at + 8 * L), b4 = FloatVector.fromArray(F, sums, at + 9 * L);
                FloatVector a5 = FloatVector.fromArray(F, sums, at + 10 * L), b5 = FloatVector.fromArray(F, sums, at + 11 * L);
                FloatVector a6 = FloatVector.fromArray(F, sums, at + 12 * L), b6 = FloatVector.fromArray(F, sums, at + 13 * L);
                FloatVector a7 = FloatVector.fromArray(F, sums, at + 14 * L), b7 = FloatVector.fromArray(F, sums, at + 15 * L);
                for (int p = p0, p1 = p0 + panel; p < p1; p += 2 * L) {
                    FloatVector e = FloatVector.fromMemorySegment(F, xs, 4L * p, LE);
                    FloatVector o = FloatVector.fromMemorySegment(F, xs, 4L * p + 4 * L, LE);
                    long q = (long) p * 2;
                    IntVector v;
                    v = ShortVector.fromMemorySegment(SF, w, w0 + q, LE).reinterpretAsInts();
                    a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, a0);
                    b0 = v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretAsFloats().fma(o, b0);
                    v = ShortVector.fromMemorySegment(SF, w, w1 + q, LE).reinterpretAsInts();
                    a1 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, a1);
                    b1 = v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretAsFloats().fma(o, b1);
                    v = ShortVector.fromMemorySegment(SF, w, w2 + q, LE).reinterpretAsInts();
                    a2 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, a2);
                    b2 = v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretAsFloats().fma(o, b2);
                    v = ShortVector.fromMemorySegment(SF, w, w3 + q, LE).reinterpretAsInts();
                    a3 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, a3);
                    b3 = v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretAsFloats().fma(o, b3);
                    v = ShortVector.fromMemorySegment(SF, w, w4 + q, LE).reinterpretAsInts();
                    a4 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, a4);
                    b4 = v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretAsFloats().fma(o, b4);
                    v = ShortVector.fromMemorySegment(SF, w, w5 + q, LE).reinterpretAsInts();
                    a5 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, a5);
                    b5 = v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretAsFloats().fma(o, b5);
                    v = ShortVector.fromMemorySegment(SF, w, w6 + q, LE).reinterpretAsInts();
                    a6 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, a6);
                    b6 = v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretAsFloats().fma(o, b6);
                    v = ShortVector.fromMemorySegment(SF, w, w7 + q, LE).reinterpretAsInts();
                    a7 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, a7);
                    b7 = v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretAsFloats().fma(o, b7);
                }
                a0.intoArray(sums, at); b0.intoArray(sums, at + L);
                a1.intoArray(sums, at + 2 * L); b1.intoArray(sums, at + 3 * L);
                a2.intoArray(sums, at + 4 * L); b2.intoArray(sums, at + 5 * L);
                a3.intoArray(sums, at + 6 * L); b3.intoArray(sums, at + 7 * L);
                a4.intoArray(sums, at + 8 * L); b4.intoArray(sums, at + 9 * L);
                a5.intoArray(sums, at + 10 * L); b5.intoArray(sums, at + 11 * L);
                a6.intoArray(sums, at + 12 * L); b6.intoArray(sums, at + 13 * L);
                a7.intoArray(sums, at + 14 * L); b7.intoArray(sums, at + 15 * L);
                if (last) {
                    pairSums(sums, at, 8, lanes, out, outOff + j);
                }
            }
        }
    }

    /**
     * Rows {@code [r0, r1)} of a BF16 matrix of m rows stored in column panels of {@code panel} (a
     * {@link dev.paligemma.core.Checkpoint#panelled} view's long rows): {@link #rowsBf16}'s loop, one row at a
     * time through the first panel, then the next, each row's two accumulators kept in a per-thread array in
     * between, as {@link #rowsQ8Panels} does. Same bits as {@link #rowsBf16} over the row-major matrix (a panel
     * is a whole number of vector pairs, so every row sums the same products into the same lanes in the same
     * order). Gemma 2's down projections (2304 x 9216, three panels) read 50 GB/s this way against 37 for
     * {@link #rowsBf16Wide} over the row-major file when the machine streamed 50 GB/s, and 33 against 30 when it
     * streamed 33 (two threads, the same memory, alternating).
     */
    static void rowsBf16Panels(float[] x, int xOff, int k, int panel, long m, MemorySegment w, int r0, int r1,
                               float[] out, int outOff) {
        float[] lanes = LANES.get();
        float[] sums = PANEL_SUMS.get(2 * L * Math.max(0, r1 - r0));
        MemorySegment xs = pairedX(x, xOff, k);
        long ldw = 2L * panel;
        for (int p0 = 0; p0 < k; p0 += panel) {
            boolean first = p0 == 0, last = p0 + panel >= k;
            // the loop below indexes from each row's and the panel's first column: a long base plus the loop
            // index times a constant, as in PackedGemm. Indexed by the matrix column (p from p0 to p0 + panel)
            // the same loop read paligemma2's down projections slower: per decode step, their time over the
            // gate/up products' (twice their bytes) was 0.59-0.64 against 0.64-0.71 (four fresh JVMs each,
            // alternating; both kernels in one JVM over the 26 matrices: 42-45 against 28-39 GB/s)
            long base = panelBase(0, ldw, m, p0, panel, 2) + 2L * p0;
            long xb = 4L * p0;
            for (int j = r0; j < r1; j++) {
                long w0 = base + j * ldw;
                int at = 2 * L * (j - r0);
                // the carried accumulators are loaded and stored as in rowsQ8Panels, written out again for the
                // same reason as its block loop: no vector crosses a call
                FloatVector a0, b0;
                if (first) {
                    a0 = FloatVector.zero(F);
                    b0 = a0;
                } else {
                    a0 = FloatVector.fromArray(F, sums, at);
                    b0 = FloatVector.fromArray(F, sums, at + L);
                }
                for (int i = 0; i < panel; i += 2 * L) {
                    IntVector v = ShortVector.fromMemorySegment(SF, w, w0 + 2L * i, LE).reinterpretAsInts();
                    a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromMemorySegment(F, xs, xb + 4L * i, LE), a0);
                    b0 = v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretAsFloats().fma(FloatVector.fromMemorySegment(F, xs, xb + 4L * i + 4 * L, LE), b0);
                }
                if (last) {
                    a0.add(b0).intoArray(lanes, 0);
                    out[outOff + j] = Simd.sum(lanes, 0);
                } else {
                    a0.intoArray(sums, at);
                    b0.intoArray(sums, at + L);
                }
            }
        }
    }

    /**
     * {@code out[at..at+4)} = {@link Simd#sum} of each of the four vectors stored at {@code lanes[0..4L)}: the
     * four-row kernels store their row totals and sum them here, so no vector crosses a call and the kernels
     * stay within C2's inlining budget. Same order as {@code Simd.sum(vector)}, so the same bits.
     */
    static void sums4(float[] lanes, float[] out, int at) {
        out[at] = Simd.sum(lanes, 0);
        out[at + 1] = Simd.sum(lanes, L);
        out[at + 2] = Simd.sum(lanes, 2 * L);
        out[at + 3] = Simd.sum(lanes, 3 * L);
    }

    /**
     * {@code out[o + r] = Simd.sum(a_r + b_r)} for the {@code rows} accumulator pairs stored at
     * {@code sums[at..]} (a_r at {@code at + 2rL}, b_r right after it): the bits of
     * {@code Simd.sum(a_r.add(b_r))}. The kernels store their accumulators and finish them here, so no vector
     * is merged from two paths around their loops (see {@link #rowsBf16Wide}).
     */
    static void pairSums(float[] sums, int at, int rows, float[] lanes, float[] out, int o) {
        for (int r = 0; r < rows; r++) {
            int a = at + 2 * r * L;
            for (int i = 0; i < L; i++) {
                lanes[i] = sums[a + i] + sums[a + L + i];
            }
            out[o + r] = Simd.sum(lanes, 0);
        }
    }

    // ---- Q8: int8 values times a float16 scale per block of Q8.BLOCK along k. A Q8 weight q*s is exact in
    // float32, and every loop below multiplies in the same order as the F32 kernels, so a Q8 product has the
    // bits of the F32 product over the dequantised weights.

    static float scaleAt(MemorySegment sc, long off) {
        return Float.float16ToFloat(sc.get(LE_I16, off));
    }

    /** Column p's weight of a Q8 row whose values start at {@code rowBase} and scales at {@code scaleRow} ({@link #q8RowBase}). */
    static float getQ8(MemorySegment w, long rowBase, MemorySegment sc, long scaleRow, int p, int g) {
        return w.get(ValueLayout.JAVA_BYTE, rowBase + q8Col(p, g)) * scaleAt(sc, scaleRow + 2L * g * (p / Q8.BLOCK));
    }

    /**
     * Where column p's byte lies past its row's {@link #q8RowBase} when rows are interleaved in groups of g
     * ({@link Q8#rowGroup}): a block's values are contiguous, and blocks g blocks apart; p itself for g = 1.
     */
    static long q8Col(int p, int g) {
        return (long) g * (p - p % Q8.BLOCK) + p % Q8.BLOCK;
    }

    /**
     * Where row j's values in panel {@code s} of a Q8 matrix with m rows in panels of {@code panel} columns
     * ({@link Tensor#panelLength}) and row groups of g ({@link Tensor#rowGroup}) start, less the panel's first
     * column: adding {@link #q8Col} of a column p of that panel gives its byte, so the row kernels index a panel's
     * piece of a row by the row's own columns. Row-major when {@code panel} is the row length (s = 0) and g 1.
     */
    static long q8RowBase(long j, int s, int panel, int g, long m) {
        long p0 = (long) s * panel;
        return Q8.valueIndex(m, panel, g, j, p0) - q8Col((int) p0, g);
    }

    /** As {@link #q8RowBase} for the scales: adding {@code 2 g (p / Q8.BLOCK)} gives the byte of column p's scale. */
    static long q8ScaleBase(long j, int s, int panel, int g, long m) {
        long p0 = (long) s * panel;
        return 2 * (Q8.scaleIndex(m, panel, g, j, p0) - (long) g * (p0 / Q8.BLOCK));
    }

    /** The scalar Q8 path (also used when the vector shape cannot load Q8 blocks); m rows in panels of {@code panel}. */
    static void scalarQ8(float[] x, int xOff, int ldx, int n, int k, int panel, int g, long m, MemorySegment w,
                         MemorySegment sc, int j0, int j1, float[] c, int cOff, int ldc) {
        for (int j = j0; j < j1; j++) {
            for (int i = 0; i < n; i++) {
                int xo = xOff + i * ldx;
                float s = 0;
                for (int p0 = 0; p0 < k; p0 += panel) {
                    long wo = q8RowBase(j, p0 / panel, panel, g, m);
                    long so = q8ScaleBase(j, p0 / panel, panel, g, m);
                    for (int p = p0, p1 = Math.min(k, p0 + panel); p < p1; p++) {
                        s += x[xo + p] * getQ8(w, wo, sc, so, p, g);
                    }
                }
                c[cOff + i * ldc + j] = s;
            }
        }
    }

    /**
     * Elements {@code [p0, p1)} of one Q8 row (values and scales at {@link #q8RowBase} {@code wo} and
     * {@link #q8ScaleBase} {@code so}, row groups of g) as float32 into {@code dst}; p0 starts a block.
     */
    static void dequantiseQ8(MemorySegment w, long wo, MemorySegment sc, long so, int g, int p0, int p1, float[] dst, int dstOff) {
        int pv = p0 + (p1 - p0) / L * L;
        for (int pb = p0; pb < pv; pb += Q8.BLOCK) {
            float c0 = scaleAt(sc, so + 2L * g * (pb / Q8.BLOCK));
            int pe = Math.min(pb + Q8.BLOCK, pv);
            long at = wo + q8Col(pb, g) - pb;
            for (int p = pb; p < pe; p += L) {
                ((FloatVector) ByteVector.fromMemorySegment(B, w, at + p, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).intoArray(dst, dstOff + p - p0);
            }
        }
        for (int p = pv; p < p1; p++) {
            dst[dstOff + p - p0] = getQ8(w, wo, sc, so, p, g);
        }
    }

    /**
     * Output rows {@code [r0, r1)} with Q8 weights, one row at a time (order as in {@link #rowsF32}: a block of
     * {@link Q8#BLOCK} holds an even number of vector chunks, see {@link Simd#Q8_VECTOR}).
     *
     * <p>A row's scales are widened to floats ({@link #q8Scales}) one row ahead, before the loop over the current
     * row, so that their cache misses overlap a row of work. Reading each scale as a half inside the loop (a
     * scalar load, conversion and broadcast per block) held the kernel to 17.5 GB/s per core from L2 and 28 GB/s
     * streaming on two cores; widening a row's scales just before its own loop was as fast from L2 (19 GB/s) but
     * fell to 21 GB/s streaming, as every row then began by waiting for its scales. The activations are read from
     * an aligned copy ({@link #alignedX}).
     */
    static void rowsQ8(float[] x, int xOff, int k, MemorySegment w, long ldw, MemorySegment sc, long lds,
                       int r0, int r1, float[] out, int outOff) {
        int pv = k / L * L;
        int pp = k / (2 * L) * (2 * L);
        int nb = (int) Q8.blocks(k);
        int fullBlocks = k / Q8.BLOCK;
        float[] cur = Q8_SCALES.get(nb + L), next = Q8_SCALES_NEXT.get(nb + L), lanes = LANES.get();
        MemorySegment xs = alignedX(x, xOff, k);
        if (r0 < r1) {
            q8Scales(sc, r0 * lds, nb, next);
        }
        for (int j = r0; j < r1; j++) {
            float[] t = cur;
            cur = next;
            next = t;
            if (j + 1 < r1) {
                q8Scales(sc, (j + 1) * lds, nb, next);
            }
            long w0 = j * ldw;
            FloatVector a0 = FloatVector.zero(F), b0 = a0;
            // one iteration per block, its one or two vector pairs written out: indexing the scales by the loop
            // variable lets C2 drop their range checks and unroll four blocks deep (a flat loop over pairs with
            // cur[p / BLOCK] kept a range check per block and unrolled two deep; 1-3 % slower from L2)
            for (int b = 0; b < fullBlocks; b++) {
                float c0 = cur[b];
                long p = 4L * b * Q8.BLOCK;
                long q = w0 + (long) b * Q8.BLOCK;
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p, LE), a0);
                b0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p + 4 * L, LE), b0);
                if (2 * L < Q8.BLOCK) {
                    a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 2 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p + 8 * L, LE), a0);
                    b0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 3 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p + 12 * L, LE), b0);
                }
            }
            int p = fullBlocks * Q8.BLOCK;
            for (; p < pp; p += 2 * L) {
                float c0 = cur[p / Q8.BLOCK];
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w0 + p, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, 4L * p, LE), a0);
                b0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w0 + p + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, 4L * (p + L), LE), b0);
            }
            if (p < pv) {
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w0 + p, LE).convertShape(VectorOperators.B2F, F, 0)).mul(cur[p / Q8.BLOCK]).fma(FloatVector.fromMemorySegment(F, xs, 4L * p, LE), a0);
            }
            a0.add(b0).intoArray(lanes, 0);
            float t0 = Simd.sum(lanes, 0);
            for (p = pv; p < k; p++) {
                t0 += x[xOff + p] * (w.get(ValueLayout.JAVA_BYTE, w0 + p) * cur[p / Q8.BLOCK]);
            }
            out[outOff + j] = t0;
        }
    }

    /** {@link #rowsQ8}'s scales as floats: the current row's and the next row's, per thread. */
    private static final ThreadBuffer Q8_SCALES = new ThreadBuffer(), Q8_SCALES_NEXT = new ThreadBuffer();
    /** {@link #alignedX}'s per-thread segment. */
    private static final NativeThreadBuffer ALIGNED_X = new NativeThreadBuffer();

    /**
     * {@code x[xOff, xOff + k)} copied into this thread's native buffer, which starts on a 64-byte boundary.
     * {@link #rowsQ8} and {@link #rowsQ8Panels} read their activations from there because where a heap array
     * starts is up to the collector, and it decided their speed. Read from the heap, the panel kernel streamed
     * k = 16384 at 31-33 GB/s in some JVMs and 25-26 in others, and within one JVM at some 16-byte offsets into
     * the same array but not at others; the one-row kernel (gate projection, k = 2304) read 22 against 26 and 22
     * against 30 GB/s at two offsets 32 bytes apart in two JVMs. From native memory, 64-byte aligned plus 0, 32
     * or 48 bytes read 27-30 GB/s for the panels (22-25 for the four-rows-per-pass kernel in the same JVMs),
     * plus 16 bytes 13-21; aligned, both offsets of the gate projection read the same (28-32 GB/s). Copying at
     * most 64 KB per call and thread costs well under 1 % of the products (0.2-1.5 ms). The BF16 kernels read a
     * permuted copy ({@link #pairedX}) made the same way.
     */
    static MemorySegment alignedX(float[] x, int xOff, int k) {
        MemorySegment xs = ALIGNED_X.get(4L * k);
        MemorySegment.copy(x, xOff, xs, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, k);
        return xs;
    }

    /** {@link #pairedX}'s per-thread segment. */
    private static final NativeThreadBuffer PAIRED_X = new NativeThreadBuffer();
    /** Lane indices of the even and the odd elements of a pair block of 2L floats. */
    private static final int[] EVEN = PackedGemm.strided(0, 2, L), ODD = PackedGemm.strided(1, 2, L);
    /** The high 16 bits of an int lane: the odd BF16 weight of a pair, as a float. */
    private static final int HIGH_HALF = 0xFFFF0000;

    /**
     * {@code x[xOff, xOff + k)} copied into this thread's 64-byte aligned native buffer for the BF16 decode
     * kernels ({@link #rowsBf16}): each whole block of 2L floats as its L even-indexed elements then its L
     * odd-indexed ones, and whatever is left (less than 2L) in order. Gathered a vector at a time: k = 9216 takes
     * about 1 us.
     */
    static MemorySegment pairedX(float[] x, int xOff, int k) {
        MemorySegment xs = PAIRED_X.get(4L * k);
        int p = 0;
        for (; p + 2 * L <= k; p += 2 * L) {
            FloatVector.fromArray(F, x, xOff + p, EVEN, 0).intoMemorySegment(xs, 4L * p, LE);
            FloatVector.fromArray(F, x, xOff + p, ODD, 0).intoMemorySegment(xs, 4L * p + 4 * L, LE);
        }
        MemorySegment.copy(x, xOff + p, xs, ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * p, k - p);
        return xs;
    }

    /**
     * {@link #rowsQ8Panels}'s and {@link #rowsBf16Panels}'s two accumulator vectors per row, carried from one panel
     * to the next, per thread.
     */
    private static final ThreadBuffer PANEL_SUMS = new ThreadBuffer();

    /**
     * Rows {@code [r0, r1)} of a Q8 matrix of m rows stored in column panels of {@code panel}
     * ({@link Q8#panelLength}): {@link #rowsQ8}'s loop, one row at a time through the first panel, then the
     * next, each row's two accumulators kept in a per-thread array in between. Same bits as {@link #rowsQ8}
     * over the row-major matrix: every row sums the same products into the same lanes in the same order.
     * A thread's rows of a panel are contiguous, so it reads one sequential stream per panel, and a panel's
     * activations stay in L1 (see {@link Q8#panelLength} for the figures). The activations are read from an
     * aligned copy ({@link #alignedX}).
     */
    static void rowsQ8Panels(float[] x, int xOff, int k, int panel, long m, MemorySegment w, MemorySegment sc,
                             int r0, int r1, float[] out, int outOff) {
        int nbc = panel / Q8.BLOCK;
        float[] cur = Q8_SCALES.get(nbc + L), next = Q8_SCALES_NEXT.get(nbc + L), lanes = LANES.get();
        float[] sums = PANEL_SUMS.get(2 * L * Math.max(0, r1 - r0));
        MemorySegment xs = alignedX(x, xOff, k);
        for (int p0 = 0; p0 < k; p0 += panel) {
            int s = p0 / panel;
            boolean first = p0 == 0, last = p0 + panel >= k;
            if (r0 < r1) {
                q8Scales(sc, q8ScaleBase(r0, s, panel, 1, m) + 2L * (p0 / Q8.BLOCK), nbc, next);
            }
            for (int j = r0; j < r1; j++) {
                float[] t = cur;
                cur = next;
                next = t;
                if (j + 1 < r1) {
                    q8Scales(sc, q8ScaleBase(j + 1, s, panel, 1, m) + 2L * (p0 / Q8.BLOCK), nbc, next);
                }
                long w0 = q8RowBase(j, s, panel, 1, m) + p0;
                int at = 2 * L * (j - r0);
                FloatVector a0, b0;
                if (first) {
                    a0 = FloatVector.zero(F);
                    b0 = a0;
                } else {
                    a0 = FloatVector.fromArray(F, sums, at);
                    b0 = FloatVector.fromArray(F, sums, at + L);
                }
                // rowsQ8's block loop, written out again rather than shared: a helper would have to hand back two
                // vectors, and C2 boxes vectors that cross a call it declines to inline (see the class comment)
                for (int b = 0; b < nbc; b++) {
                    float c0 = cur[b];
                    long p = 4L * (p0 + b * Q8.BLOCK);
                    long q = w0 + (long) b * Q8.BLOCK;
                    a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p, LE), a0);
                    b0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p + 4 * L, LE), b0);
                    if (2 * L < Q8.BLOCK) {
                        a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 2 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p + 8 * L, LE), a0);
                        b0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 3 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p + 12 * L, LE), b0);
                    }
                }
                if (last) {
                    a0.add(b0).intoArray(lanes, 0);
                    out[outOff + j] = Simd.sum(lanes, 0);
                } else {
                    a0.intoArray(sums, at);
                    b0.intoArray(sums, at + L);
                }
            }
        }
    }

    /**
     * Rows {@code [r0, r1)} of a row-major Q8 matrix whose rows are interleaved in groups of {@link Q8#GROUP}
     * ({@link Q8#rowGroup}): a whole group goes four rows per pass, each activation vector loaded once for the
     * four, from the group's one sequential stream; rows of a group the range only partly covers (at its ends) go
     * one at a time. Each row keeps its own two accumulators, fed in {@link #rowsQ8}'s order, so the bits are
     * those of {@link #rowsQ8} over the plain matrix. A group's scales are contiguous and widened one group
     * ahead, as rowsQ8 does one row ahead; the activations are read from an aligned copy ({@link #alignedX}).
     * Figures at {@link Q8#rowGroup}.
     *
     * <p>The accumulators go straight to the output after each group: kept in a per-thread array instead (128
     * bytes written and read back per row, 590 KB per thread for a gate projection, in a 1 MB L2) the kernel
     * streamed 19-22 against 26-27 GB/s (k = 2304, three JVMs).
     */
    static void rowsQ8Groups(float[] x, int xOff, int k, long m, MemorySegment w, MemorySegment sc, int r0, int r1,
                             float[] out, int outOff) {
        if (r0 >= r1) {
            return;
        }
        int nb = k / Q8.BLOCK;
        int gs = Q8.GROUP * nb;
        float[] cur = Q8_SCALES.get(gs + L), next = Q8_SCALES_NEXT.get(gs + L), lanes = LANES.get();
        MemorySegment xs = alignedX(x, xOff, k);
        int g0 = r0 / Q8.GROUP, g1 = (r1 - 1) / Q8.GROUP + 1;
        // a group's first row's bases are the group's: its values and scales start with that row's first block
        q8Scales(sc, q8ScaleBase((long) g0 * Q8.GROUP, 0, k, Q8.GROUP, m), gs, next);
        for (int g = g0; g < g1; g++) {
            float[] t = cur;
            cur = next;
            next = t;
            if (g + 1 < g1) {
                q8Scales(sc, q8ScaleBase((long) (g + 1) * Q8.GROUP, 0, k, Q8.GROUP, m), gs, next);
            }
            long gw = q8RowBase((long) g * Q8.GROUP, 0, k, Q8.GROUP, m);
            int ja = Math.max(r0, g * Q8.GROUP), jb = Math.min(r1, g * Q8.GROUP + Q8.GROUP);
            if (jb - ja == Q8.GROUP) {
                groupPass(xs, nb, w, gw, cur, lanes);
                sums4(lanes, out, outOff + ja);
            } else {
                for (int j = ja; j < jb; j++) {
                    groupRow(xs, nb, w, gw, cur, j - g * Q8.GROUP, lanes);
                    out[outOff + j] = Simd.sum(lanes, 0);
                }
            }
        }
    }

    /**
     * The four rows of a group for {@link #rowsQ8Groups}: values from {@code gw}, widened scales in {@code c}
     * (block b of row r at {@code c[GROUP b + r]}); leaves each row's two accumulators added, row r's at
     * {@code lanes[r L, r L + L)}.
     */
    private static void groupPass(MemorySegment xs, int nb, MemorySegment w, long gw, float[] c, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        for (int b = 0; b < nb; b++) {
            int cb = Q8.GROUP * b;
            float c0 = c[cb], c1 = c[cb + 1], c2 = c[cb + 2], c3 = c[cb + 3];
            long p = 4L * b * Q8.BLOCK;
            long q = gw + (long) b * Q8.GROUP * Q8.BLOCK;
            FloatVector u = FloatVector.fromMemorySegment(F, xs, p, LE), v = FloatVector.fromMemorySegment(F, xs, p + 4 * L, LE);
            a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(u, a0);
            b0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(v, b0);
            a1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + Q8.BLOCK, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c1).fma(u, a1);
            b1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + Q8.BLOCK + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c1).fma(v, b1);
            a2 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 2 * Q8.BLOCK, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c2).fma(u, a2);
            b2 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 2 * Q8.BLOCK + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c2).fma(v, b2);
            a3 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 3 * Q8.BLOCK, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c3).fma(u, a3);
            b3 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 3 * Q8.BLOCK + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c3).fma(v, b3);
            if (2 * L < Q8.BLOCK) {
                u = FloatVector.fromMemorySegment(F, xs, p + 8 * L, LE);
                v = FloatVector.fromMemorySegment(F, xs, p + 12 * L, LE);
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 2 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(u, a0);
                b0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 3 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(v, b0);
                a1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + Q8.BLOCK + 2 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c1).fma(u, a1);
                b1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + Q8.BLOCK + 3 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c1).fma(v, b1);
                a2 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 2 * Q8.BLOCK + 2 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c2).fma(u, a2);
                b2 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 2 * Q8.BLOCK + 3 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c2).fma(v, b2);
                a3 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 3 * Q8.BLOCK + 2 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c3).fma(u, a3);
                b3 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 3 * Q8.BLOCK + 3 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c3).fma(v, b3);
            }
        }
        a0.add(b0).intoArray(lanes, 0);
        a1.add(b1).intoArray(lanes, L);
        a2.add(b2).intoArray(lanes, 2 * L);
        a3.add(b3).intoArray(lanes, 3 * L);
    }

    /** {@link #groupPass} for row r of the group alone (a group the row range only partly covers), into {@code lanes[0, L)}. */
    private static void groupRow(MemorySegment xs, int nb, MemorySegment w, long gw, float[] c, int r, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0;
        long w0 = gw + (long) r * Q8.BLOCK;
        for (int b = 0; b < nb; b++) {
            float c0 = c[Q8.GROUP * b + r];
            long p = 4L * b * Q8.BLOCK;
            long q = w0 + (long) b * Q8.GROUP * Q8.BLOCK;
            a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p, LE), a0);
            b0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p + 4 * L, LE), b0);
            if (2 * L < Q8.BLOCK) {
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 2 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p + 8 * L, LE), a0);
                b0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, q + 3 * L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(FloatVector.fromMemorySegment(F, xs, p + 12 * L, LE), b0);
            }
        }
        a0.add(b0).intoArray(lanes, 0);
    }

    /**
     * The {@code n} half-precision scales at {@code sc[off..]} as floats in {@code dst[0, n)}, the values
     * {@link #scaleAt} reads, L at a time. When {@code dst} has room, the last group may also widen the halves
     * that follow the n in {@code sc} (never past its end) into {@code dst[n, ...)}. A half's bits shifted left
     * by 13 and read as a float are the half's value times 2^-112, exactly, for every non-negative finite half,
     * subnormals and zero included: the exponent field lands unbiased by 112 and a subnormal half lands as a
     * float subnormal of the same scale.
     * So one multiply by 2^112 (exact) finishes it. Negative scales, infinities and NaNs never come from
     * {@link Q8}'s quantizer; a group holding any goes through {@link Float#float16ToFloat} instead.
     *
     * <p>{@link Simd#decodeF16} does the same conversion for F16 weights, with every special case handled in
     * the vector lanes. Called here instead, it made {@link #rowsQ8} slower: 16.1-16.4 against 17.7-18.3 GB/s on
     * one core from L2, and 4.8 against 29.9 GB/s streaming on two threads (k = 2304), same harness.
     */
    static void q8Scales(MemorySegment sc, long off, int n, float[] dst) {
        int b = 0;
        // the last, partial group too, when dst has room for a whole one and the segment holds L halves from
        // there (the next row's scales; their floats land in dst past n): a row of 2304 weights has 72 scales,
        // and without the eight scalar conversions after four groups the one-row kernel runs 4-5 % faster from L2
        long whole = Math.min(n + L - 1, dst.length) / L * L;
        if (off + 2L * whole > sc.byteSize()) {
            whole = n / L * L;
        }
        for (; b < whole; b += L) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S, sc, off + 2L * b, LE).convertShape(VectorOperators.S2I, I, 0);
            // sign-extended, so a set sign bit reads as a huge unsigned value: one compare catches both cases
            if (h.compare(VectorOperators.UGE, 0x7C00).anyTrue()) {
                for (int i = b; i < b + L; i++) {
                    dst[i] = scaleAt(sc, off + 2L * i);
                }
            } else {
                h.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f).intoArray(dst, b);
            }
        }
        for (; b < n; b++) {
            dst[b] = scaleAt(sc, off + 2L * b);
        }
    }

    /**
     * Rows {@code [r0, r1)} with Q8 weights four per pass, for the k of {@link #severalRowsPerPass} in a row-major
     * Q8 matrix (those quantised here are in panels when k allows, {@link #rowsQ8Panels}); same bits as
     * {@link #rowsQ8}. Kept small on purpose: with vector and scalar tails and four inlined {@link Simd#sum}
     * calls, C2 ran out of its inlining budget ({@code NodeCountInliningCutoff}) in every JVM, and in JVMs that
     * had encoded an image first it ran out inside the loop too, leaving {@code fromArray} and {@code fma} as
     * calls that box a vector each: 5 MB of garbage and 40-60 ms more per paligemma2 Q8 decode step (130-147
     * against 104-114 ms without the image).
     */
    static void rowsQ8Wide(float[] x, int xOff, int k, MemorySegment w, long ldw, MemorySegment sc, long lds,
                           int r0, int r1, float[] out, int outOff) {
        float[] lanes = LANES.get();
        int j = r0;
        for (; j + 4 <= r1; j += 4) {
            long w0 = j * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw;
            long s0 = j * lds, s1 = s0 + lds, s2 = s1 + lds, s3 = s2 + lds;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int p = 0; p < k; p += 2 * L) {
                long so = 2L * (p / Q8.BLOCK);
                float c0 = scaleAt(sc, s0 + so), c1 = scaleAt(sc, s1 + so), c2 = scaleAt(sc, s2 + so), c3 = scaleAt(sc, s3 + so);
                FloatVector v = FloatVector.fromArray(F, x, xOff + p);
                FloatVector u = FloatVector.fromArray(F, x, xOff + p + L);
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w0 + p, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(v, a0);
                b0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w0 + p + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c0).fma(u, b0);
                a1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w1 + p, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c1).fma(v, a1);
                b1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w1 + p + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c1).fma(u, b1);
                a2 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w2 + p, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c2).fma(v, a2);
                b2 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w2 + p + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c2).fma(u, b2);
                a3 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w3 + p, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c3).fma(v, a3);
                b3 = ((FloatVector) ByteVector.fromMemorySegment(B, w, w3 + p + L, LE).convertShape(VectorOperators.B2F, F, 0)).mul(c3).fma(u, b3);
            }
            a0.add(b0).intoArray(lanes, 0);
            a1.add(b1).intoArray(lanes, L);
            a2.add(b2).intoArray(lanes, 2 * L);
            a3.add(b3).intoArray(lanes, 3 * L);
            sums4(lanes, out, outOff + j);
        }
        rowsQ8(x, xOff, k, w, ldw, sc, lds, j, r1, out, outOff);
    }
}
