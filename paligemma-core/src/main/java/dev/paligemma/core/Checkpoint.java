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
    /** For a {@link #quantized} or {@link #panelled} view: the mapped cache files (checked with the sources). */
    private final List<SafetensorsFile> caches;
    /** For a view: the arenas holding the cache mappings or in-memory Q8 copies, closed with it. */
    private final List<Arena> viewArenas;
    private final boolean quantized;

    private Checkpoint(Path directory, Arena arena, List<SafetensorsFile> files, Map<String, Tensor> tensors) {
        this(directory, arena, files, tensors, List.of(), List.of(), false);
    }

    private Checkpoint(Path directory, Arena arena, List<SafetensorsFile> files, Map<String, Tensor> tensors,
                       List<SafetensorsFile> caches, List<Arena> viewArenas, boolean quantized) {
        this.directory = directory;
        this.arena = arena;
        this.files = files;
        this.tensors = tensors;
        this.caches = caches;
        this.viewArenas = viewArenas;
        this.quantized = quantized;
    }

    /** This view with {@code replaced} tensors, one more cache file (may be null) and the arena that holds it. */
    private Checkpoint view(Map<String, Tensor> replaced, SafetensorsFile cache, Arena holder, boolean q8) {
        Map<String, Tensor> merged = new LinkedHashMap<>(tensors);
        merged.putAll(replaced);
        List<SafetensorsFile> c = new java.util.ArrayList<>(caches);
        if (cache != null) {
            c.add(cache);
        }
        List<Arena> a = new java.util.ArrayList<>(viewArenas);
        a.add(holder);
        return new Checkpoint(directory, arena, files, Collections.unmodifiableMap(merged), List.copyOf(c), List.copyOf(a),
                quantized || q8);
    }

    /**
     * A view of this checkpoint whose weight matrices (rank-2 F32/BF16/F16 tensors: projections, MLPs,
     * token embeddings / output head; not position embeddings) are {@link DType#Q8} block-quantised copies;
     * every other tensor (norms, biases, position and patch embeddings) is this checkpoint's own. The copies
     * come from a cache file under {@code cacheRoot} (see {@link #q8CacheFile}), written on first use and
     * rewritten when the weight files' sizes or modification times no longer match its record; if the cache
     * cannot be written they are made in memory.
     *
     * <p>The view takes over this checkpoint: close the view (which closes both), not this object.
     */
    public Checkpoint quantized(Path cacheRoot) {
        if (quantized) {
            return this;
        }
        Map<String, Tensor> selected = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (Q8Cache.selected(e.getKey(), e.getValue())) {
                selected.put(e.getKey(), e.getValue());
            }
        }
        Arena qa = Arena.ofShared();
        try {
            Q8Cache.Loaded loaded = guard(() -> Q8Cache.load(q8CacheFile(cacheRoot), files, selected, qa));
            return view(loaded.tensors(), loaded.file(), qa, true);
        } catch (RuntimeException e) {
            qa.close();
            throw e;
        }
    }

    /**
     * A view of this checkpoint whose BF16 matrices with long rows (Gemma's MLP down projections: 9216 or 16384
     * columns) are read from a copy stored in column panels ({@link Tensor#panelLength}, {@link Q8#panelLength}):
     * the same values, moved so that a decode step reads each such matrix as one sequential stream per thread
     * with its activations in L1. Every other tensor is this checkpoint's own. The copy is a cache file under
     * {@code cacheRoot} (see {@link #panelCacheFile}), memory-mapped like the checkpoint, written on first use and
     * rewritten when the weight files' sizes or modification times no longer match its record; if it cannot be
     * written the matrices stay as stored (with a warning). A checkpoint without such matrices (F32, F16, Q8, or
     * short rows) comes back unchanged.
     *
     * <p>The view takes over this checkpoint: close the view (which closes both), not this object.
     */
    public Checkpoint panelled(Path cacheRoot) {
        Map<String, Tensor> selected = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (PanelCache.selected(e.getValue())) {
                selected.put(e.getKey(), e.getValue());
            }
        }
        if (selected.isEmpty()) {
            return this;
        }
        Arena pa = Arena.ofShared();
        try {
            Q8Cache.Loaded loaded = guard(() -> PanelCache.load(panelCacheFile(cacheRoot), files, selected, pa));
            if (loaded == null) {
                pa.close();
                return this;
            }
            return view(loaded.tensors(), loaded.file(), pa, false);
        } catch (RuntimeException e) {
            pa.close();
            throw e;
        }
    }

    /** The column-panel cache file of this checkpoint directory under {@code cacheRoot} ({@link #panelled}). */
    public Path panelCacheFile(Path cacheRoot) {
        return PanelCache.location(cacheRoot, directory);
    }

    /** The Q8 cache file of this checkpoint directory under {@code cacheRoot}. */
    public Path q8CacheFile(Path cacheRoot) {
        return Q8Cache.location(cacheRoot, directory);
    }

    /** Whether this is a {@link #quantized} view. */
    public boolean isQuantized() {
        return quantized;
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
        for (SafetensorsFile c : caches) {
            c.verifyUnchanged();
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
        // a quantised view shares the mapping arena with the checkpoint it came from; closing both is harmless
        try {
            if (arena.scope().isAlive()) {
                arena.close();
            }
        } finally {
            for (Arena a : viewArenas) {
                if (a.scope().isAlive()) {
                    a.close();
                }
            }
        }
    }
}
