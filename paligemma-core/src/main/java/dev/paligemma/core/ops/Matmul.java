package dev.paligemma.core.ops;

import dev.paligemma.core.Tensor;

/**
 * Matrix products. Weights are checkpoint tensors in their row-major {@code [m, k]} layout (F32, BF16 or
 * F16, converted to float32 in registers); activations are float32 arrays.
 *
 * <p>STUB: plain scalar loops; the kernel layer issue replaces the bodies with Vector API kernels.
 */
public final class Matmul {
    private Matmul() {
    }

    /**
     * {@code out[i, j] = sum_p x[i, p] * w[j, p]} for activations {@code x [n, k]} and weight
     * {@code w [m, k]} (any rank: dim 0 is m, the rest flatten to k). {@code out} is {@code [n, m]}.
     */
    public static void matmul(float[] x, int n, int k, Tensor w, float[] out) {
        int m = (int) w.dim(0);
        float[] row = new float[k];
        for (int j = 0; j < m; j++) {
            w.toFloats((long) j * k, row, 0, k);
            for (int i = 0; i < n; i++) {
                float s = 0;
                for (int p = 0; p < k; p++) {
                    s += x[i * k + p] * row[p];
                }
                out[i * m + j] = s;
            }
        }
    }

    /** Matrix-vector product for decoding: {@code out[j] = sum_p w[j, p] * x[xOffset + p]}, j in {@code [0, m)}. */
    public static void matvec(float[] x, int xOffset, Tensor w, float[] out, int outOffset) {
        int m = (int) w.dim(0);
        int k = (int) (w.size() / m);
        float[] row = new float[k];
        for (int j = 0; j < m; j++) {
            w.toFloats((long) j * k, row, 0, k);
            float s = 0;
            for (int p = 0; p < k; p++) {
                s += x[xOffset + p] * row[p];
            }
            out[outOffset + j] = s;
        }
    }

    /**
     * Float32 product with a transposed right operand, for attention scores:
     * {@code c[cOff + i*ldc + j] = sum_p a[aOff + i*lda + p] * b[bOff + j*ldb + p]}, i in [0,n), j in [0,m), p in [0,k).
     */
    public static void matmulTransposed(float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                        float[] c, int cOff, int ldc, int n, int m, int k) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                float s = 0;
                for (int p = 0; p < k; p++) {
                    s += a[aOff + i * lda + p] * b[bOff + j * ldb + p];
                }
                c[cOff + i * ldc + j] = s;
            }
        }
    }

    /**
     * Plain float32 product, for attention-weighted values:
     * {@code c[cOff + i*ldc + j] = sum_p a[aOff + i*lda + p] * b[bOff + p*ldb + j]}, i in [0,n), j in [0,m), p in [0,k).
     */
    public static void matmulPlain(float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                   float[] c, int cOff, int ldc, int n, int m, int k) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                float s = 0;
                for (int p = 0; p < k; p++) {
                    s += a[aOff + i * lda + p] * b[bOff + p * ldb + j];
                }
                c[cOff + i * ldc + j] = s;
            }
        }
    }
}
