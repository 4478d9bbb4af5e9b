package dev.paligemma.core.ops;

import dev.paligemma.core.DType;
import dev.paligemma.core.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Every kernel run once on fixed-seed inputs, for the bit-exact determinism checks. Sizes are odd (vector
 * tails, partial 4-row groups, k beyond one {@link Matmul#sliceLength} slice); the large set is big enough that
 * matvec, matmulTransposed and matmulPlain split across threads. {@link #main} prints a fingerprint per
 * kernel so a JVM in another mode (-Xint) can be compared with this one.
 */
final class KernelOutputs {
    private KernelOutputs() {
    }

    /** Kernel name to output, in a fixed order. */
    static Map<String, float[]> compute(boolean large) {
        Map<String, float[]> out = new LinkedHashMap<>();
        Random r = new Random(20240917L);
        int n = large ? 19 : 5;
        int k = large ? 2100 : 2071;
        int m = large ? 130 : 9;
        float[] x = Ref.random(r, n * k);
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            Tensor w = Ref.weight(dt, m, k, Ref.random(r, m * k));
            float[] c = new float[n * m];
            Matmul.matmul(x, n, k, w, c);
            out.put("matmul " + dt, c);
        }
        int mv = large ? 1001 : 37;
        int kv = large ? 64 : 301;
        float[] xv = Ref.random(r, kv + 3);
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            Tensor w = Ref.weight(dt, mv, kv, Ref.random(r, mv * kv));
            float[] c = new float[mv + 2];
            Matmul.matvec(xv, 3, w, c, 2);
            out.put("matvec " + dt, c);
        }
        // BF16 rows longer than Matmul.SINGLE_ROW_MAX_K take the four-rows-per-pass kernel when they are whole
        // vector pairs (4352 = 136 x 32), the one-row kernel otherwise (4304 with 512-bit vectors)
        for (int kw : new int[] {4304, 4352}) {
            Tensor wide = Ref.weight(DType.BF16, mv, kw, Ref.random(r, mv * kw));
            float[] xw = Ref.random(r, kw + 3);
            float[] cw = new float[mv + 2];
            Matmul.matvec(xw, 3, wide, cw, 2);
            out.put("matvec BF16 k" + kw, cw);
        }
        // BF16 rows in column panels (a panelled checkpoint view): two panels of 2176, decode kernel and GEMM
        Tensor panels = Bf16PanelsTest.panelled(Ref.weight(DType.BF16, mv, 4352, Ref.random(r, mv * 4352)), 2176);
        float[] xp = Ref.random(r, 3 * 4352);
        float[] cp1 = new float[mv];
        Matmul.matvec(xp, 0, panels, cp1, 0);
        out.put("matvec BF16 panels", cp1);
        float[] cp3 = new float[3 * mv];
        Matmul.matmul(xp, 3, 4352, panels, cp3);
        out.put("matmul BF16 panels", cp3);
        // decode attention over an off-heap cache (head size 256 or 72: vector tail)
        int span = large ? 300 : 11;
        int hd = large ? 256 : 72; // head size, also for RoPE below
        float[] cacheValues = Ref.random(r, span * 2 * hd);
        java.lang.foreign.MemorySegment cache = java.lang.foreign.Arena.ofAuto().allocate(4L * cacheValues.length, 64);
        java.lang.foreign.MemorySegment.copy(cacheValues, 0, cache, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, cacheValues.length);
        float[] qa = Ref.random(r, hd);
        float[] sa = new float[span];
        CachedAttention.scores(qa, 0, cache, 0, 8L * hd, span, hd, sa, 0);
        out.put("cached scores", sa);
        float[] oa = new float[hd];
        CachedAttention.weightedSum(sa, 0, cache, 4L * hd, 8L * hd, span, hd, oa, 0);
        out.put("cached weighted sum", oa);
        // Q8: k not a multiple of the block (2100 = 65 x 32 + 20, 301, 4304 = 134 x 32 + 16, 72); 4352 is stored in
        // two column panels (Matmul.rowsQ8Panels); 4192 (131 blocks, no panels) takes the four-rows-per-pass kernel
        Tensor wq = dev.paligemma.core.Q8.quantize(Ref.weight(DType.F32, m, k, Ref.random(r, m * k)), java.lang.foreign.Arena.ofAuto());
        float[] cq = new float[n * m];
        Matmul.matmul(x, n, k, wq, cq);
        out.put("matmul Q8", cq);
        for (int kq : new int[] {kv, 4304, 4352, 4192, 72}) {
            Tensor wv = dev.paligemma.core.Q8.quantize(Ref.weight(DType.BF16, mv, kq, Ref.random(r, mv * kq)),
                    java.lang.foreign.Arena.ofAuto());
            float[] xq = Ref.random(r, kq + 3);
            float[] c = new float[mv + 2];
            Matmul.matvec(xq, 3, wv, c, 2);
            out.put("matvec Q8 k" + kq, c);
        }
        // attention-sized products: above Matmul.PARALLEL_FLOPS in the large set
        int an = large ? 67 : 6;
        int am = large ? 130 : 7;
        int ak = large ? 129 : 19;
        float[] a = Ref.random(r, an * ak + 1);
        float[] b = Ref.random(r, am * ak + 2);
        float[] ct = new float[an * am + 3];
        Matmul.matmulTransposed(a, 1, ak, b, 2, ak, ct, 3, am, an, am, ak);
        out.put("matmulTransposed", ct);
        float[] bp = Ref.random(r, ak * am + 2);
        float[] cp = new float[an * am + 1];
        Matmul.matmulPlain(a, 1, ak, bp, 2, am, cp, 1, am, an, am, ak);
        out.put("matmulPlain", cp);

        int size = large ? 1153 : 77;
        float[] v = Ref.random(r, size + 1);
        float[] wn = Ref.random(r, size);
        float[] bn = Ref.random(r, size);
        float[] rms = new float[size];
        Norms.rmsNorm(rms, 0, v, 1, wn, size, 1e-6f);
        out.put("rmsNorm", rms);
        float[] ln = new float[size];
        Norms.layerNorm(ln, 0, v, 1, wn, bn, size, 1e-6f);
        out.put("layerNorm", ln);
        float[] s = scaled(v, 6f);
        Activations.softmax(s, 1, size);
        out.put("softmax", s);
        float[] g = scaled(v, 4f);
        Activations.geluTanh(g, 1, size);
        out.put("geluTanh", g);
        float[] sc = scaled(v, 40f);
        Activations.softcap(sc, 1, size, 30f);
        out.put("softcap", sc);
        int heads = 3;
        float[] q = Ref.random(r, heads * hd + 1);
        Rope.apply(q, 1, heads, hd, large ? 1234 : 17, 10000.0);
        out.put("rope", q);
        return out;
    }

    /**
     * Runs the small single-threaded kernels often enough for C2 to compile them (a few hundred
     * {@link #compute} calls leave them in the interpreter or C1, i.e. on the Vector API's Java fallback).
     */
    static void warmUp(int reps) {
        Random r = new Random(1);
        int size = 77;
        float[] v = Ref.random(r, size);
        float[] w = Ref.random(r, size);
        float[] o = new float[size];
        float[] q = Ref.random(r, 3 * 72);
        for (int i = 0; i < reps; i++) {
            Norms.rmsNorm(o, 0, v, 0, w, size, 1e-6f);
            Norms.layerNorm(o, 0, v, 0, w, w, size, 1e-6f);
            System.arraycopy(v, 0, o, 0, size);
            Activations.softmax(o, 0, size);
            System.arraycopy(v, 0, o, 0, size);
            Activations.geluTanh(o, 0, size);
            System.arraycopy(v, 0, o, 0, size);
            Activations.softcap(o, 0, size, 1f);
            Rope.apply(q, 0, 3, 72, i & 1023, 10000.0);
        }
    }

    private static float[] scaled(float[] v, float f) {
        float[] s = v.clone();
        for (int i = 0; i < s.length; i++) {
            s[i] *= f;
        }
        return s;
    }

    /** FNV-1a over the raw bits: equal fingerprints mean (practically) equal arrays. */
    static String fingerprint(float[] a) {
        long h = 0xcbf29ce484222325L;
        for (float f : a) {
            h = (h ^ Float.floatToRawIntBits(f)) * 0x100000001b3L;
        }
        return a.length + ":" + Long.toHexString(h);
    }

    /** Prints {@code name=fingerprint} lines for the small set (args: "large" for the large one). */
    public static void main(String[] args) {
        boolean large = args.length > 0 && args[0].equals("large");
        for (Map.Entry<String, float[]> e : compute(large).entrySet()) {
            System.out.println(e.getKey() + "=" + fingerprint(e.getValue()));
        }
    }
}
