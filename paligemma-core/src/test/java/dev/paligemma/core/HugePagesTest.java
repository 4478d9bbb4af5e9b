package dev.paligemma.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HugePagesTest {
    private static final boolean LINUX = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")
            && java.util.List.of("amd64", "x86_64", "aarch64", "riscv64").contains(System.getProperty("os.arch"));

    @TempDir
    Path dir;

    @Test
    void availableOnLinuxWhenTheTestJvmGrantsNativeAccess() {
        // the build runs tests with --enable-native-access=ALL-UNNAMED, as the launcher runs the product
        assertTrue(HugePagesTest.class.getModule().isNativeAccessEnabled());
        assertEquals(LINUX, HugePages.available());
    }

    @Test
    void allocatesZeroedWritableAlignedMemory() {
        long bytes = (6L << 20) + 12345;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = HugePages.allocate(bytes, arena);
            assertEquals(bytes, s.byteSize());
            assertTrue(s.isNative());
            if (HugePages.available()) {
                assertEquals(0, s.address() % (2L << 20), "2 MB aligned");
            }
            for (long o = 0; o < bytes; o += 4093) {
                assertEquals(0, s.get(ValueLayout.JAVA_BYTE, o), "zeroed at " + o);
                s.set(ValueLayout.JAVA_BYTE, o, (byte) (o * 31));
            }
            for (long o = 0; o < bytes; o += 4093) {
                assertEquals((byte) (o * 31), s.get(ValueLayout.JAVA_BYTE, o), "written at " + o);
            }
        }
    }

    @Test
    void refusesANegativeSizeAndGivesAnEmptySegmentForZero() {
        try (Arena arena = Arena.ofConfined()) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> HugePages.allocate(-1, arena));
            assertTrue(e.getMessage().contains("size -1"), e.getMessage());
            assertEquals(0, HugePages.allocate(0, arena).byteSize());
        }
    }

    @Test
    void advisesFileMappingsButNotHeapOrTinySegments() throws IOException {
        Path file = dir.resolve("w.bin");
        Files.write(file, new byte[5 << 20]);
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            assertEquals(HugePages.available(), HugePages.advise(map));
            assertEquals(0, map.get(ValueLayout.JAVA_BYTE, (5 << 20) - 1), "still readable after the advice");
            assertFalse(HugePages.advise(map.asSlice(1, 4096)), "no whole 2 MB page inside");
        }
        assertFalse(HugePages.advise(MemorySegment.ofArray(new byte[8 << 20])), "heap memory");
    }
}
