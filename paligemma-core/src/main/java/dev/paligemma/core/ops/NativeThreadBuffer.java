package dev.paligemma.core.ops;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * {@link ThreadBuffer} off the heap: a native segment per thread, starting on a 64-byte boundary, that grows to
 * the largest size asked for and is then reused. The kernels read activations from such copies because where a
 * heap array starts is up to the collector, and vector loads ran at different speeds at different offsets (see
 * {@link Matmul#alignedX}, {@link PackedGemm}). Each instance is one buffer per thread; a caller must be done with
 * it before anything on the same thread asks that instance again.
 */
final class NativeThreadBuffer {
    private final ThreadLocal<MemorySegment[]> holder = ThreadLocal.withInitial(() -> new MemorySegment[1]);

    /** This thread's segment, at least {@code bytes} long (contents undefined). */
    MemorySegment get(long bytes) {
        MemorySegment[] h = holder.get();
        if (h[0] == null || h[0].byteSize() < bytes) {
            h[0] = Arena.ofAuto().allocate(Math.max(64, bytes), 64);
        }
        return h[0];
    }
}
