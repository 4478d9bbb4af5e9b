package dev.paligemma.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a {@code .safetensors} file, streaming each tensor's elements through a 2 MB buffer to a
 * {@link FileChannel} in whole blocks ({@link #BLOCK_BYTES}), so files of many gigabytes never sit in memory.
 * The header is padded with spaces so the data starts at a multiple of 8 bytes, as the reference library does. Float data is converted
 * to the stored type: F32 as is, BF16 rounded to nearest even (as torch does, NaN kept quiet), F16 by
 * {@link Float#floatToFloat16}. The file appears under its name only once complete (written to a
 * sibling temporary file, then moved).
 */
public final class SafetensorsWriter {
    /**
     * Bytes per write. Linux's page cache keeps a file written in whole, aligned 2 MB writes in 2 MB folios,
     * which a mapping can then map 2 MB at a time (see {@link HugePages}); with 1 MB writes none of a 1 GB file
     * was (measured on ext4, kernel 6.18). The Q8 and column-panel caches are written here and then streamed by
     * every decode step.
     */
    static final int BLOCK_BYTES = 2 << 20;

    private SafetensorsWriter() {
    }

    /** Supplies one tensor's elements in row-major order, in as many calls to the sink as it likes. */
    @FunctionalInterface
    public interface Filler {
        void fill(Sink sink) throws IOException;
    }

    /** Receives a tensor's elements and converts them to its stored dtype. */
    public interface Sink {
        /** Float elements, for F32, BF16 and F16 tensors. */
        void putFloats(float[] src, int offset, int length) throws IOException;

        /** Integer elements, for I32 and U8 tensors (U8 values must lie in 0..255). */
        void putInts(int[] src, int offset, int length) throws IOException;

        /** Raw little-endian bytes already in the stored dtype (any dtype). */
        void putBytes(byte[] src, int offset, int length) throws IOException;
    }

    /**
     * One tensor to write.
     *
     * @param name   the name stored in the header
     * @param dtype  the stored element type
     * @param shape  dimensions, row-major
     * @param filler writes exactly {@code product(shape)} elements
     */
    public record Entry(String name, DType dtype, long[] shape, Filler filler) {
        public Entry {
            if (name == null || name.isEmpty() || name.equals("__metadata__")) {
                throw new InvalidArgumentException("tensor name '" + name + "' is not allowed");
            }
            if (dtype == null || filler == null) {
                throw new InvalidArgumentException("tensor '" + name + "': dtype and filler are required");
            }
            if (dtype == DType.Q8) {
                throw new InvalidArgumentException("tensor '" + name + "': Q8 is not a safetensors dtype; store its values as I8 and scales as F16");
            }
            shape = shape.clone();
            try {
                Math.multiplyExact(Tensor.elementCount(shape), dtype.byteSize());
            } catch (ArithmeticException overflow) {
                throw new InvalidArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " overflows");
            }
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        long elements() {
            return Tensor.elementCount(shape);
        }

        long byteSize() {
            return elements() * dtype.byteSize();
        }
    }

    /** A tensor whose elements are {@code values}, stored as {@code dtype} (F32, BF16 or F16). */
    public static Entry floats(String name, DType dtype, long[] shape, float[] values) {
        float[] copy = values.clone();
        return new Entry(name, dtype, shape, sink -> sink.putFloats(copy, 0, copy.length));
    }

    /** A tensor whose elements are {@code values}, stored as {@code dtype} (I32 or U8). */
    public static Entry ints(String name, DType dtype, long[] shape, int[] values) {
        int[] copy = values.clone();
        return new Entry(name, dtype, shape, sink -> sink.putInts(copy, 0, copy.length));
    }

    /** An existing tensor (for instance a checkpoint's) converted to {@code dtype} (F32, BF16 or F16), chunk by chunk. */
    public static Entry of(String name, Tensor source, DType dtype) {
        return new Entry(name, dtype, source.shape(), sink -> {
            float[] chunk = new float[64 * 1024];
            long n = source.size();
            for (long i = 0; i < n; i += chunk.length) {
                int len = (int) Math.min(chunk.length, n - i);
                source.toFloats(i, chunk, 0, len);
                sink.putFloats(chunk, 0, len);
            }
        });
    }

    /** Writes {@code tensors} (in order) and optional {@code metadata} (may be empty) to {@code file}. */
    public static void write(Path file, List<Entry> tensors, Map<String, String> metadata) {
        String header = header(tensors, metadata);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        boolean done = false;
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeTo(ch, file, header, tensors);
            done = true;
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot write: " + e.getMessage(), e);
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the original error matters more
                }
            }
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot move finished file into place: " + e.getMessage(), e);
        }
    }

    /**
     * The file's bytes into {@code ch} from its start: every write but the last is one whole block of
     * {@link #BLOCK_BYTES}, so each starts at a multiple of 2 MB in the file.
     */
    static void writeTo(WritableByteChannel ch, Path file, String header, List<Entry> tensors) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7;
        ByteBuffer buf = ByteBuffer.allocateDirect(BLOCK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(padded);
        ChannelSink sink = new ChannelSink(ch, buf, file);
        sink.putBytesRaw(json, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            sink.putRaw((byte) ' ');
        }
        for (Entry e : tensors) {
            sink.begin(e);
            e.filler().fill(sink);
            sink.end();
        }
        sink.flush();
    }

    static String header(List<Entry> tensors, Map<String, String> metadata) {
        StringBuilder sb = new StringBuilder("{");
        if (metadata != null && !metadata.isEmpty()) {
            sb.append("\"__metadata__\":{");
            boolean first = true;
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                Json.quote(sb, m.getKey());
                sb.append(':');
                Json.quote(sb, m.getValue());
            }
            sb.append('}');
            if (!tensors.isEmpty()) {
                sb.append(',');
            }
        }
        Set<String> seen = new HashSet<>();
        long offset = 0;
        for (int i = 0; i < tensors.size(); i++) {
            Entry e = tensors.get(i);
            if (!seen.add(e.name())) {
                throw new InvalidArgumentException("tensor '" + e.name() + "' is listed twice");
            }
            if (i > 0) {
                sb.append(',');
            }
            Json.quote(sb, e.name());
            sb.append(":{\"dtype\":\"").append(e.dtype().name()).append("\",\"shape\":[");
            long[] shape = e.shape;
            for (int d = 0; d < shape.length; d++) {
                sb.append(d > 0 ? "," : "").append(shape[d]);
            }
            long end = offset + e.byteSize();
            sb.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
        }
        return sb.append('}').toString();
    }

    /** bfloat16 bits of {@code f}, rounded to nearest even; NaN becomes the quiet NaN 0x7FC0 (torch's rule). */
    public static short toBFloat16(float f) {
        if (Float.isNaN(f)) {
            return (short) 0x7FC0;
        }
        int bits = Float.floatToRawIntBits(f);
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    private static final class ChannelSink implements Sink {
        private final WritableByteChannel ch;
        private final ByteBuffer buf;
        private final Path file;
        private Entry current;
        private long remainingBytes;

        ChannelSink(WritableByteChannel ch, ByteBuffer buf, Path file) {
            this.ch = ch;
            this.buf = buf;
            this.file = file;
        }

        void begin(Entry e) {
            current = e;
            remainingBytes = e.byteSize();
        }

        void end() {
            if (remainingBytes != 0) {
                throw new InvalidArgumentException(file + ": tensor '" + current.name() + "' got "
                        + (current.byteSize() - remainingBytes) + " of its " + current.byteSize() + " bytes");
            }
            current = null;
        }

        private void take(long bytes) {
            if (current == null) {
                throw new InvalidArgumentException(file + ": data written outside a tensor's filler");
            }
            if (bytes > remainingBytes) {
                throw new InvalidArgumentException(file + ": tensor '" + current.name() + "' was given more than its "
                        + current.byteSize() + " bytes");
            }
            remainingBytes -= bytes;
        }

        /** Flushes a full buffer: every write but the last is then one whole, aligned block. */
        private void room() throws IOException {
            if (!buf.hasRemaining()) {
                flush();
            }
        }

        /** The low {@code bytes} (1, 2 or 4) bytes of {@code v}, little-endian, split across blocks if need be. */
        private void putLittleEndian(int v, int bytes) throws IOException {
            if (buf.remaining() >= bytes) {
                switch (bytes) {
                    case 4 -> buf.putInt(v);
                    case 2 -> buf.putShort((short) v);
                    default -> buf.put((byte) v);
                }
                return;
            }
            for (int i = 0; i < bytes; i++) {
                room();
                buf.put((byte) (v >>> (8 * i)));
            }
        }

        void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            buf.clear();
        }

        void putRaw(byte b) throws IOException {
            room();
            buf.put(b);
        }

        void putBytesRaw(byte[] src, int off, int len) throws IOException {
            while (len > 0) {
                room();
                int n = Math.min(len, buf.remaining());
                buf.put(src, off, n);
                off += n;
                len -= n;
            }
        }

        @Override
        public void putFloats(float[] src, int offset, int length) throws IOException {
            java.util.Objects.checkFromIndexSize(offset, length, src.length);
            DType t = current == null ? null : current.dtype();
            if (t != DType.F32 && t != DType.BF16 && t != DType.F16) {
                throw new InvalidArgumentException(file + ": putFloats on tensor "
                        + (current == null ? "(none)" : "'" + current.name() + "' of type " + t));
            }
            take((long) length * t.byteSize());
            for (int i = 0; i < length; i++) {
                float f = src[offset + i];
                switch (t) {
                    case F32 -> putLittleEndian(Float.floatToRawIntBits(f), 4);
                    case BF16 -> putLittleEndian(toBFloat16(f), 2);
                    default -> putLittleEndian(Float.floatToFloat16(f), 2);
                }
            }
        }

        @Override
        public void putInts(int[] src, int offset, int length) throws IOException {
            java.util.Objects.checkFromIndexSize(offset, length, src.length);
            DType t = current == null ? null : current.dtype();
            if (t != DType.I32 && t != DType.U8) {
                throw new InvalidArgumentException(file + ": putInts on tensor "
                        + (current == null ? "(none)" : "'" + current.name() + "' of type " + t));
            }
            take((long) length * t.byteSize());
            for (int i = 0; i < length; i++) {
                int v = src[offset + i];
                if (t == DType.I32) {
                    putLittleEndian(v, 4);
                } else {
                    if (v < 0 || v > 255) {
                        throw new InvalidArgumentException(file + ": tensor '" + current.name() + "': " + v + " does not fit U8");
                    }
                    putLittleEndian(v, 1);
                }
            }
        }

        @Override
        public void putBytes(byte[] src, int offset, int length) throws IOException {
            java.util.Objects.checkFromIndexSize(offset, length, src.length);
            take(length);
            putBytesRaw(src, offset, length);
        }
    }
}
