package dev.paligemma.core;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Asks Linux to back memory with 2 MB pages ({@code madvise(MADV_HUGEPAGE)}), a hint and nothing more: every
 * method works, and does nothing, where the hint cannot be given (another OS, transparent huge pages off, or
 * native access not granted to this code, so the JDK prints no restricted-method warning on a user's behalf).
 *
 * <p>Why: the decode step streams the weights, and on a virtual machine every 4 KB TLB miss is a
 * two-dimensional page walk. On the 2-core KVM guest of {@code docs/performance.md}, one anonymous buffer
 * streamed at 23-27 GB/s in 4 KB pages and at 29-35 GB/s in 2 MB pages, and a decode step's down projections,
 * read from a column-panel cache file, took 47.7 ms in 4 KB pages against 44.6 ms in 2 MB pages. A file's
 * pages can only be mapped 2 MB at a time when the page cache holds them in 2 MB folios. The advice asks the
 * kernel to read a mapped file that is not yet cached in such folios whatever the order it is touched in (on
 * that guest's kernel, 6.18 on ext4, read-ahead already chose them); {@link SafetensorsWriter} writes whole,
 * aligned 2 MB blocks so that the files it writes (the Q8 and column-panel caches) are cached in them too.
 */
public final class HugePages {
    private static final long PAGE = 2L << 20;
    private static final int MADV_HUGEPAGE = 14;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;

    private static final MethodHandle MADVISE;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;

    static {
        MethodHandle madvise = null;
        MethodHandle mmap = null;
        MethodHandle munmap = null;
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        // the flag values below are the generic Linux ones, which these architectures use (MIPS, PA-RISC, Alpha
        // and SPARC number some of them differently)
        boolean linux = os.startsWith("linux") && List.of("amd64", "x86_64", "aarch64", "riscv64").contains(arch);
        String off = !linux ? "not Linux on x86-64, AArch64 or RISC-V 64 (" + os + ", " + arch + ")"
                : !HugePages.class.getModule().isNativeAccessEnabled()
                ? "native access not enabled for this code (--enable-native-access)"
                : "madvise, mmap or munmap not found in libc";
        if (linux && HugePages.class.getModule().isNativeAccessEnabled()) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Optional<MemorySegment> m = libc.find("madvise");
                Optional<MemorySegment> mm = libc.find("mmap");
                Optional<MemorySegment> mu = libc.find("munmap");
                if (m.isPresent() && mm.isPresent() && mu.isPresent()) {
                    madvise = linker.downcallHandle(m.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                    mmap = linker.downcallHandle(mm.get(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_LONG));
                    munmap = linker.downcallHandle(mu.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
                }
            } catch (RuntimeException e) {
                // no linker for this platform or a refused lookup: the hint is optional
                off = "no native linker: " + e;
                madvise = null;
                mmap = null;
                munmap = null;
            }
        }
        MADVISE = madvise;
        MMAP = mmap;
        MUNMAP = munmap;
        System.getLogger(HugePages.class.getName()).log(System.Logger.Level.DEBUG,
                madvise != null ? "2 MB page hints on (madvise)" : "2 MB page hints off: " + off);
    }

    private HugePages() {
    }

    /** Whether this process can give the hint (Linux, native access enabled, libc found). */
    public static boolean available() {
        return MADVISE != null;
    }

    /**
     * Advises the whole 2 MB pages inside native segment {@code s} (a file mapping or anonymous memory) to be
     * backed by huge pages. Returns whether the kernel accepted the advice; false, doing nothing, for a heap
     * segment, a span shorter than one huge page, or where the hint is {@linkplain #available unavailable}.
     */
    public static boolean advise(MemorySegment s) {
        if (MADVISE == null || !s.isNative()) {
            return false;
        }
        long start = (s.address() + PAGE - 1) & -PAGE;
        long end = (s.address() + s.byteSize()) & -PAGE;
        if (end <= start) {
            return false;
        }
        try {
            return (int) MADVISE.invokeExact(MemorySegment.ofAddress(start), end - start, MADV_HUGEPAGE) == 0;
        } catch (Throwable e) {
            return false;
        }
    }

    /**
     * {@code bytes} of zeroed native memory, 2 MB aligned and advised for huge pages before any page is touched
     * (the pages are then faulted in 2 MB at a time), released when {@code arena} closes. Where the hint is
     * unavailable, or the mapping fails, it is {@code arena.allocate(bytes, 64)}: the same contents in small pages.
     */
    public static MemorySegment allocate(long bytes, Arena arena) {
        if (bytes < 0) {
            throw new InvalidArgumentException("HugePages.allocate: size " + bytes + " is negative");
        }
        if (MMAP != null && bytes > 0) {
            try {
                long len = bytes + PAGE;
                MemorySegment raw = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, len, PROT_READ_WRITE,
                        MAP_PRIVATE_ANONYMOUS, -1, 0L);
                if (raw.address() != -1L && raw.address() != 0L) {
                    long aligned = (raw.address() + PAGE - 1) & -PAGE;
                    MemorySegment s;
                    try {
                        s = MemorySegment.ofAddress(aligned).reinterpret(bytes, arena, ignored -> unmap(raw, len));
                    } catch (RuntimeException e) {
                        unmap(raw, len); // a closed arena, say: arena.allocate below reports it
                        return arena.allocate(bytes, 64);
                    }
                    advise(s);
                    return s;
                }
            } catch (Throwable e) {
                // fall through to small pages
            }
        }
        return arena.allocate(bytes, 64);
    }

    private static void unmap(MemorySegment raw, long len) {
        try {
            int rc = (int) MUNMAP.invokeExact(raw, len);
            if (rc != 0) {
                System.getLogger(HugePages.class.getName()).log(System.Logger.Level.WARNING,
                        "munmap of a " + len + "-byte huge-page buffer failed");
            }
        } catch (Throwable e) {
            System.getLogger(HugePages.class.getName()).log(System.Logger.Level.WARNING, "munmap failed: " + e);
        }
    }
}
