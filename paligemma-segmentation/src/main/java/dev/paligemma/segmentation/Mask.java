package dev.paligemma.segmentation;

import dev.paligemma.core.Box;
import dev.paligemma.core.InvalidArgumentException;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32;
import java.util.zip.DeflaterOutputStream;

/**
 * An immutable binary mask covering a whole image, one bit per pixel (row-major, packed in longs).
 */
public final class Mask {
    private final int width;
    private final int height;
    private final long[] bits;
    private final int area;

    /** Takes ownership of {@code bits} (bit {@code y * width + x}). */
    Mask(int width, int height, long[] bits) {
        checkSize(width, height);
        if (bits.length != words(width, height)) {
            throw new IllegalArgumentException("bits length " + bits.length);
        }
        this.width = width;
        this.height = height;
        this.bits = bits;
        int a = 0;
        for (long w : bits) {
            a += Long.bitCount(w);
        }
        this.area = a;
    }

    /** A mask from row-major pixels ({@code pixels[y * width + x]}). */
    public static Mask of(int width, int height, boolean[] pixels) {
        checkSize(width, height);
        if (pixels == null || pixels.length != (long) width * height) {
            throw new InvalidArgumentException("mask pixels: expected " + (long) width * height + " values for "
                    + width + "x" + height + ", got " + (pixels == null ? "null" : pixels.length));
        }
        long[] bits = new long[words(width, height)];
        for (int i = 0; i < pixels.length; i++) {
            if (pixels[i]) {
                bits[i >>> 6] |= 1L << i;
            }
        }
        return new Mask(width, height, bits);
    }

    /** Inverse of {@link #toRle()}. */
    public static Mask fromRle(int width, int height, int[] counts) {
        checkSize(width, height);
        long total = (long) width * height;
        long[] bits = new long[words(width, height)];
        long pos = 0;
        boolean on = false;
        for (int c : counts) {
            if (c < 0 || pos + c > total) {
                throw new InvalidArgumentException("RLE counts exceed " + width + "x" + height + " or are negative");
            }
            if (on) {
                for (long i = pos; i < pos + c; i++) {
                    long x = i / height;
                    long y = i % height;
                    long bit = y * width + x;
                    bits[(int) (bit >>> 6)] |= 1L << bit;
                }
            }
            pos += c;
            on = !on;
        }
        if (pos != total) {
            throw new InvalidArgumentException("RLE counts sum to " + pos + ", expected " + total);
        }
        return new Mask(width, height, bits);
    }

    private static void checkSize(int width, int height) {
        if (width < 1 || height < 1 || (long) width * height > (long) Integer.MAX_VALUE) {
            throw new InvalidArgumentException("mask size " + width + "x" + height + " is not supported");
        }
    }

    private static int words(int width, int height) {
        return (int) (((long) width * height + 63) >>> 6);
    }

    /** Image width in pixels. */
    public int width() {
        return width;
    }

    /** Image height in pixels. */
    public int height() {
        return height;
    }

    /** Whether pixel (x, y) is inside the object; false for coordinates outside the image. */
    public boolean contains(int x, int y) {
        if (x < 0 || y < 0 || x >= width || y >= height) {
            return false;
        }
        long i = (long) y * width + x;
        return (bits[(int) (i >>> 6)] & (1L << i)) != 0;
    }

    /** Number of pixels inside. */
    public int area() {
        return area;
    }

    /** The tightest box around the set pixels (end-exclusive), empty for an empty mask. */
    public Optional<Box> boundingBox() {
        if (area == 0) {
            return Optional.empty();
        }
        int x1 = width;
        int y1 = height;
        int x2 = -1;
        int y2 = -1;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                if (contains(x, y)) {
                    x1 = Math.min(x1, x);
                    x2 = Math.max(x2, x);
                    y1 = Math.min(y1, y);
                    y2 = Math.max(y2, y);
                }
            }
        }
        return Optional.of(new Box(x1, y1, x2 + 1, y2 + 1));
    }

    /**
     * COCO's uncompressed run-length encoding: pixels in column-major order (down each column, then the
     * next column to the right, as COCO stores Fortran-order masks), alternating run lengths starting with
     * a run of outside pixels (0 if the first pixel is inside). Together with {@code size = [height, width]}
     * this is COCO's {@code {"size": [h, w], "counts": [...]}}.
     */
    public int[] toRle() {
        List<Integer> runs = new ArrayList<>();
        boolean current = false;
        int run = 0;
        for (int x = 0; x < width; x++) {
            for (int y = 0; y < height; y++) {
                boolean v = contains(x, y);
                if (v != current) {
                    runs.add(run);
                    run = 0;
                    current = v;
                }
                run++;
            }
        }
        runs.add(run);
        return runs.stream().mapToInt(Integer::intValue).toArray();
    }

    /** {@link #toRle()} as COCO JSON: {@code {"size":[h,w],"counts":[...]}}. */
    public String toRleJson() {
        StringBuilder sb = new StringBuilder("{\"size\":[").append(height).append(',').append(width).append("],\"counts\":[");
        int[] rle = toRle();
        for (int i = 0; i < rle.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(rle[i]);
        }
        return sb.append("]}").toString();
    }

    /** Writes a 1-bit grayscale PNG (inside = white) to {@code path}. */
    public void toPng(Path path) {
        try (OutputStream out = Files.newOutputStream(path)) {
            writePng(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write mask PNG " + path, e);
        }
    }

    /** Writes a 1-bit grayscale PNG (inside = white); does not close {@code out}. */
    public void writePng(OutputStream out) throws IOException {
        DataOutputStream data = new DataOutputStream(out);
        data.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(ihdr);
        h.writeInt(width);
        h.writeInt(height);
        h.writeByte(1);  // bit depth
        h.writeByte(0);  // grayscale
        h.writeByte(0);  // deflate
        h.writeByte(0);  // adaptive filtering, every row uses filter 0
        h.writeByte(0);  // no interlace
        chunk(data, "IHDR", ihdr.toByteArray());
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        try (DeflaterOutputStream z = new DeflaterOutputStream(idat)) {
            byte[] row = new byte[1 + (width + 7) / 8];
            for (int y = 0; y < height; y++) {
                Arrays.fill(row, (byte) 0);
                for (int x = 0; x < width; x++) {
                    if (contains(x, y)) {
                        row[1 + (x >>> 3)] |= (byte) (0x80 >>> (x & 7));
                    }
                }
                z.write(row);
            }
        }
        chunk(data, "IDAT", idat.toByteArray());
        chunk(data, "IEND", new byte[0]);
        data.flush();
    }

    private static void chunk(DataOutputStream out, String type, byte[] body) throws IOException {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeInt(body.length);
        out.write(t);
        out.write(body);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(body);
        out.writeInt((int) crc.getValue());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Mask m && m.width == width && m.height == height && Arrays.equals(m.bits, bits);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(bits);
    }

    @Override
    public String toString() {
        return "Mask[" + width + "x" + height + ", area=" + area + "]";
    }
}
