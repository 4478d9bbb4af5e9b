package dev.paligemma.core.ops;

import static dev.paligemma.core.ops.Simd.F;
import static dev.paligemma.core.ops.Simd.L;
import static dev.paligemma.core.ops.Simd.LE;

import dev.paligemma.core.InvalidArgumentException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Bidirectional multi-head attention (SigLIP's encoder) with both products on {@link PackedGemm}'s register tile
 * ({@link PackedGemm#tile}: 12 rows broadcast from a float array at a constant stride, two vectors streamed from
 * a native strip, 24 accumulators). The scores are {@code queries x keys^T}: the queries are the broadcast rows
 * and each head's keys are stored once per layer as strips of {@link PackedGemm#NR} keys
 * ({@code [strip][d][NR]}), so the tile writes score rows directly. The weighted values are
 * {@code probabilities x values}: each row of probabilities is copied into slices of {@link PackedGemm#KC}, and
 * the values are stored as strips of {@code NR} columns ({@code [strip][key][NR]}).
 *
 * <p>Why: as broadcast products over the heap arrays ({@link Matmul#matmulPlain}) the two products ran at 110-150
 * GFLOP/s on one core of the 2-core Xeon guest, where the tile runs at 165-210. The plain kernel's eight row
 * offsets and the variable row stride of its streamed operand did not fit the registers beside 16 accumulators:
 * C2 spilled them and reloaded them on every step, and kept a bounds check on each streamed load. At 448 px
 * (1024 patches) attention was a fifth of the encoder's time for an eighth of its multiply-adds.
 *
 * <p>Each score and each output is one FMA chain over its sum's index in increasing order from zero, as in the
 * plain products, so the bits are theirs.
 */
public final class TiledAttention {
    private static final int MR = PackedGemm.MR;
    private static final int NR = PackedGemm.NR;
    private static final int KC = PackedGemm.KC;
    /** Query rows per task, whole micro-tiles: 11 x 12 = 132, eight tasks per head at 1024 patches. */
    static final int QUERY_BLOCK = 11 * MR;

    /** A task's queries, one row of {@link PackedGemm#KC} floats per query. */
    private static final ThreadBuffer QUERIES = new ThreadBuffer();
    /** A task's probabilities: {@code [group of MR rows][slice of KC keys][row][key]}. */
    private static final ThreadBuffer PROBABILITIES = new ThreadBuffer();
    /** A task's outputs, rows padded to whole vectors. */
    private static final ThreadBuffer OUTPUTS = new ThreadBuffer();

    private TiledAttention() {
    }

    /** Whether this path runs here: the Vector API compiles to SIMD, and a head fits one slice of the tile. */
    public static boolean supports(int headDim) {
        return Simd.vector() && headDim >= 1 && headDim <= KC;
    }

    /**
     * Every (image, key-value head)'s keys and values in strips, native and 64-byte aligned, reused across
     * layers. Keys past {@code n} and value columns past the head size are zero.
     */
    public record Workspace(MemorySegment keys, MemorySegment values, int batch, int heads, int kvHeads, int n, int headDim) {
        /** Floats of one (image, head)'s key strips. */
        int keyFloats() {
            return keyStrips(n) * headDim * NR;
        }

        /** Floats of one (image, head)'s value strips. */
        int valueFloats() {
            return valueStrips(headDim) * n * NR;
        }
    }

    /**
     * A workspace for {@code batch} sequences of {@code n} positions, {@code heads} query heads of {@code headDim}
     * sharing {@code kvHeads} key-value heads (grouped-query attention when fewer).
     */
    public static Workspace workspace(int batch, int heads, int kvHeads, int n, int headDim) {
        if (!supports(headDim) || batch < 1 || kvHeads < 1 || heads < kvHeads || heads % kvHeads != 0 || n < 1) {
            throw new InvalidArgumentException("tiled attention: batch " + batch + ", heads " + heads + ", kv heads "
                    + kvHeads + ", n " + n + ", head size " + headDim + " not supported here");
        }
        long groups = (long) batch * kvHeads;
        long keys = Math.multiplyExact(groups, Math.multiplyExact((long) keyStrips(n) * headDim, NR));
        long values = Math.multiplyExact(groups, Math.multiplyExact((long) valueStrips(headDim) * n, NR));
        if (keys > Integer.MAX_VALUE || values > Integer.MAX_VALUE) {
            throw new InvalidArgumentException("tiled attention: " + batch + " images of " + n + " positions exceed one workspace");
        }
        Arena arena = Arena.ofAuto();
        return new Workspace(arena.allocate(4 * keys, 64), arena.allocate(4 * values, 64), batch, heads, kvHeads, n, headDim);
    }

    /** Key strips of n keys: whole vectors of keys, grouped {@link PackedGemm#NR} at a time (the last may be one vector). */
    static int keyStrips(int n) {
        return (Matmul.vectorPadded(n) + NR - 1) / NR;
    }

    /** Value strips of a head: its columns in whole vectors, {@link PackedGemm#NR} at a time. */
    static int valueStrips(int headDim) {
        return (Matmul.vectorPadded(headDim) + NR - 1) / NR;
    }

    /**
     * {@code out = softmax(cap(scale q k^T)) v} per sequence and head, bidirectional: row {@code b n + i} of q
     * and out (strides {@code ldq}, {@code ldo}) holds query head {@code j} in columns {@code [j hd, (j + 1) hd)},
     * and of k and v (stride {@code ldkv}) key-value head {@code j / (heads / kvHeads)}. The scores are
     * multiplied by {@code scale} unless it is 1, then capped as {@code cap tanh(s / cap)} when {@code cap > 0}.
     */
    public static void attention(float[] q, int ldq, float[] k, float[] v, int ldkv, float[] out, int ldo,
                                 float scale, float cap, Workspace ws) {
        int batch = ws.batch(), heads = ws.heads(), kvHeads = ws.kvHeads(), n = ws.n(), hd = ws.headDim();
        long rows = (long) batch * n;
        if (heads * hd > Math.min(ldq, ldo) || kvHeads * hd > ldkv || rows * ldq > q.length || rows * ldo > out.length
                || rows * ldkv > Math.min(k.length, v.length)) {
            throw new InvalidArgumentException("tiled attention: " + rows + " rows of " + heads + " query and " + kvHeads
                    + " key-value heads of " + hd + " do not fit arrays of " + q.length + ", " + k.length + ", "
                    + v.length + ", " + out.length + " floats at strides " + ldq + ", " + ldkv + ", " + ldo);
        }
        int blocks = (n + QUERY_BLOCK - 1) / QUERY_BLOCK;
        int group = heads / kvHeads;
        Parallel.forEach(batch * kvHeads, g -> {
            int src = (g / kvHeads) * n * ldkv + (g % kvHeads) * hd;
            packKeys(k, src, ldkv, n, hd, ws.keys(), g * ws.keyFloats());
            packValues(v, src, ldkv, n, hd, ws.values(), g * ws.valueFloats());
        });
        Parallel.forEach(batch * heads * blocks, task -> {
            int b = task / (heads * blocks);
            int head = task / blocks % heads;
            int r0 = (task % blocks) * QUERY_BLOCK;
            int kv = b * kvHeads + head / group;
            block(q, b * n * ldq + head * hd, ldq, out, b * n * ldo + head * hd, ldo, r0, Math.min(QUERY_BLOCK, n - r0),
                    kv, scale, cap, ws);
        });
    }

    /** Keys {@code [0, n)} of one head as strips: key {@code j}, column d at {@code (j / NR * hd + d) NR + j % NR}. */
    private static void packKeys(float[] k, int src, int h, int n, int hd, MemorySegment dst, int dstOff) {
        PackedGemm.transpose(k, src, h, hd, n, Matmul.vectorPadded(n), 0, hd, PackedGemm.strided(0, h, L),
                PackedGemm.strided(0, h, n % L), dst, dstOff);
    }

    /** Values of one head as strips: key {@code p}, column c at {@code (c / NR * n + p) NR + c % NR}. */
    private static void packValues(float[] v, int src, int h, int n, int hd, MemorySegment dst, int dstOff) {
        int cols = Matmul.vectorPadded(hd);
        for (int c = 0; c < cols; c += L) {
            VectorMask<Float> in = F.indexInRange(c, hd);
            long strip = dstOff + (long) (c / NR) * n * NR + c % NR;
            for (int p = 0; p < n; p++) {
                FloatVector.fromArray(F, v, src + p * h + c, in).intoMemorySegment(dst, 4 * (strip + (long) p * NR), LE);
            }
        }
    }

    /**
     * Query rows {@code [r0, r0 + len)} of one head, whose first row starts at {@code qBase} in q and
     * {@code oBase} in out, against key-value strips {@code g}.
     */
    private static void block(float[] q, int qBase, int ldq, float[] out, int oBase, int ldo, int r0, int len, int g,
                              float scale, float cap, Workspace ws) {
        int n = ws.n(), hd = ws.headDim();
        int groups = (len + MR - 1) / MR;
        int rows = groups * MR;
        int keyStrips = keyStrips(n), keyCols = Matmul.vectorPadded(n), ld = keyStrips * NR;
        int slices = (n + KC - 1) / KC;
        int valueStrips = valueStrips(hd), hp = Matmul.vectorPadded(hd);

        // queries, one KC-long row each (the tile's broadcast stride); the rows that pad the last group are zero
        float[] wq = QUERIES.get(rows * KC);
        for (int r = 0; r < rows; r++) {
            if (r < len) {
                System.arraycopy(q, qBase + (r0 + r) * ldq, wq, r * KC, hd);
            } else {
                Arrays.fill(wq, r * KC, r * KC + hd, 0f);
            }
        }
        // scores: the tile adds to what is there
        float[] s = ThreadBuffer.SCORES.get(rows * ld);
        Arrays.fill(s, 0, rows * ld, 0f);
        int keys = g * ws.keyFloats();
        for (int gr = 0; gr < groups; gr++) {
            for (int js = 0; js < keyStrips; js++) {
                int xo = keys + js * hd * NR;
                if (js * NR + NR <= keyCols) {
                    PackedGemm.tile(wq, gr * MR * KC, ws.keys(), xo, hd, s, gr * MR * ld + js * NR, ld);
                } else {
                    PackedGemm.tileHalf(wq, gr * MR * KC, ws.keys(), xo, hd, s, gr * MR * ld + js * NR, ld);
                }
            }
        }
        // probabilities, copied into KC-long slices (the tile's broadcast stride)
        float[] wp = PROBABILITIES.get(groups * slices * MR * KC);
        for (int r = 0; r < rows; r++) {
            if (r < len) {
                if (scale != 1f) {
                    Activations.scale(s, r * ld, n, scale);
                }
                if (cap > 0) {
                    Activations.softcap(s, r * ld, n, cap);
                }
                Activations.softmax(s, r * ld, n);
            }
            for (int sl = 0; sl < slices; sl++) {
                int count = Math.min(KC, n - sl * KC);
                int dst = ((r / MR * slices + sl) * MR + r % MR) * KC;
                if (r < len) {
                    System.arraycopy(s, r * ld + sl * KC, wp, dst, count);
                } else {
                    Arrays.fill(wp, dst, dst + count, 0f);
                }
            }
        }
        // weighted values, summed over the slices in the output rows
        float[] o = OUTPUTS.get(rows * hp);
        Arrays.fill(o, 0, rows * hp, 0f);
        int values = g * ws.valueFloats();
        for (int gr = 0; gr < groups; gr++) {
            for (int sl = 0; sl < slices; sl++) {
                int count = Math.min(KC, n - sl * KC);
                int w0 = (gr * slices + sl) * MR * KC;
                for (int vs = 0; vs < valueStrips; vs++) {
                    int xo = values + (vs * n + sl * KC) * NR;
                    if (vs * NR + NR <= hp) {
                        PackedGemm.tile(wp, w0, ws.values(), xo, count, o, gr * MR * hp + vs * NR, hp);
                    } else {
                        PackedGemm.tileHalf(wp, w0, ws.values(), xo, count, o, gr * MR * hp + vs * NR, hp);
                    }
                }
            }
        }
        for (int r = 0; r < len; r++) {
            System.arraycopy(o, r * hp, out, oBase + (r0 + r) * ldo, hd);
        }
    }
}
