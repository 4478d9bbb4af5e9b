package dev.paligemma.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/** Process memory figures: Linux {@code /proc} for resident memory, the memory MXBeans for the Java heap. */
final class MemoryStats {
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
                    String v = line.substring(key.length()).trim();
                    int sp = v.indexOf(' ');
                    return Long.parseLong(sp < 0 ? v : v.substring(0, sp)) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
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
