package dev.paligemma.core;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The column-panel copy of a checkpoint's long-row BF16 matrices (see {@link Checkpoint#panelled}), kept as a
 * safetensors file {@code <root>/<hash of the checkpoint directory>/model.panels.safetensors} beside the
 * {@link Q8Cache}. Each matrix {@code name} of {@code [rows, k]} is stored as a BF16 tensor {@code name} of
 * {@code [k / kc, rows, kc]} (kc = {@link Q8#panelLength}), the order its bytes are in: the same bits, moved.
 * {@code __metadata__} marks the format and version and records every source weight file's name, size and
 * modification time; a cache whose record differs from the files on disk, or that lacks a tensor or has another
 * shape, is rewritten.
 */
final class PanelCache {
    static final String FILE = "model.panels.safetensors";
    static final String FORMAT = "paligemma-java-panels";
    static final String VERSION = "1";

    private PanelCache() {
    }

    /** Whether {@link Checkpoint#panelled} stores {@code t} in panels: a BF16 matrix whose rows {@link Q8#panelLength} cuts. */
    static boolean selected(Tensor t) {
        return t.dtype() == DType.BF16 && t.rank() == 2 && !t.isPanelled() && Q8.panelLength(t.dim(1)) < t.dim(1);
    }

    /** Where the cache of {@code checkpointDir} lives under {@code root}: beside its Q8 cache. */
    static Path location(Path root, Path checkpointDir) {
        return Q8Cache.location(root, checkpointDir).resolveSibling(FILE);
    }

    /**
     * Maps (or first writes) the cache for the {@code selected} tensors into {@code arena}; null if the cache
     * cannot be written (read-only home, full disk), in which case the caller keeps the matrices as stored.
     */
    static Q8Cache.Loaded load(Path cacheFile, List<SafetensorsFile> sourceFiles, Map<String, Tensor> selected, Arena arena) {
        String sources = Q8Cache.sources(sourceFiles);
        Q8Cache.Loaded cached = tryMap(cacheFile, sources, selected, arena);
        if (cached != null) {
            return cached;
        }
        try {
            Files.createDirectories(cacheFile.getParent());
            write(cacheFile, sources, sourceFiles, selected);
        } catch (IOException | CheckpointException e) {
            System.getLogger(PanelCache.class.getName()).log(System.Logger.Level.WARNING,
                    "cannot write the column-panel cache " + cacheFile + " (" + e.getMessage()
                            + "); long BF16 rows are read as stored (slower decode)");
            return null;
        }
        Q8Cache.Loaded written = tryMap(cacheFile, sources, selected, arena);
        if (written == null) {
            throw new CheckpointException(cacheFile + ": column-panel cache just written does not validate");
        }
        return written;
    }

    /** The cache's tensors if the file exists and matches the sources and tensors; null if it must be (re)written. */
    static Q8Cache.Loaded tryMap(Path cacheFile, String sources, Map<String, Tensor> selected, Arena arena) {
        SafetensorsFile f = Q8Cache.openIfCurrent(cacheFile, arena, Map.of("format", FORMAT, "version", VERSION, "sources", sources));
        if (f == null) {
            return null;
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : selected.entrySet()) {
            Tensor src = e.getValue();
            Tensor p = f.tensors().get(e.getKey());
            long kc = Q8.panelLength(src.dim(1));
            if (p == null || p.dtype() != DType.BF16 || !Arrays.equals(p.shape(), storedShape(src, kc))) {
                return null;
            }
            out.put(e.getKey(), Tensor.panelled(src.name(), DType.BF16, src.shape(), kc, p.segment(),
                    cacheFile.getFileName() + " (column panels of " + src.source() + ")"));
        }
        return new Q8Cache.Loaded(out, f);
    }

    /** The stored shape of a matrix in panels of {@code kc}: {@code [panels, rows, kc]}. */
    static long[] storedShape(Tensor src, long kc) {
        return new long[] {src.dim(1) / kc, src.dim(0), kc};
    }

    /**
     * Writes the panels of {@code selected}, read from the weight files with positioned reads rather than
     * through the mapping: pages touched through the mapping would stay in this process's resident set next
     * to the cache's own, and the first load would take some 30 % more memory than every later one.
     */
    static void write(Path cacheFile, String sources, List<SafetensorsFile> sourceFiles, Map<String, Tensor> selected) {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : selected.entrySet()) {
            Tensor t = e.getValue();
            long kc = Q8.panelLength(t.dim(1));
            SafetensorsFile file = null;
            long offset = -1;
            for (SafetensorsFile f : sourceFiles) {
                offset = f.offsetOf(t);
                if (offset >= 0) {
                    file = f;
                    break;
                }
            }
            if (file == null) {
                throw new CheckpointException(t.source() + ": tensor '" + t.name() + "' is not in the checkpoint's weight files");
            }
            SafetensorsFile from = file;
            long base = offset;
            entries.add(new SafetensorsWriter.Entry(e.getKey(), DType.BF16, storedShape(t, kc), sink -> {
                long rows = t.dim(0);
                long k = t.dim(1);
                byte[] piece = new byte[Math.toIntExact(2 * kc)];
                ByteBuffer buf = ByteBuffer.wrap(piece);
                try (FileChannel ch = FileChannel.open(from.path(), StandardOpenOption.READ)) {
                    for (long s = 0; s < k / kc; s++) {
                        for (long j = 0; j < rows; j++) {
                            buf.clear();
                            long at = base + 2 * (j * k + s * kc);
                            while (buf.hasRemaining()) {
                                if (ch.read(buf, at + buf.position()) < 0) {
                                    throw new CheckpointException(from.path() + ": ends inside tensor '" + t.name() + "'");
                                }
                            }
                            sink.putBytes(piece, 0, piece.length);
                        }
                    }
                }
            }));
        }
        Map<String, String> md = new LinkedHashMap<>();
        md.put("format", FORMAT);
        md.put("version", VERSION);
        md.put("sources", sources);
        Q8Cache.writeAtomically(cacheFile, entries, md);
    }
}
