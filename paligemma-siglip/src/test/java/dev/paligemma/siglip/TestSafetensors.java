package dev.paligemma.siglip;

import dev.paligemma.core.SafetensorsFile;
import dev.paligemma.core.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Minimal safetensors writer for building broken checkpoints in tests. */
final class TestSafetensors {
    private TestSafetensors() {
    }

    /** Copies every file of {@code src} into {@code dst} (flat directories only). */
    static void copyDir(Path src, Path dst) throws IOException {
        Files.createDirectories(dst);
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) {
                Files.copy(f, dst.resolve(f.getFileName()));
            }
        }
    }

    /**
     * Rewrites {@code file} in place: tensors in {@code drop} are left out, tensors in {@code reshape} get
     * the new shape (same element count, so the file itself stays valid), everything else is copied.
     */
    static void rewrite(Path file, Map<String, long[]> reshape, Set<String> drop) throws IOException {
        List<String> names = new ArrayList<>();
        List<byte[]> data = new ArrayList<>();
        List<String> entries = new ArrayList<>();
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            long offset = 0;
            for (Tensor t : in.tensors().values()) {
                if (drop.contains(t.name())) {
                    continue;
                }
                long[] shape = reshape.getOrDefault(t.name(), t.shape());
                byte[] bytes = t.segment().toArray(ValueLayout.JAVA_BYTE);
                names.add(t.name());
                data.add(bytes);
                entries.add("\"" + t.name() + "\":{\"dtype\":\"" + t.dtype().name() + "\",\"shape\":["
                        + Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(","))
                        + "],\"data_offsets\":[" + offset + "," + (offset + bytes.length) + "]}");
                offset += bytes.length;
            }
        }
        byte[] header = ("{" + String.join(",", entries) + "}").getBytes(StandardCharsets.UTF_8);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            out.write(header);
            for (byte[] b : data) {
                out.write(b);
            }
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
