package dev.paligemma.core.ops;

import static dev.paligemma.core.ops.Simd.F;
import static dev.paligemma.core.ops.Simd.I;
import static dev.paligemma.core.ops.Simd.L;
import static dev.paligemma.core.ops.Simd.LE;
import static dev.paligemma.core.ops.Simd.S;

import dev.paligemma.core.DType;
import dev.paligemma.core.Q8;
import dev.paligemma.core.Tensor;
import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The vector path of {@link Matmul#matmul} (prefill, vision encoder): {@code out[i, j] = sum_p x[i, p] w[j, p]}
 * for many activation rows. Written as {@code out^T = w x^T}, weight-stationary:
 * <ol>
 *   <li>the activations are transposed once per pass into strips of {@link #NR} rows ({@link #transpose}), so
 *   a micro-tile reads its activation rows as two whole vectors per k, one sequential stream;</li>
 *   <li>each task takes {@value #MB} weight rows and decodes them (F32, BF16, F16 or Q8) into floats once for
 *   all the pass's activation rows, {@link #CHUNK} columns at a time, in slices of {@value #KC};</li>
 *   <li>a micro-tile of {@value #MR} weight rows by two vectors of activation rows keeps its 24 accumulators
 *   in registers over a slice: per k it loads two activation vectors, broadcasts twelve weights and does 24
 *   FMAs ({@link #tile}; a last strip one vector wide takes {@link #tileHalf}).</li>
 * </ol>
 * Each output is one FMA chain over p in increasing order from zero (carried between slices through the task's
 * transposed output block), so its bits depend neither on the slicing, the panels, the passes, the thread
 * count nor the weight type: Q8 weights give the bits of F32 weights holding their dequantised values.
 *
 * <p>Why not the 4x4 dot-product tiles used before (four weight rows against four activation rows, lanes summed
 * at the end): on a 2-core Intel Xeon guest with AVX-512 (two FMA ports) paligemma2's prefill ran at 31-32 % of
 * the FMA peak and its vision encoder at 34-40 %. Every FMA there needs half a vector load, four weight rows
 * plus four activation rows of a 2304-long slice (72 KB) do not fit L1, and a BF16 weight vector costs two more
 * instructions on the FMA ports to widen. One core ran this micro-tile at 165-210 GFLOP/s from cache (the same
 * loop without the broadcasts, 175-230) where the old tile over float arrays ran at 85; 8 rows by 2 vectors ran
 * 150-190, 4 by 4 120-145.
 */
final class PackedGemm {
    /**
     * Weight rows per task: eight micro-tiles, each reading the same strips of a slice from L2. Over paligemma2's
     * q, k, gate and down projections (266 rows, two threads, alternating in one JVM) 24 rows ran 220-229
     * GFLOP/s, 48 rows 227-245 and 96 rows 248-258 (144 no better).
     */
    static final int MB = 96;
    /**
     * Length of a k slice: a micro-tile's weights over a slice are {@code MR x KC} floats (24 KB), in L1. Over
     * paligemma2's MLP products 512 ran at 54-58 % of the FMA peak measured in the same JVM, 256 at 51-55 %
     * (alternating JVMs): half the tile calls, half the accumulator loads and stores.
     */
    static final int KC = 512;
    /** Weight rows per micro-tile. */
    static final int MR = 12;
    /** Activation rows per micro-tile: two vectors. */
    static final int NR = 2 * L;
    /**
     * Activation rows transposed per pass: bounds the transposed copy ({@code k x NC} floats, 8.8 MB at
     * k = 4304) for a 896-px image's 4096 patches. Weights are decoded once per pass.
     */
    static final int NC = 512;
    /**
     * Columns of a task's weight rows decoded at once ({@code MB x CHUNK} floats, 960 KB; a whole number of
     * slices): whole rows of Gemma's 2048 and 2304 and SigLIP's 1152, so a task reads its weights as one
     * sequential run (long BF16 and Q8 rows are in panels of at most 3072). In chunks of 2048 a 2304-long row was read as a 4 KB run and, a chunk
     * later, a 512-byte one, and decoding took 10 % of a paligemma2 prefill.
     */
    static final int CHUNK = 2560;

    /**
     * The caller's transposed activations, read by every task of its loop (a waiting caller runs only its own
     * tasks). Native and 64-byte aligned: in a heap array the micro-tile's vector loads start wherever the
     * collector put the array, and the same products ran at 120-180 GFLOP/s under the serial collector against
     * 200-230 under G1.
     */
    private static final NativeThreadBuffer XT = new NativeThreadBuffer();
    /** A task's decoded weights, {@code MB x CHUNK}: slice s of row r at {@code (s MB + r) KC}. */
    private static final ThreadBuffer WF = new ThreadBuffer();
    /** A task's output block, transposed: {@code MB} rows of the pass's padded activation count. */
    private static final ThreadBuffer CT = new ThreadBuffer();

    private PackedGemm() {
    }

    /**
     * {@link Matmul#matmul}'s vector path for products of one activation matrix with several weight matrices
     * (Q, K and V; gate and up): arguments already checked, {@code n >= 1}, every {@code ms[w] >= 1}. The
     * activations are transposed once per pass for all of them, and the tasks of all of them share one parallel
     * loop, so a small matrix (1024 rows: 11 tasks for two threads) does not end its loop with one thread idle.
     */
    static void matmul(float[] x, int n, int k, Tensor[] ws, int[] ms, float[][] biases, float[][] outs) {
        if (k == 0) {
            for (int w = 0; w < ws.length; w++) {
                java.util.Arrays.fill(outs[w], 0, n * ms[w], 0f);
            }
            return;
        }
        int[] firstTask = new int[ws.length + 1];
        for (int w = 0; w < ws.length; w++) {
            firstTask[w + 1] = firstTask[w] + (ms[w] + MB - 1) / MB;
        }
        int passes = (n + NC - 1) / NC;
        int nc = (n + passes - 1) / passes;
        int ncPad = (nc + NR - 1) / NR * NR;
        MemorySegment xt = XT.get(4L * k * ncPad);
        for (int i0 = 0; i0 < n; i0 += nc) {
            int rows = Math.min(nc, n - i0);
            // whole vectors, not whole strips: a last strip of one vector takes the half-wide tile (266 prefix
            // rows padded to 288 wasted 8 % of the FMAs, to 272 2 %)
            int ld = (rows + L - 1) / L * L;
            int start = i0;
            // the gathers' lane offsets: L rows of x, L rows of a task's transposed output
            int[] xRows = strided(0, k, L), ctRows = strided(0, ld, L);
            // the last vector of rows may be partial: the JDK range-checks every lane of a masked gather, so
            // lanes past the last row read the vector's first row (and are masked off)
            int[] xTail = strided(0, k, rows % L);
            Parallel.forRange(k, 64, (p0, p1) -> transpose(x, start * k, k, k, rows, ld, p0, p1, xRows, xTail, xt, 0));
            Parallel.forEach(firstTask[ws.length], t -> {
                int w = 0;
                while (t >= firstTask[w + 1]) {
                    w++;
                }
                int j0 = (t - firstTask[w]) * MB;
                block(xt, ld, rows, start, k, ws[w], ms[w], j0, Math.min(ms[w], j0 + MB), ctRows,
                        biases == null ? null : biases[w], outs[w]);
            });
        }
    }

    /** Lane indices {@code {first, first + stride, ..., first + (count - 1) stride}}, then zeros up to L lanes. */
    static int[] strided(int first, int stride, int count) {
        int[] a = new int[L];
        for (int l = 0; l < count; l++) {
            a[l] = first + l * stride;
        }
        return a;
    }

    /**
     * Rows of x transposed into strips of {@link #NR} rows: {@code x[xOff + i ldx + p]} at
     * {@code xt[xtOff + ((i / NR) k + p) NR + i % NR]}, for p in {@code [p0, p1)}, i below {@code rows}; zero up to
     * {@code ld}. A micro-tile then reads them as one sequential stream: a pass's activations here, a head's keys
     * in {@link TiledAttention}. {@code xRows} and {@code xTail} are the gathers' lane offsets
     * ({@code strided(0, ldx, L)} and {@code strided(0, ldx, rows % L)}).
     */
    static void transpose(float[] x, int xOff, int ldx, int k, int rows, int ld, int p0, int p1, int[] xRows,
                          int[] xTail, MemorySegment xt, long xtOff) {
        // one vector of a strip column at a time, gathered from L rows ldx apart ({@code xRows}): element by
        // element the transpose took 0.5 ms of one thread per 266 x 2304 product
        for (int r = 0; r < ld; r += L) {
            int valid = Math.min(L, rows - r);
            long strip = xtOff + (long) (r / NR) * k * NR + r % NR;
            int xo = xOff + r * ldx;
            if (valid == L) {
                for (int p = p0; p < p1; p++) {
                    FloatVector.fromArray(F, x, xo + p, xRows, 0).intoMemorySegment(xt, 4 * (strip + (long) p * NR), LE);
                }
            } else if (valid > 0) {
                // the JDK range-checks every lane of a masked gather: lanes past the last row read the first one
                VectorMask<Float> in = F.indexInRange(0, valid);
                for (int p = p0; p < p1; p++) {
                    FloatVector.fromArray(F, x, xo + p, xTail, 0, in).intoMemorySegment(xt, 4 * (strip + (long) p * NR), LE);
                }
            } else {
                for (int p = p0; p < p1; p++) {
                    FloatVector.zero(F).intoMemorySegment(xt, 4 * (strip + (long) p * NR), LE);
                }
            }
        }
    }

    /** Weight rows {@code [j0, j1)} against the pass's {@code rows} activation rows, written to out rows from {@code i0}. */
    static void block(MemorySegment xt, int ld, int rows, int i0, int k, Tensor w, int m, int j0, int j1,
                      int[] ctRows, float[] bias, float[] out) {
        int mr = (j1 - j0 + MR - 1) / MR * MR;
        float[] wf = WF.get(MB * CHUNK);
        float[] ct = CT.get(MB * ld);
        int panel = (int) w.panelLength();
        // the micro-tiles always add to the block: loading zeros costs less than a branch that doubled the
        // tile's code (C2 then declined to inline parts of it in some JVMs, and every vector was boxed)
        java.util.Arrays.fill(ct, 0, mr * ld, 0f);
        for (int c0 = 0, c1; c0 < k; c0 = c1) {
            c1 = Math.min(Math.min(k, c0 + CHUNK), (c0 / panel + 1) * panel);
            decode(w, m, panel, j0, j1, c0, c1, wf);
            for (int p0 = c0; p0 < c1; p0 += KC) {
                int base = (p0 - c0) / KC * MB * KC;
                for (int j = j1 - j0; j < mr; j++) {
                    java.util.Arrays.fill(wf, base + j * KC, base + j * KC + Math.min(KC, c1 - p0), 0f);
                }
            }
            // slice by slice, then a micro-tile's weight rows (24 KB) stay in L1 for every strip, and the slice's
            // strips (KC x ld floats) in L2 for every micro-tile of the task
            for (int p0 = c0; p0 < c1; p0 += KC) {
                int len = Math.min(KC, c1 - p0);
                int base = (p0 - c0) / KC * MB * KC;
                for (int g = 0; g < mr; g += MR) {
                    for (int i = 0; i < ld; i += NR) {
                        int xo = (i / NR * k + p0) * NR;
                        if (i + NR <= ld) {
                            tile(wf, base + g * KC, xt, xo, len, ct, g * ld + i, ld);
                        } else {
                            tileHalf(wf, base + g * KC, xt, xo, len, ct, g * ld + i, ld);
                        }
                    }
                }
            }
        }
        // row by row of out, so each store run is contiguous, a vector gathered from L rows of the block's
        // transposed output at a time ({@code ctRows}; element by element this took 4 % of a paligemma2 prefill)
        // a bias is added here, as the product's one float add per output, instead of in a pass of its own
        int jv = j0 + (j1 - j0) / L * L;
        for (int i = 0; i < rows; i++) {
            int o = (i0 + i) * m;
            for (int j = j0; j < jv; j += L) {
                // no vector-valued conditional: a vector merged from two branches risks being boxed
                FloatVector v = FloatVector.fromArray(F, ct, (j - j0) * ld + i, ctRows, 0);
                if (bias == null) {
                    v.intoArray(out, o + j);
                } else {
                    v.add(FloatVector.fromArray(F, bias, j)).intoArray(out, o + j);
                }
            }
            for (int j = jv; j < j1; j++) {
                float v = ct[(j - j0) * ld + i];
                out[o + j] = bias == null ? v : v + bias[j];
            }
        }
    }

    /**
     * Weight rows {@code [j0, j1)}, columns {@code [c0, c1)} (inside one panel) as floats, in slices of
     * {@link #KC} columns: slice s of row j at {@code wf[(s MB + j - j0) KC]}. Each row is read in one run of
     * up to {@link #CHUNK} weights: decoding slice by slice read 64 runs of 512 bytes (BF16) 4.6 KB apart,
     * which the hardware prefetcher did not follow.
     */
    static void decode(Tensor w, int m, int panel, int j0, int j1, int c0, int c1, float[] wf) {
        MemorySegment seg = w.segment();
        DType dt = w.dtype();
        int s = c0 / panel;
        int es = dt.byteSize();
        long ldw = (long) panel * es;
        long base = Matmul.panelBase(0, ldw, m, s * panel, panel, es);
        // four rows a quarter of the block apart in turn, a slice of each: decoding runs between micro-tiles from
        // weights in no cache, and one row after the other was one sequential stream per thread, restarted by the
        // hardware prefetcher at every 4 KB page (BF16: ~4.5 GB/s per thread, a tenth of the 224-px encoder);
        // four streams keep four reads in flight
        int spread = (j1 - j0 + 3) / 4;
        for (int u = 0; u < spread; u++) {
            for (int p0 = c0; p0 < c1; p0 += KC) {
                int p1 = Math.min(c1, p0 + KC);
                int len = p1 - p0;
                for (int j = j0 + u; j < j1; j += spread) {
                    int d = ((p0 - c0) / KC * MB + j - j0) * KC;
                    long at = base + j * ldw + (long) p0 * es;
                    switch (dt) {
                        case Q8 -> Matmul.dequantiseQ8(seg, Matmul.q8RowBase(j, s, panel, w.rowGroup(), m), w.scales(),
                                Matmul.q8ScaleBase(j, s, panel, w.rowGroup(), m), w.rowGroup(), p0, p1, wf, d);
                        case F32 -> MemorySegment.copy(seg, Matmul.LE_F32, at, wf, d, len);
                        case BF16 -> {
                            int q = 0;
                            for (; q + L <= len; q += L) {
                                ((IntVector) ShortVector.fromMemorySegment(S, seg, at + 2L * q, LE).castShape(I, 0))
                                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(wf, d + q);
                            }
                            for (; q < len; q++) {
                                wf[d + q] = Matmul.getBf16(seg, at + 2L * q);
                            }
                        }
                        default -> Simd.decodeF16(seg, at, wf, d, len);
                    }
                }
            }
        }
    }

    /**
     * One micro-tile over a slice of {@code len}: for r below {@link #MR} and c below {@link #NR},
     * {@code ct[o + r ld + c] = fma(xt[xo + p NR + c], wf[w0 + r KC + p], ...)} chained over p from the stored
     * value. The activation index advances by a constant stride: {@code (p0 + p) * ld + i} in a row-major
     * transpose ran about 10 % slower. Its byte offset is written as a long base plus the loop index times the
     * stride so that C2 hoists the segment's bounds checks out of the loop: with an int offset advanced by the
     * stride (which could overflow) it checked both loads on every k, and one core ran 165-177 GFLOP/s against
     * 179-189 (alternating in one JVM).
     */
    static void tile(float[] wf, int w0, MemorySegment xt, int xo, int len, float[] ct, int o, int ld) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71, c80, c81, c90, c91, c100, c101, c110, c111;
        c00 = FloatVector.fromArray(F, ct, o); c01 = FloatVector.fromArray(F, ct, o + L);
        c10 = FloatVector.fromArray(F, ct, o + ld); c11 = FloatVector.fromArray(F, ct, o + ld + L);
        c20 = FloatVector.fromArray(F, ct, o + 2 * ld); c21 = FloatVector.fromArray(F, ct, o + 2 * ld + L);
        c30 = FloatVector.fromArray(F, ct, o + 3 * ld); c31 = FloatVector.fromArray(F, ct, o + 3 * ld + L);
        c40 = FloatVector.fromArray(F, ct, o + 4 * ld); c41 = FloatVector.fromArray(F, ct, o + 4 * ld + L);
        c50 = FloatVector.fromArray(F, ct, o + 5 * ld); c51 = FloatVector.fromArray(F, ct, o + 5 * ld + L);
        c60 = FloatVector.fromArray(F, ct, o + 6 * ld); c61 = FloatVector.fromArray(F, ct, o + 6 * ld + L);
        c70 = FloatVector.fromArray(F, ct, o + 7 * ld); c71 = FloatVector.fromArray(F, ct, o + 7 * ld + L);
        c80 = FloatVector.fromArray(F, ct, o + 8 * ld); c81 = FloatVector.fromArray(F, ct, o + 8 * ld + L);
        c90 = FloatVector.fromArray(F, ct, o + 9 * ld); c91 = FloatVector.fromArray(F, ct, o + 9 * ld + L);
        c100 = FloatVector.fromArray(F, ct, o + 10 * ld); c101 = FloatVector.fromArray(F, ct, o + 10 * ld + L);
        c110 = FloatVector.fromArray(F, ct, o + 11 * ld); c111 = FloatVector.fromArray(F, ct, o + 11 * ld + L);
        long x = 4L * xo;
        for (int p = 0; p < len; p++) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, xt, x + (long) p * (4 * NR), LE);
            FloatVector x1 = FloatVector.fromMemorySegment(F, xt, x + (long) p * (4 * NR) + 4 * L, LE);
            int wp = w0 + p;
            FloatVector b = FloatVector.broadcast(F, wf[wp]);
            c00 = x0.fma(b, c00); c01 = x1.fma(b, c01);
            b = FloatVector.broadcast(F, wf[wp + KC]);
            c10 = x0.fma(b, c10); c11 = x1.fma(b, c11);
            b = FloatVector.broadcast(F, wf[wp + 2 * KC]);
            c20 = x0.fma(b, c20); c21 = x1.fma(b, c21);
            b = FloatVector.broadcast(F, wf[wp + 3 * KC]);
            c30 = x0.fma(b, c30); c31 = x1.fma(b, c31);
            b = FloatVector.broadcast(F, wf[wp + 4 * KC]);
            c40 = x0.fma(b, c40); c41 = x1.fma(b, c41);
            b = FloatVector.broadcast(F, wf[wp + 5 * KC]);
            c50 = x0.fma(b, c50); c51 = x1.fma(b, c51);
            b = FloatVector.broadcast(F, wf[wp + 6 * KC]);
            c60 = x0.fma(b, c60); c61 = x1.fma(b, c61);
            b = FloatVector.broadcast(F, wf[wp + 7 * KC]);
            c70 = x0.fma(b, c70); c71 = x1.fma(b, c71);
            b = FloatVector.broadcast(F, wf[wp + 8 * KC]);
            c80 = x0.fma(b, c80); c81 = x1.fma(b, c81);
            b = FloatVector.broadcast(F, wf[wp + 9 * KC]);
            c90 = x0.fma(b, c90); c91 = x1.fma(b, c91);
            b = FloatVector.broadcast(F, wf[wp + 10 * KC]);
            c100 = x0.fma(b, c100); c101 = x1.fma(b, c101);
            b = FloatVector.broadcast(F, wf[wp + 11 * KC]);
            c110 = x0.fma(b, c110); c111 = x1.fma(b, c111);
        }
        c00.intoArray(ct, o); c01.intoArray(ct, o + L);
        c10.intoArray(ct, o + ld); c11.intoArray(ct, o + ld + L);
        c20.intoArray(ct, o + 2 * ld); c21.intoArray(ct, o + 2 * ld + L);
        c30.intoArray(ct, o + 3 * ld); c31.intoArray(ct, o + 3 * ld + L);
        c40.intoArray(ct, o + 4 * ld); c41.intoArray(ct, o + 4 * ld + L);
        c50.intoArray(ct, o + 5 * ld); c51.intoArray(ct, o + 5 * ld + L);
        c60.intoArray(ct, o + 6 * ld); c61.intoArray(ct, o + 6 * ld + L);
        c70.intoArray(ct, o + 7 * ld); c71.intoArray(ct, o + 7 * ld + L);
        c80.intoArray(ct, o + 8 * ld); c81.intoArray(ct, o + 8 * ld + L);
        c90.intoArray(ct, o + 9 * ld); c91.intoArray(ct, o + 9 * ld + L);
        c100.intoArray(ct, o + 10 * ld); c101.intoArray(ct, o + 10 * ld + L);
        c110.intoArray(ct, o + 11 * ld); c111.intoArray(ct, o + 11 * ld + L);
    }

    /** {@link #tile} for the last, half-wide strip: {@link #MR} weight rows by one vector of activation rows. */
    static void tileHalf(float[] wf, int w0, MemorySegment xt, int xo, int len, float[] ct, int o, int ld) {
        FloatVector c0 = FloatVector.fromArray(F, ct, o);
        FloatVector c1 = FloatVector.fromArray(F, ct, o + ld);
        FloatVector c2 = FloatVector.fromArray(F, ct, o + 2 * ld);
        FloatVector c3 = FloatVector.fromArray(F, ct, o + 3 * ld);
        FloatVector c4 = FloatVector.fromArray(F, ct, o + 4 * ld);
        FloatVector c5 = FloatVector.fromArray(F, ct, o + 5 * ld);
        FloatVector c6 = FloatVector.fromArray(F, ct, o + 6 * ld);
        FloatVector c7 = FloatVector.fromArray(F, ct, o + 7 * ld);
        FloatVector c8 = FloatVector.fromArray(F, ct, o + 8 * ld);
        FloatVector c9 = FloatVector.fromArray(F, ct, o + 9 * ld);
        FloatVector c10 = FloatVector.fromArray(F, ct, o + 10 * ld);
        FloatVector c11 = FloatVector.fromArray(F, ct, o + 11 * ld);
        long x = 4L * xo;
        for (int p = 0; p < len; p++) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, xt, x + (long) p * (4 * NR), LE);
            int wp = w0 + p;
            c0 = x0.fma(FloatVector.broadcast(F, wf[wp]), c0);
            c1 = x0.fma(FloatVector.broadcast(F, wf[wp + KC]), c1);
            c2 = x0.fma(FloatVector.broadcast(F, wf[wp + 2 * KC]), c2);
            c3 = x0.fma(FloatVector.broadcast(F, wf[wp + 3 * KC]), c3);
            c4 = x0.fma(FloatVector.broadcast(F, wf[wp + 4 * KC]), c4);
            c5 = x0.fma(FloatVector.broadcast(F, wf[wp + 5 * KC]), c5);
            c6 = x0.fma(FloatVector.broadcast(F, wf[wp + 6 * KC]), c6);
            c7 = x0.fma(FloatVector.broadcast(F, wf[wp + 7 * KC]), c7);
            c8 = x0.fma(FloatVector.broadcast(F, wf[wp + 8 * KC]), c8);
            c9 = x0.fma(FloatVector.broadcast(F, wf[wp + 9 * KC]), c9);
            c10 = x0.fma(FloatVector.broadcast(F, wf[wp + 10 * KC]), c10);
            c11 = x0.fma(FloatVector.broadcast(F, wf[wp + 11 * KC]), c11);
        }
        c0.intoArray(ct, o);
        c1.intoArray(ct, o + ld);
        c2.intoArray(ct, o + 2 * ld);
        c3.intoArray(ct, o + 3 * ld);
        c4.intoArray(ct, o + 4 * ld);
        c5.intoArray(ct, o + 5 * ld);
        c6.intoArray(ct, o + 6 * ld);
        c7.intoArray(ct, o + 7 * ld);
        c8.intoArray(ct, o + 8 * ld);
        c9.intoArray(ct, o + 9 * ld);
        c10.intoArray(ct, o + 10 * ld);
        c11.intoArray(ct, o + 11 * ld);
    }
}
