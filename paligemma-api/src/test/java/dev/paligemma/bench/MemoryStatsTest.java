package dev.paligemma.bench;

import dev.paligemma.core.DType;
import dev.paligemma.core.SafetensorsFile;
import dev.paligemma.core.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryStatsTest {
    @TempDir
    Path dir;

    @Test
    void findsTheResidentPagesOfMappedSafetensorsFiles() {
        Path file = dir.resolve("w.safetensors");
        SafetensorsWriter.write(file, List.of(SafetensorsWriter.floats("w", DType.F32, new long[] {1 << 20}, new float[1 << 20])), Map.of());
        double fraction;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            MemorySegment s = f.tensor("w").segment();
            long sum = 0;
            for (long o = 0; o < s.byteSize(); o += 4096) {
                sum += s.get(ValueLayout.JAVA_BYTE, o);
            }
            assertEquals(0, sum);
            fraction = MemoryStats.weightsInHugePagesFraction();
        }
        if (Files.exists(Path.of("/proc/self/smaps"))) {
            // 4 MB resident: a fraction, whether or not this file system keeps 2 MB folios
            assertTrue(fraction >= 0 && fraction <= 1, "fraction " + fraction);
        } else {
            assertEquals(-1, fraction);
        }
    }

    @Test
    void countsTheHeapBytesThisThreadAllocates() {
        long before = MemoryStats.allocatedBytes();
        long[][] keep = new long[64][];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = new long[16 * 1024]; // 128 KiB each, 8 MiB in all
        }
        long after = MemoryStats.allocatedBytes();
        assertEquals(keep.length, java.util.Arrays.stream(keep).filter(a -> a.length == 16 * 1024).count());
        // HotSpot counts them: at least the 8 MiB, and not wildly more
        assertTrue(after - before >= 8L << 20 && after - before < 64L << 20, "allocated " + (after - before));
    }
}
