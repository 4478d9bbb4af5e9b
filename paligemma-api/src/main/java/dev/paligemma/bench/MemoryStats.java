package dev.paligemma.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/** Process memory figures: Linux {@code /proc} for resident memory, the memory MXBeans for the Java heap. */
final class MemoryStats {
    /** A mapping's first line in {@code /proc/self/smaps}: address range, then permissions. */
    private static final java.util.regex.Pattern MAPPING = java.util.regex.Pattern.compile("[0-9a-f]+-[0-9a-f]+ [-r][-w][-x][-ps] ");
    private MemoryStats() {
    }

    /** Peak resident set size in bytes ({@code VmHWM}), or -1 where {@code /proc/self/status} is absent. */
    static long peakRssBytes() {
        return procKb(Path.of("/proc/self/status"), "VmHWM:");
    }

    /** Physical memory in bytes ({@code MemTotal}), or -1 where {@code /proc/meminfo} is absent. */
    static long physicalBytes() {
        return procKb(Path.of("/proc/meminfo"), "MemTotal:");
    }

    static long procKb(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key)) {
                    return kb(line) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /**
     * Of the resident pages of this process's {@code .safetensors} mappings (checkpoint and caches), the fraction
     * mapped 2 MB at a time ({@code FilePmdMapped} over {@code Rss} in {@code /proc/self/smaps}); -1 where that
     * file is absent or no such page is resident. The decode reads its weights faster in 2 MB pages (see
     * {@link dev.paligemma.core.HugePages}), and whether it gets them depends on how the page cache came to hold
     * the files, so a bench reports it.
     */
    static double weightsInHugePagesFraction() {
        long rss = 0;
        long pmd = 0;
        try (java.util.stream.Stream<String> lines = Files.lines(Path.of("/proc/self/smaps"))) {
            boolean weights = false;
            for (String line : (Iterable<String>) lines::iterator) {
                if (MAPPING.matcher(line).lookingAt()) {
                    weights = line.endsWith(".safetensors");
                } else if (weights && line.startsWith("Rss:")) {
                    rss += kb(line);
                } else if (weights && line.startsWith("FilePmdMapped:")) {
                    pmd += kb(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return rss > 0 ? (double) pmd / rss : -1;
    }

    /** The number after the colon of a {@code /proc} line such as {@code "Rss:   1234 kB"}. */
    private static long kb(String line) {
        String v = line.substring(line.indexOf(':') + 1).trim();
        int sp = v.indexOf(' ');
        return Long.parseLong(sp < 0 ? v : v.substring(0, sp));
    }

    /**
     * Heap bytes allocated by every thread since the JVM started (HotSpot's per-thread counters), or -1 where
     * the JVM does not count them.
     */
    static long allocatedBytes() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
                && t.isThreadAllocatedMemorySupported() && t.isThreadAllocatedMemoryEnabled()) {
            return t.getTotalThreadAllocatedBytes();
        }
        return -1;
    }

    /** Starts a new heap peak window. */
    static void resetHeapPeak() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP && p.isValid()) {
                p.resetPeakUsage();
            }
        }
    }

    /**
     * Sum of the heap pools' peaks since {@link #resetHeapPeak}: an upper bound of the heap's peak, since
     * the pools need not peak at the same moment.
     */
    static long heapPeakBytes() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP && p.isValid()) {
                sum += p.getPeakUsage().getUsed();
            }
        }
        return sum;
    }

    static long heapUsedBytes() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static long heapMaxBytes() {
        return Runtime.getRuntime().maxMemory();
    }
}
