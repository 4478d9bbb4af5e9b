package dev.paligemma.segmentation;

import dev.paligemma.core.CheckpointException;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.ops.Matmul;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The VQ-VAE decoder that turns PaliGemma's 16 {@code <segNNN>} codes into a 64x64 mask logit map
 * (big_vision {@code vae-oid.npz}, a PyTorch state dict saved with numpy).
 *
 * <p>Structure (as big_vision's {@code get_reconstruct_masks}): codebook lookup into a 4x4 grid (code
 * {@code i} at row {@code i / 4}, column {@code i % 4}) -> 1x1 conv -> ReLU -> two residual blocks
 * ({@code x + conv1x1(relu(conv3x3(relu(conv3x3(x)))))}) -> four ConvTranspose 4x4 / stride 2 / padding 1,
 * each followed by ReLU -> 1x1 conv to one channel. Channel counts and the codebook size are read from
 * the file and cross-checked; kernel sizes are fixed by that structure.
 *
 * <p>Activations are channels-last ({@code [y, x, c]}), so convolutions become im2col followed by
 * {@link Matmul#matmulTransposed} and transposed convolutions a {@link Matmul#matmulPlain} followed by a
 * scatter-add (col2im). Weights are reordered once at load into those layouts. Instances are immutable and
 * thread-safe: every call uses its own buffers.
 */
public final class MaskDecoder {
    /** Codes per object, laid out as a {@value #GRID}x{@value #GRID} grid. */
    public static final int CODES = 16;
    private static final int GRID = 4;
    private static final int UPSAMPLE_LAYERS = 4;
    /** Side of the decoded mask: the 4x4 grid doubled by each transposed conv. */
    public static final int MASK_SIZE = GRID << UPSAMPLE_LAYERS;

    private final int codebookSize;
    private final int embeddingDim;
    private final float[] codebook;          // [codebookSize, embeddingDim]
    private final Conv inConv;               // 1x1, weight [out, in]
    private final Conv[][] resBlocks;        // 3x3 weights [out, ky, kx, in]; 1x1 [out, in]
    private final Conv[] upConvs;            // weight [in, ky, kx, out]
    private final Conv outConv;              // 1x1 to one channel

    /** A convolution's reordered weight and bias. */
    private record Conv(float[] w, float[] b, int in, int out) {
    }

    private MaskDecoder(int codebookSize, int embeddingDim, float[] codebook, Conv inConv, Conv[][] resBlocks,
                        Conv[] upConvs, Conv outConv) {
        this.codebookSize = codebookSize;
        this.embeddingDim = embeddingDim;
        this.codebook = codebook;
        this.inConv = inConv;
        this.resBlocks = resBlocks;
        this.upConvs = upConvs;
        this.outConv = outConv;
    }

    /**
     * Bound on the array data of a decoder file: a file of the {@code vae-oid.npz} layout holds under 5 MB of
     * arrays (the fixture), so this leaves ample room while a zip bomb is refused before it is inflated onto the heap.
     */
    static final long MAX_FILE_BYTES = 256L << 20;

    /** Loads {@code vae-oid.npz} (or a file of the same layout); more than 256 MiB of array data is refused. */
    public static MaskDecoder load(Path npz) {
        return from(NpzFile.read(npz, MAX_FILE_BYTES));
    }

    static MaskDecoder from(NpzFile file) {
        NpyArray emb = file.array("_vq_vae._embedding");
        long[] es = emb.shape();
        if (es.length != 2 || es[0] < 1 || es[1] < 1) {
            throw badShape(file, emb, "[codebook, dim]");
        }
        int k = (int) es[0];
        int d = (int) es[1];
        float[] codebook = emb.toFloatArray();

        Conv in = conv(file, "decoder.0", -1, d, 1);
        int ch = in.out();
        Conv[][] res = new Conv[2][];
        for (int r = 0; r < 2; r++) {
            String p = "decoder." + (2 + r) + ".net.";
            res[r] = new Conv[] {conv(file, p + "0", ch, ch, 3), conv(file, p + "2", ch, ch, 3), conv(file, p + "4", ch, ch, 1)};
        }
        Conv[] up = new Conv[UPSAMPLE_LAYERS];
        for (int i = 0; i < UPSAMPLE_LAYERS; i++) {
            up[i] = convTranspose(file, "decoder." + (4 + 2 * i), ch);
            ch = up[i].out();
        }
        Conv out = conv(file, "decoder.12", 1, ch, 1);
        return new MaskDecoder(k, d, codebook, in, res, up, out);
    }

    /**
     * Decodes one object's codes into its {@value #MASK_SIZE}x{@value #MASK_SIZE} mask logits, row-major;
     * values above 0 are inside the object.
     *
     * @param codes exactly {@value #CODES} codebook indices (the numbers of the {@code <segNNN>} tokens)
     */
    public float[] decode(int[] codes) {
        if (codes == null || codes.length != CODES) {
            throw new InvalidArgumentException("segmentation codes: expected " + CODES + " codes, got "
                    + (codes == null ? "null" : codes.length));
        }
        for (int i = 0; i < CODES; i++) {
            if (codes[i] < 0 || codes[i] >= codebookSize) {
                throw new InvalidArgumentException("segmentation code " + i + " is " + codes[i]
                        + ", outside the codebook [0, " + (codebookSize - 1) + "]");
            }
        }
        int n = GRID * GRID;
        float[] x = new float[n * embeddingDim];
        for (int i = 0; i < CODES; i++) {
            System.arraycopy(codebook, codes[i] * embeddingDim, x, i * embeddingDim, embeddingDim);
        }
        float[] h = conv1x1(x, n, inConv);
        relu(h);
        for (Conv[] block : resBlocks) {
            float[] t = conv3x3(h, GRID, GRID, block[0]);
            relu(t);
            t = conv3x3(t, GRID, GRID, block[1]);
            relu(t);
            t = conv1x1(t, n, block[2]);
            for (int i = 0; i < h.length; i++) {
                h[i] += t[i];
            }
        }
        int size = GRID;
        for (Conv up : upConvs) {
            h = convTranspose(h, size, size, up);
            relu(h);
            size *= 2;
        }
        return conv1x1(h, size * size, outConv);
    }

    /** Codebook entries (128 for {@code vae-oid.npz}). */
    public int codebookSize() {
        return codebookSize;
    }

    private static float[] conv1x1(float[] x, int positions, Conv c) {
        float[] out = new float[positions * c.out()];
        Matmul.matmulTransposed(x, 0, c.in(), c.w(), 0, c.in(), out, 0, c.out(), positions, c.out(), c.in());
        addBias(out, c.b());
        return out;
    }

    /** 3x3 convolution, stride 1, zero padding 1 (im2col rows ordered [ky, kx, in] like the weight). */
    private static float[] conv3x3(float[] x, int height, int width, Conv c) {
        int cin = c.in();
        int kdim = 9 * cin;
        float[] cols = new float[height * width * kdim];
        for (int y = 0; y < height; y++) {
            for (int xx = 0; xx < width; xx++) {
                int row = (y * width + xx) * kdim;
                for (int ky = 0; ky < 3; ky++) {
                    int sy = y + ky - 1;
                    if (sy < 0 || sy >= height) {
                        continue;
                    }
                    for (int kx = 0; kx < 3; kx++) {
                        int sx = xx + kx - 1;
                        if (sx >= 0 && sx < width) {
                            System.arraycopy(x, (sy * width + sx) * cin, cols, row + (ky * 3 + kx) * cin, cin);
                        }
                    }
                }
            }
        }
        float[] out = new float[height * width * c.out()];
        Matmul.matmulTransposed(cols, 0, kdim, c.w(), 0, kdim, out, 0, c.out(), height * width, c.out(), kdim);
        addBias(out, c.b());
        return out;
    }

    /**
     * PyTorch ConvTranspose2d(kernel 4, stride 2, padding 1): input pixel (iy, ix) adds
     * {@code x[iy, ix, :] . W[:, ky, kx, o]} to output (2 iy - 1 + ky, 2 ix - 1 + kx). The per-pixel products
     * are one matmul; the overlapping scatter is done after it.
     */
    private static float[] convTranspose(float[] x, int height, int width, Conv c) {
        int cin = c.in();
        int cout = c.out();
        int m = 16 * cout;
        int n = height * width;
        float[] cols = new float[n * m];
        Matmul.matmulPlain(x, 0, cin, c.w(), 0, m, cols, 0, m, n, m, cin);
        int oh = 2 * height;
        int ow = 2 * width;
        float[] out = new float[oh * ow * cout];
        for (int p = 0; p < oh * ow; p++) {
            System.arraycopy(c.b(), 0, out, p * cout, cout);
        }
        for (int iy = 0; iy < height; iy++) {
            for (int ix = 0; ix < width; ix++) {
                int src = (iy * width + ix) * m;
                for (int ky = 0; ky < 4; ky++) {
                    int y = 2 * iy - 1 + ky;
                    if (y < 0 || y >= oh) {
                        continue;
                    }
                    for (int kx = 0; kx < 4; kx++) {
                        int xx = 2 * ix - 1 + kx;
                        if (xx < 0 || xx >= ow) {
                            continue;
                        }
                        int s = src + (ky * 4 + kx) * cout;
                        int d = (y * ow + xx) * cout;
                        for (int o = 0; o < cout; o++) {
                            out[d + o] += cols[s + o];
                        }
                    }
                }
            }
        }
        return out;
    }

    private static void addBias(float[] out, float[] b) {
        int c = b.length;
        for (int i = 0; i < out.length; i += c) {
            for (int o = 0; o < c; o++) {
                out[i + o] += b[o];
            }
        }
    }

    private static void relu(float[] x) {
        for (int i = 0; i < x.length; i++) {
            if (!(x[i] > 0f)) {
                x[i] = 0f;
            }
        }
    }

    /**
     * A Conv2d {@code name.weight [out, in, k, k]} reordered to {@code [out, ky, kx, in]}.
     *
     * @param out expected output channels, or -1 to take them from the file
     */
    private static Conv conv(NpzFile file, String name, int out, int in, int k) {
        NpyArray w = file.array(name + ".weight");
        long[] s = w.shape();
        if (s.length != 4 || (out >= 0 && s[0] != out) || s[0] < 1 || s[1] != in || s[2] != k || s[3] != k) {
            throw badShape(file, w, "[" + (out >= 0 ? out : "out") + ", " + in + ", " + k + ", " + k + "]");
        }
        int o = (int) s[0];
        float[] src = w.toFloatArray();
        float[] dst = new float[src.length];
        for (int oc = 0; oc < o; oc++) {
            for (int ic = 0; ic < in; ic++) {
                for (int ky = 0; ky < k; ky++) {
                    for (int kx = 0; kx < k; kx++) {
                        dst[((oc * k + ky) * k + kx) * in + ic] = src[((oc * in + ic) * k + ky) * k + kx];
                    }
                }
            }
        }
        return new Conv(dst, bias(file, name, o), in, o);
    }

    /** A ConvTranspose2d {@code name.weight [in, out, 4, 4]} reordered to {@code [in, ky, kx, out]}. */
    private static Conv convTranspose(NpzFile file, String name, int in) {
        NpyArray w = file.array(name + ".weight");
        long[] s = w.shape();
        if (s.length != 4 || s[0] != in || s[1] < 1 || s[2] != 4 || s[3] != 4) {
            throw badShape(file, w, "[" + in + ", out, 4, 4]");
        }
        int o = (int) s[1];
        float[] src = w.toFloatArray();
        float[] dst = new float[src.length];
        for (int ic = 0; ic < in; ic++) {
            for (int oc = 0; oc < o; oc++) {
                for (int ky = 0; ky < 4; ky++) {
                    for (int kx = 0; kx < 4; kx++) {
                        dst[((ic * 4 + ky) * 4 + kx) * o + oc] = src[((ic * o + oc) * 4 + ky) * 4 + kx];
                    }
                }
            }
        }
        return new Conv(dst, bias(file, name, o), in, o);
    }

    private static float[] bias(NpzFile file, String name, int out) {
        NpyArray b = file.array(name + ".bias");
        long[] s = b.shape();
        if (s.length != 1 || s[0] != out) {
            throw badShape(file, b, "[" + out + "]");
        }
        return b.toFloatArray();
    }

    private static CheckpointException badShape(NpzFile file, NpyArray a, String expected) {
        return new CheckpointException(file.path() + ": array '" + a.name() + "' has shape "
                + Arrays.toString(a.shape()) + ", expected " + expected);
    }
}
