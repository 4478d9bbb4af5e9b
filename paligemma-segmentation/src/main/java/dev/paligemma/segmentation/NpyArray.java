package dev.paligemma.segmentation;

import dev.paligemma.core.CheckpointException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One array read from a {@code .npy} stream: C-order, little-endian data of a supported {@link NpyDType}.
 * Immutable; the conversions return fresh arrays.
 */
public final class NpyArray {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy itself refuses headers above 10000 bytes unless told otherwise; a little slack is harmless. */
    private static final int MAX_HEADER_BYTES = 1 << 16;
    /** Java arrays are int-indexed; an array beyond this cannot be held and is refused before allocation. */
    private static final long MAX_DATA_BYTES = Integer.MAX_VALUE - 64;
    private static final int FIRST_CHUNK = 1 << 20;

    private final String name;
    private final NpyDType dtype;
    private final long[] shape;
    private final byte[] data;

    private NpyArray(String name, NpyDType dtype, long[] shape, byte[] data) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
    }

    /**
     * Reads one {@code .npy} stream. Never reads past the data its header declares, and allocates only as
     * real bytes arrive, so a lying header or a zip bomb cannot force a large allocation.
     *
     * @param where        the file (and entry) for error messages
     * @param declaredSize the stream length if known (e.g. the zip entry size), else -1
     */
    static NpyArray read(String name, InputStream in, String where, long declaredSize) throws IOException {
        return read(name, in, where, declaredSize, MAX_DATA_BYTES);
    }

    /**
     * As {@link #read(String, InputStream, String, long)}, refusing before reading any data an array whose
     * header claims more than {@code maxDataBytes} bytes.
     */
    static NpyArray read(String name, InputStream in, String where, long declaredSize, long maxDataBytes) throws IOException {
        byte[] magic = in.readNBytes(MAGIC.length + 2);
        if (magic.length < MAGIC.length + 2 || !Arrays.equals(magic, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new CheckpointException(where + ": not a .npy array (bad magic)");
        }
        int major = magic[6] & 0xff;
        int lenBytes = switch (major) {
            case 1 -> 2;
            case 2, 3 -> 4;
            default -> throw new CheckpointException(where + ": unsupported .npy format version " + major + "." + (magic[7] & 0xff));
        };
        byte[] lenField = in.readNBytes(lenBytes);
        if (lenField.length < lenBytes) {
            throw new CheckpointException(where + ": truncated .npy header");
        }
        long headerLen = lenBytes == 2
                ? ByteBuffer.wrap(lenField).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffffL
                : ByteBuffer.wrap(lenField).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
        if (headerLen > MAX_HEADER_BYTES) {
            throw new CheckpointException(where + ": .npy header length " + headerLen + " exceeds " + MAX_HEADER_BYTES);
        }
        byte[] headerBytes = in.readNBytes((int) headerLen);
        if (headerBytes.length < headerLen) {
            throw new CheckpointException(where + ": truncated .npy header (" + headerBytes.length + " of " + headerLen + " bytes)");
        }
        String headerText = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        NpyHeader header = NpyHeader.parse(headerText, where);

        NpyDType dtype = NpyDType.forDescr(header.descr());
        if (dtype == null) {
            if (header.descr().contains("O")) {
                throw new CheckpointException(where + ": object array (dtype '" + header.descr()
                        + "') needs Python pickle; refused, only numeric arrays are read");
            }
            throw new CheckpointException(where + ": unsupported dtype '" + header.descr()
                    + "' (supported: <f4, <f2, <i4, |u1)");
        }
        if (header.fortranOrder()) {
            throw new CheckpointException(where + ": fortran_order arrays are not supported; save it in C order");
        }
        long count = 1;
        try {
            for (long d : header.shape()) {
                count = Math.multiplyExact(count, d);
            }
            long bytes = Math.multiplyExact(count, (long) dtype.itemSize());
            if (bytes > MAX_DATA_BYTES) {
                throw new CheckpointException(where + ": shape " + Arrays.toString(header.shape()) + " needs "
                        + bytes + " bytes, more than one array can hold");
            }
            if (bytes > maxDataBytes) {
                throw new CheckpointException(where + ": shape " + Arrays.toString(header.shape()) + " needs "
                        + bytes + " bytes, more than the " + maxDataBytes + " bytes left of the archive's limit");
            }
            long prefix = MAGIC.length + 2L + lenBytes + headerLen;
            if (declaredSize >= 0 && declaredSize != prefix + bytes) {
                throw new CheckpointException(where + ": shape " + Arrays.toString(header.shape()) + " of " + header.descr()
                        + " needs " + bytes + " data bytes but the entry holds " + (declaredSize - prefix));
            }
            byte[] data = readCapped(in, (int) bytes);
            if (data.length < bytes) {
                throw new CheckpointException(where + ": truncated data: " + data.length + " of " + bytes
                        + " bytes for shape " + Arrays.toString(header.shape()));
            }
            if (in.read() != -1) {
                throw new CheckpointException(where + ": more data than shape " + Arrays.toString(header.shape())
                        + " of " + header.descr() + " declares");
            }
            return new NpyArray(name, dtype, header.shape().clone(), data);
        } catch (ArithmeticException e) {
            throw new CheckpointException(where + ": shape " + Arrays.toString(header.shape()) + " overflows", e);
        }
    }

    /** Reads up to {@code limit} bytes, growing the buffer only as data actually arrives. */
    private static byte[] readCapped(InputStream in, int limit) throws IOException {
        byte[] buf = new byte[Math.min(limit, FIRST_CHUNK)];
        int n = 0;
        while (n < limit) {
            if (n == buf.length) {
                buf = Arrays.copyOf(buf, (int) Math.min(limit, 2L * buf.length));
            }
            int r = in.read(buf, n, buf.length - n);
            if (r < 0) {
                break;
            }
            n += r;
        }
        return n == buf.length ? buf : Arrays.copyOf(buf, n);
    }

    /** The array's name (the zip entry name without {@code .npy}). */
    public String name() {
        return name;
    }

    /** Element type. */
    public NpyDType dtype() {
        return dtype;
    }

    /** Shape (a copy). */
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public long size() {
        return data.length / dtype.itemSize();
    }

    /** All elements as float32 (float16 and integers converted exactly where representable). */
    public float[] toFloatArray() {
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) size();
        float[] out = new float[n];
        switch (dtype) {
            case F4 -> b.asFloatBuffer().get(out);
            case F2 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(b.getShort(2 * i));
                }
            }
            case I4 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = b.getInt(4 * i);
                }
            }
            case U1 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data[i] & 0xff;
                }
            }
        }
        return out;
    }

    /** All elements as int32; only for integer dtypes. */
    public int[] toIntArray() {
        int n = (int) size();
        int[] out = new int[n];
        switch (dtype) {
            case I4 -> ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
            case U1 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data[i] & 0xff;
                }
            }
            default -> throw new CheckpointException("array '" + name + "' is " + dtype.descr() + ", not an integer array");
        }
        return out;
    }

    @Override
    public String toString() {
        return name + " " + dtype.descr() + " " + Arrays.toString(shape);
    }
}
