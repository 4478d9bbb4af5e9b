package dev.paligemma.core;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Q8 copy of a checkpoint's weight matrices, kept as a safetensors file
 * {@code <root>/<hash of the checkpoint directory>/model.q8.safetensors} so later loads map it instead of
 * quantising again. Each quantised matrix {@code name} is stored as an {@code I8} tensor {@code name} and an
 * {@code F16} tensor {@code name.q8_scales} ({@code [rows, blocks]}); a matrix in column panels
 * ({@link Q8#panelLength}) as {@code [panels, rows, panel length]} and {@code [panels, rows, blocks per panel]},
 * the order its bytes are in, except that rows in groups ({@link Q8#rowGroup}) are interleaved block by block.
 * {@code __metadata__} marks the format, version, block size and row group (1 with
 * {@code -Dpaligemma.q8RowGroups=false}) and records every source weight file's name, size and modification
 * time. A cache whose record differs from the files now on disk or from the row group setting, or that lacks a
 * tensor or has another shape, is rewritten; so is one of an older version (version 1 had no panels, version 2
 * no row groups).
 */
final class Q8Cache {
    static final String FILE = "model.q8.safetensors";
    static final String FORMAT = "paligemma-java-q8";
    static final String VERSION = "3";
    static final String SCALES_SUFFIX = ".q8_scales";

    private Q8Cache() {
    }

    /** Canonical names of the tensors a quantised view replaces: float matrices except position embeddings. */
    static boolean selected(String name, Tensor t) {
        return Q8.quantizable(t) && !name.contains("position_embedding");
    }

    /** Where the cache of {@code checkpointDir} lives under {@code root}. */
    static Path location(Path root, Path checkpointDir) {
        Path dir;
        try {
            dir = checkpointDir.toRealPath();
        } catch (IOException e) {
            dir = checkpointDir.toAbsolutePath().normalize();
        }
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(dir.toString().getBytes(StandardCharsets.UTF_8));
            return root.resolve(HexFormat.of().formatHex(h, 0, 8)).resolve(FILE);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every JDK", e);
        }
    }

    /** The record of the source files: name, size and modification time of each, in order. */
    static String sources(List<SafetensorsFile> files) {
        StringBuilder sb = new StringBuilder();
        for (SafetensorsFile f : files) {
            try {
                sb.append(f.path().getFileName()).append(':').append(Files.size(f.path())).append(':')
                        .append(Files.getLastModifiedTime(f.path()).toString()).append(';');
            } catch (IOException e) {
                throw new CheckpointException(f.path() + ": cannot stat weight file: " + e.getMessage(), e);
            }
        }
        return sb.toString();
    }

    /** A cache load's result: the tensors by canonical name and the cache file they map (null if in memory). */
    record Loaded(Map<String, Tensor> tensors, SafetensorsFile file) {
    }

    /**
     * Maps (or first writes) the cache for {@code selected} tensors of a checkpoint into {@code arena}. If the
     * cache cannot be written (read-only home, full disk), quantises into {@code arena} instead.
     */
    static Loaded load(Path cacheFile, List<SafetensorsFile> sourceFiles, Map<String, Tensor> selected, Arena arena) {
        String sources = sources(sourceFiles);
        Loaded cached = tryMap(cacheFile, sources, selected, arena);
        if (cached != null) {
            return cached;
        }
        try {
            Files.createDirectories(cacheFile.getParent());
            write(cacheFile, sources, selected);
        } catch (IOException | CheckpointException e) {
            System.getLogger(Q8Cache.class.getName()).log(System.Logger.Level.WARNING,
                    "cannot write Q8 cache " + cacheFile + " (" + e.getMessage() + "); quantising in memory");
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e2 : selected.entrySet()) {
                out.put(e2.getKey(), Q8.quantize(e2.getValue(), arena));
            }
            return new Loaded(out, null);
        }
        Loaded written = tryMap(cacheFile, sources, selected, arena);
        if (written == null) {
            throw new CheckpointException(cacheFile + ": Q8 cache just written does not validate");
        }
        return written;
    }

    /** The cache's tensors if the file exists and matches the sources and tensors; null if it must be (re)written. */
    static Loaded tryMap(Path cacheFile, String sources, Map<String, Tensor> selected, Arena arena) {
        SafetensorsFile f = openIfCurrent(cacheFile, arena,
                Map.of("format", FORMAT, "version", VERSION, "block", String.valueOf(Q8.BLOCK),
                        "row_group", String.valueOf(Q8.groupSetting()), "sources", sources));
        if (f == null) {
            return null;
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : selected.entrySet()) {
            Tensor src = e.getValue();
            Tensor q = f.tensors().get(e.getKey());
            Tensor s = f.tensors().get(e.getKey() + SCALES_SUFFIX);
            long kc = Q8.panelLength(src.dim(1));
            if (q == null || s == null || q.dtype() != DType.I8 || s.dtype() != DType.F16
                    || !Arrays.equals(q.shape(), valueShape(src, kc)) || !Arrays.equals(s.shape(), scaleShape(src, kc))) {
                return null;
            }
            out.put(e.getKey(), Q8.of(src.name(), src.shape(), kc, q.segment(), s.segment(),
                    cacheFile.getFileName() + " (Q8 of " + src.source() + ")"));
        }
        return new Loaded(out, f);
    }

    /**
     * The cache file mapped into {@code arena} if it exists, parses and its metadata holds every entry of
     * {@code expected}; null if it must be (re)written.
     */
    static SafetensorsFile openIfCurrent(Path cacheFile, Arena arena, Map<String, String> expected) {
        if (!Files.isRegularFile(cacheFile)) {
            return null;
        }
        SafetensorsFile f;
        try {
            f = SafetensorsFile.open(cacheFile, arena, false);
        } catch (CheckpointException corrupt) {
            return null;
        }
        for (Map.Entry<String, String> e : expected.entrySet()) {
            if (!e.getValue().equals(f.metadata().get(e.getKey()))) {
                return null;
            }
        }
        return f;
    }

    /** The stored shape of a matrix's values: its own, or {@code [panels, rows, kc]} in panels of {@code kc}. */
    static long[] valueShape(Tensor src, long kc) {
        long k = src.dim(1);
        return kc == k ? src.shape() : new long[] {k / kc, src.dim(0), kc};
    }

    /** The stored shape of a matrix's scales: {@code [rows, blocks]}, or {@code [panels, rows, blocks per panel]}. */
    static long[] scaleShape(Tensor src, long kc) {
        long k = src.dim(1);
        return kc == k ? new long[] {src.dim(0), Q8.blocks(k)} : new long[] {k / kc, src.dim(0), Q8.blocks(kc)};
    }

    /** Quantises {@code selected} straight into the cache file, in storage order ({@link Q8#quantizeInOrder}). */
    static void write(Path cacheFile, String sources, Map<String, Tensor> selected) {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : selected.entrySet()) {
            Tensor t = e.getValue();
            int m = Math.toIntExact(t.dim(0));
            int k = Math.toIntExact(t.dim(1));
            long kc = Q8.panelLength(k);
            // the scales are produced by the values pass and written right after it (entries go in order)
            byte[][] holder = new byte[1][];
            entries.add(new SafetensorsWriter.Entry(e.getKey(), DType.I8, valueShape(t, kc), sink -> {
                byte[] scaleBytes = new byte[Math.multiplyExact(Math.multiplyExact(m, (int) Q8.blocks(k)), 2)];
                holder[0] = scaleBytes;
                int[] at = {0};
                Q8.quantizeInOrder(t, (q, s) -> {
                    sink.putBytes(q, 0, q.length);
                    for (short h : s) {
                        scaleBytes[at[0]++] = (byte) h;
                        scaleBytes[at[0]++] = (byte) (h >> 8);
                    }
                });
            }));
            entries.add(new SafetensorsWriter.Entry(e.getKey() + SCALES_SUFFIX, DType.F16, scaleShape(t, kc),
                    sink -> {
                        sink.putBytes(holder[0], 0, holder[0].length);
                        holder[0] = null;
                    }));
        }
        Map<String, String> md = new LinkedHashMap<>();
        md.put("format", FORMAT);
        md.put("version", VERSION);
        md.put("block", String.valueOf(Q8.BLOCK));
        md.put("row_group", String.valueOf(Q8.groupSetting()));
        md.put("scale_dtype", "F16");
        md.put("sources", sources);
        writeAtomically(cacheFile, entries, md);
    }

    /** Writes a cache file under a name of its own first and moves it into place, so readers never see half of it. */
    static void writeAtomically(Path cacheFile, List<SafetensorsWriter.Entry> entries, Map<String, String> md) {
        // a name of our own first, so two processes filling the same cache never write into one file
        Path mine = cacheFile.resolveSibling(cacheFile.getFileName() + "." + ProcessHandle.current().pid() + "."
                + Thread.currentThread().threadId() + ".part");
        SafetensorsWriter.write(mine, entries, md);
        try {
            Files.move(mine, cacheFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(mine);
            } catch (IOException ignored) {
                // the move failure is what matters
            }
            throw new CheckpointException(cacheFile + ": cannot move the finished cache into place: " + e.getMessage(), e);
        }
    }
}
