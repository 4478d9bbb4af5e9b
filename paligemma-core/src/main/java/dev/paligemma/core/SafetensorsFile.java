package dev.paligemma.core;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code .safetensors} file, memory-mapped once. The header is validated in full before any
 * tensor is handed out: its length lies inside the file, it is well-formed JSON, every dtype is
 * known, every shape's byte span equals its offsets' span, and the spans lie inside the data area
 * without overlapping. Tensors are zero-copy slices of the mapping, valid until {@link #close()}.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers above this are refused: real ones are well under a megabyte per thousand tensors. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;
    /** Size and modification time when mapped: a file changed under its mapping can fault on access. */
    private final long mappedSize;
    private final java.nio.file.attribute.FileTime mappedModified;

    private SafetensorsFile(Path path, Arena arena, MemorySegment mapping, Map<String, Tensor> tensors,
                            Map<String, String> metadata, java.nio.file.attribute.FileTime modified) {
        this.path = path;
        this.mappedSize = mapping.byteSize();
        this.mappedModified = modified;
        this.arena = arena;
        this.mapping = mapping;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Maps and validates {@code file}; the returned object owns the mapping. */
    public static SafetensorsFile open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            return open(file, arena, true);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Maps {@code file} into {@code arena}; closing this object closes the arena only if {@code ownsArena}. */
    static SafetensorsFile open(Path file, Arena arena, boolean ownsArena) {
        MemorySegment map;
        java.nio.file.attribute.FileTime modified;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            modified = Files.getLastModifiedTime(file);
            long size = ch.size();
            if (size < 8) {
                throw new CheckpointException(file + ": not a safetensors file (" + size + " bytes, shorter than the 8-byte header length)");
            }
            map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            // before any page is touched: pages not yet cached are then read in 2 MB folios and mapped whole
            HugePages.advise(map);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file + ": file not found", e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
        long headerLen = map.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        long fileSize = map.byteSize();
        if (headerLen <= 0 || headerLen > fileSize - 8 || headerLen > MAX_HEADER_BYTES) {
            throw new CheckpointException(file + ": header length " + Long.toUnsignedString(headerLen)
                    + " does not fit the file (" + fileSize + " bytes); truncated or not a safetensors file");
        }
        byte[] headerBytes = map.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        Object parsed;
        try {
            parsed = Json.parse(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (Json.JsonException e) {
            throw new CheckpointException(file + ": header is not valid JSON: " + e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?> header)) {
            throw new CheckpointException(file + ": header is not a JSON object");
        }
        long dataStart = 8 + headerLen;
        long dataSize = fileSize - dataStart;
        MemorySegment data = map.asSlice(dataStart, dataSize);
        String source = file.getFileName().toString();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        List<long[]> spans = new ArrayList<>();
        List<String> spanNames = new ArrayList<>();
        for (Map.Entry<?, ?> e : header.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals("__metadata__")) {
                if (e.getValue() instanceof Map<?, ?> meta) {
                    for (Map.Entry<?, ?> m : meta.entrySet()) {
                        metadata.put((String) m.getKey(), String.valueOf(m.getValue()));
                    }
                } else if (e.getValue() != null) {
                    throw new CheckpointException(file + ": __metadata__ is not an object");
                }
                continue;
            }
            if (!(e.getValue() instanceof Map<?, ?> info)) {
                throw new CheckpointException(file + ": tensor '" + name + "': header entry is not an object");
            }
            if (!(info.get("dtype") instanceof String dtypeName)) {
                throw new CheckpointException(file + ": tensor '" + name + "': missing or non-string dtype");
            }
            DType dtype = DType.fromSafetensors(dtypeName).orElseThrow(() ->
                    new CheckpointException(file + ": tensor '" + name + "': unknown dtype '" + dtypeName + "'"));
            long[] shape = longs(info.get("shape"), file, name, "shape", -1);
            long[] offsets = longs(info.get("data_offsets"), file, name, "data_offsets", 2);
            long begin = offsets[0];
            long end = offsets[1];
            if (begin > end || end > dataSize) {
                throw new CheckpointException(file + ": tensor '" + name + "': data_offsets [" + begin + ", " + end
                        + "] lie outside the data area of " + dataSize + " bytes");
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(Tensor.elementCount(shape), dtype.byteSize());
            } catch (ArithmeticException overflow) {
                throw new CheckpointException(file + ": tensor '" + name + "': shape " + java.util.Arrays.toString(shape) + " overflows");
            }
            if (bytes != end - begin) {
                throw new CheckpointException(file + ": tensor '" + name + "': shape " + java.util.Arrays.toString(shape)
                        + " x " + dtype + " is " + bytes + " bytes but data_offsets span " + (end - begin));
            }
            spans.add(new long[] {begin, end});
            spanNames.add(name);
            tensors.put(name, new Tensor(name, dtype, shape, data.asSlice(begin, end - begin), source));
        }
        checkOverlap(file, spans, spanNames);
        return new SafetensorsFile(file, ownsArena ? arena : null, map,
                Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata), modified);
    }

    private static void checkOverlap(Path file, List<long[]> spans, List<String> names) {
        Integer[] order = new Integer[spans.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.comparingLong((Integer i) -> spans.get(i)[0]).thenComparingLong(i -> spans.get(i)[1]));
        long prevEnd = 0;
        String prevName = null;
        for (Integer i : order) {
            long[] s = spans.get(i);
            if (s[0] == s[1]) {
                continue; // empty tensors occupy no bytes
            }
            if (s[0] < prevEnd) {
                throw new CheckpointException(file + ": tensor '" + names.get(i) + "' overlaps tensor '" + prevName + "'");
            }
            prevEnd = s[1];
            prevName = names.get(i);
        }
    }

    private static long[] longs(Object v, Path file, String tensor, String field, int requiredLength) {
        if (!(v instanceof List<?> list) || (requiredLength >= 0 && list.size() != requiredLength) || list.size() > 16) {
            throw new CheckpointException(file + ": tensor '" + tensor + "': " + field + " must be "
                    + (requiredLength >= 0 ? "a list of " + requiredLength + " integers" : "a list of at most 16 integers"));
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Long l) || l < 0) {
                throw new CheckpointException(file + ": tensor '" + tensor + "': " + field + " holds " + list.get(i)
                        + ", not a non-negative integer");
            }
            out[i] = l;
        }
        return out;
    }

    public Path path() {
        return path;
    }

    /** Byte offset in this file of {@code t}'s data, or -1 if {@code t} is not one of this file's tensors. */
    long offsetOf(Tensor t) {
        MemorySegment seg = t.segment();
        if (!seg.isNative() || !mapping.scope().equals(seg.scope())) {
            return -1;
        }
        long off = seg.address() - mapping.address();
        return off >= 0 && off + seg.byteSize() <= mapping.byteSize() ? off : -1;
    }

    /** Tensors by their name in this file, in header order. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The named tensor, or a {@link CheckpointException} naming the file and tensor. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException(path + ": no tensor '" + name + "'");
        }
        return t;
    }

    /** The header's {@code __metadata__} entries. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Throws a {@link CheckpointException} naming this file if it is gone or its size or modification
     * time differ from when it was mapped. Reading a mapping whose file was truncated faults (SIGBUS);
     * checking first turns that into an error before any weight is touched.
     */
    public void verifyUnchanged() {
        long size;
        java.nio.file.attribute.FileTime modified;
        try {
            size = Files.size(path);
            modified = Files.getLastModifiedTime(path);
        } catch (IOException e) {
            throw new CheckpointException(path + ": weight file is no longer readable since it was opened: " + e, e);
        }
        if (size != mappedSize) {
            throw new CheckpointException(path + ": weight file changed size since it was opened (" + mappedSize
                    + " -> " + size + " bytes); reopen the checkpoint");
        }
        if (!modified.equals(mappedModified)) {
            throw new CheckpointException(path + ": weight file was modified since it was opened (" + mappedModified
                    + " -> " + modified + "); reopen the checkpoint");
        }
    }

    /** Size of the mapped file in bytes. */
    public long byteSize() {
        return mapping.byteSize();
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
        }
    }
}
