package dev.paligemma.core;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The weights of a checkpoint directory: a single {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json}. Each file is mapped once into an arena this object owns;
 * tensors are zero-copy slices, valid until {@link #close()}. Names are looked up in canonical
 * (hub) form whatever spelling the files use (see {@link TensorNames}).
 *
 * <p>Thread-safe for reading.
 */
public final class Checkpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path directory;
    private final Arena arena;
    private final List<SafetensorsFile> files;
    private final Map<String, Tensor> tensors;

    private Checkpoint(Path directory, Arena arena, List<SafetensorsFile> files, Map<String, Tensor> tensors) {
        this.directory = directory;
        this.arena = arena;
        this.files = files;
        this.tensors = tensors;
    }

    /** Opens and validates every weight file of {@code directory}. */
    public static Checkpoint open(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new CheckpointException(directory + ": checkpoint directory not found");
        }
        Arena arena = Arena.ofShared();
        try {
            return load(directory, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Checkpoint load(Path dir, Arena arena) {
        Path single = dir.resolve(SINGLE_FILE);
        Path index = dir.resolve(INDEX_FILE);
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        if (Files.isRegularFile(single)) {
            SafetensorsFile f = SafetensorsFile.open(single, arena, false);
            files.add(f);
            addAll(f, tensors);
        } else if (Files.isRegularFile(index)) {
            Map<String, String> weightMap = readIndex(index);
            Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
            for (String shard : new java.util.LinkedHashSet<>(weightMap.values())) {
                if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..") || shard.equals(".")
                        || shard.chars().anyMatch(c -> c < 0x20 || c == 0x7F)) {
                    throw new CheckpointException(index + ": shard name '" + shard.replaceAll("\\p{Cntrl}", "?")
                            + "' is not a plain file name");
                }
                Path p;
                try {
                    p = dir.resolve(shard);
                } catch (java.nio.file.InvalidPathException e) {
                    throw new CheckpointException(index + ": shard name '" + shard + "' is not a valid file name here", e);
                }
                if (!Files.isRegularFile(p)) {
                    throw new CheckpointException(index + ": shard '" + shard + "' named by the index is missing from " + dir);
                }
                SafetensorsFile f = SafetensorsFile.open(p, arena, false);
                shards.put(shard, f);
                files.add(f);
            }
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                SafetensorsFile f = shards.get(e.getValue());
                if (!f.tensors().containsKey(e.getKey())) {
                    throw new CheckpointException(f.path() + ": tensor '" + e.getKey() + "' is listed by " + INDEX_FILE
                            + " but not present in this shard");
                }
            }
            for (SafetensorsFile f : files) {
                addAll(f, tensors);
            }
        } else {
            throw new CheckpointException(dir + ": no weights found (expected " + SINGLE_FILE + " or " + INDEX_FILE + ")");
        }
        return new Checkpoint(dir, arena, List.copyOf(files), Collections.unmodifiableMap(tensors));
    }

    private static void addAll(SafetensorsFile f, Map<String, Tensor> into) {
        for (Tensor t : f.tensors().values()) {
            String canonical = TensorNames.canonical(t.name());
            if (into.containsKey(canonical)) {
                throw new CheckpointException(f.path() + ": tensor '" + t.name() + "' duplicates '" + into.get(canonical).name()
                        + "' (" + into.get(canonical).source() + ")");
            }
            into.put(canonical, t);
        }
    }

    private static Map<String, String> readIndex(Path index) {
        String text;
        try {
            if (Files.size(index) > SafetensorsFile.MAX_HEADER_BYTES) {
                throw new CheckpointException(index + ": index file is implausibly large");
            }
            text = Files.readString(index, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(index + ": file not found", e);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new CheckpointException(index + ": cannot read: " + e.getMessage(), e);
        }
        Object parsed;
        try {
            parsed = Json.parse(text);
        } catch (Json.JsonException e) {
            throw new CheckpointException(index + ": " + e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?> root) || !(root.get("weight_map") instanceof Map<?, ?> wm)) {
            throw new CheckpointException(index + ": missing object 'weight_map'");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : wm.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw new CheckpointException(index + ": weight_map entry '" + e.getKey() + "' is not a file name");
            }
            out.put((String) e.getKey(), s);
        }
        if (out.isEmpty()) {
            throw new CheckpointException(index + ": weight_map is empty");
        }
        return out;
    }

    public Path directory() {
        return directory;
    }

    /** Canonical names of every tensor. */
    public Set<String> names() {
        return tensors.keySet();
    }

    /** All tensors by canonical name. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The tensor with canonical name {@code name}, if present. */
    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The tensor with canonical name {@code name}, or a {@link CheckpointException} naming it and the directory. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException(directory + ": missing tensor '" + name + "'");
        }
        return t;
    }

    /** The mapped files (one, or each shard). */
    public List<SafetensorsFile> files() {
        return files;
    }

    /**
     * Throws a {@link CheckpointException} naming the first weight file that is gone or whose size or
     * modification time changed since this checkpoint was opened. Model code calls this at the start of
     * each call: a read from a mapping whose file was truncated faults with SIGBUS, which the JVM turns
     * into an {@link InternalError} for plain segment accesses but which kills the JVM when it happens
     * inside C2-compiled Vector API code. A stat per file costs microseconds.
     */
    public void verifyUnchanged() {
        for (SafetensorsFile f : files) {
            f.verifyUnchanged();
        }
    }

    /**
     * Runs {@code body}, which reads this checkpoint's weights, translating a fault on the mapping (the
     * {@link InternalError} HotSpot raises when a mapped file was truncated underneath, possibly wrapped
     * by a worker pool) into a {@link CheckpointException} naming the file that changed. Checks
     * {@link #verifyUnchanged()} first. This protects against a file changing before or between calls and
     * during scalar reads; a truncation racing with vectorised kernels can still crash the JVM (see
     * docs/reliability.md).
     */
    public <T> T guard(java.util.function.Supplier<T> body) {
        verifyUnchanged();
        try {
            return body.get();
        } catch (RuntimeException | InternalError e) {
            InternalError fault = mappingFault(e);
            if (fault == null) {
                throw e;
            }
            verifyUnchanged();
            throw new CheckpointException(directory + ": a weight read faulted (" + fault.getMessage()
                    + "); a weight file was probably truncated or replaced while in use", fault);
        }
    }

    /** {@link #guard(java.util.function.Supplier)} for bodies without a result. */
    public void guard(Runnable body) {
        guard(() -> {
            body.run();
            return null;
        });
    }

    /** The fault HotSpot raises for an access to a mapping whose file shrank, found anywhere in {@code t}'s causes. */
    static InternalError mappingFault(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof InternalError ie && ie.getMessage() != null && ie.getMessage().contains("unsafe memory access")) {
                return ie;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return null;
    }

    /** Total bytes of all weight files. */
    public long byteSize() {
        long n = 0;
        for (SafetensorsFile f : files) {
            n += f.byteSize();
        }
        return n;
    }

    @Override
    public void close() {
        arena.close();
    }
}
