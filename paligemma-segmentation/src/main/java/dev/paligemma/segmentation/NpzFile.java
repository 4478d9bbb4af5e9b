package dev.paligemma.segmentation;

import dev.paligemma.core.CheckpointException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A numpy {@code .npz} archive: a zip of {@code .npy} arrays, read eagerly with {@code java.util.zip}.
 *
 * <p>Only plain numeric arrays are accepted (see {@link NpyDType}); pickled object arrays are refused, so
 * reading a file never runs code from it. Entries not ending in {@code .npy} are ignored, as numpy's
 * loader would not expose them as arrays either. Every failure is a {@link CheckpointException} naming the
 * file and the array.
 */
public final class NpzFile {
    private final Path path;
    private final Map<String, NpyArray> arrays;

    private NpzFile(Path path, Map<String, NpyArray> arrays) {
        this.path = path;
        this.arrays = arrays;
    }

    /**
     * Default limit on the decompressed bytes of all arrays together: a deflated entry can claim (and
     * deliver) gigabytes from a few megabytes of archive, and everything is read onto the heap.
     */
    static final long DEFAULT_MAX_BYTES = 1L << 30;

    /** Reads every array of the archive; archives holding more than 1 GiB of array data are refused. */
    public static NpzFile read(Path path) {
        return read(path, DEFAULT_MAX_BYTES);
    }

    /**
     * Reads every array of the archive, refusing (before reading it) any array that would take the total
     * array data beyond {@code maxBytes}.
     */
    static NpzFile read(Path path, long maxBytes) {
        if (!Files.isRegularFile(path)) {
            throw new CheckpointException(path + ": no such .npz file");
        }
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        String current = null;
        long left = maxBytes;
        try (ZipFile zip = new ZipFile(path.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry entry = entries.nextElement();
                String entryName = entry.getName();
                if (entry.isDirectory() || !entryName.endsWith(".npy")) {
                    continue;
                }
                String name = entryName.substring(0, entryName.length() - ".npy".length());
                current = name;
                String where = path + " array '" + name + "'";
                if (arrays.containsKey(name)) {
                    throw new CheckpointException(where + ": duplicate entry");
                }
                try (InputStream in = zip.getInputStream(entry)) {
                    NpyArray a = NpyArray.read(name, in, where, entry.getSize(), left);
                    left -= a.size() * a.dtype().itemSize();
                    arrays.put(name, a);
                }
                current = null;
            }
        } catch (IOException | IllegalStateException | IllegalArgumentException e) {
            // ZipException (truncated / corrupt archive or entry), bad entry names
            String which = current == null ? "" : " array '" + current + "'";
            throw new CheckpointException(path + which + ": cannot read .npz archive: " + e.getMessage(), e);
        }
        return new NpzFile(path, Collections.unmodifiableMap(arrays));
    }

    /** The file this was read from. */
    public Path path() {
        return path;
    }

    /** Array names in archive order. */
    public Set<String> names() {
        return arrays.keySet();
    }

    /** The named array; a {@link CheckpointException} naming the file if it is absent. */
    public NpyArray array(String name) {
        NpyArray a = arrays.get(name);
        if (a == null) {
            throw new CheckpointException(path + ": missing array '" + name + "'");
        }
        return a;
    }
}
