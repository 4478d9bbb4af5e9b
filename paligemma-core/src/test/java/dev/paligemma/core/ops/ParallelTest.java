package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(20)
class ParallelTest {
    private int saved;

    @BeforeEach
    void save() {
        saved = Parallel.threads();
    }

    @AfterEach
    void restore() {
        Parallel.setThreads(saved);
    }

    @Test
    void forRangeCoversEveryIndexOnceInContiguousChunks() {
        Parallel.setThreads(4);
        for (int n : new int[] {1, 2, 3, 7, 100, 1001}) {
            AtomicIntegerArray hits = new AtomicIntegerArray(n);
            Parallel.forRange(n, 1, (from, to) -> {
                assertTrue(from < to, "empty chunk");
                for (int i = from; i < to; i++) {
                    hits.incrementAndGet(i);
                }
            });
            for (int i = 0; i < n; i++) {
                assertEquals(1, hits.get(i), "index " + i + " of " + n);
            }
        }
    }

    @Test
    void forEachRunsEachIndexOnce() {
        Parallel.setThreads(3);
        AtomicIntegerArray hits = new AtomicIntegerArray(500);
        Parallel.forEach(500, hits::incrementAndGet);
        for (int i = 0; i < 500; i++) {
            assertEquals(1, hits.get(i));
        }
    }

    @Test
    void threadCountIsRespected() {
        for (int t : new int[] {1, 2, 3}) {
            Parallel.setThreads(t);
            for (int rep = 0; rep < 20; rep++) {
                // threads that worked on one loop (the pool may hold more workers from earlier settings)
                Set<Thread> seen = ConcurrentHashMap.newKeySet();
                Parallel.forEach(64, i -> {
                    seen.add(Thread.currentThread());
                    busy(20_000);
                });
                assertTrue(seen.size() <= t, t + " threads allowed, saw " + seen.size());
                for (Thread th : seen) {
                    assertTrue(th == Thread.currentThread() || th.isDaemon(), "workers are daemon threads");
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Parallel.setThreads(0));
    }

    @Test
    void grainLimitsTheNumberOfChunks() {
        Parallel.setThreads(4);
        AtomicLong chunks = new AtomicLong();
        Parallel.forRange(10, 8, (from, to) -> chunks.incrementAndGet());
        assertEquals(2, chunks.get());
    }

    @Test
    void workerExceptionReachesTheCaller() {
        Parallel.setThreads(2);
        IllegalStateException boom = new IllegalStateException("boom");
        for (int rep = 0; rep < 50; rep++) {
            IllegalStateException got = assertThrows(IllegalStateException.class, () -> Parallel.forEach(8, i -> {
                if (i == 7) {
                    throw boom;
                }
            }));
            assertSame(boom, got);
        }
        assertThrows(AssertionError.class, () -> Parallel.forRange(100, 1, (from, to) -> {
            if (to == 100) {
                throw new AssertionError("last chunk");
            }
        }));
        // the pool still works afterwards
        AtomicLong sum = new AtomicLong();
        Parallel.forRange(1000, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                sum.addAndGet(i);
            }
        });
        assertEquals(499_500, sum.get());
    }

    @Test
    void nestedLoopsDoNotDeadlock() {
        Parallel.setThreads(3);
        AtomicLong count = new AtomicLong();
        Parallel.forEach(16, i -> Parallel.forRange(100, 1, (from, to) -> Parallel.forEach(to - from, j -> count.incrementAndGet())));
        assertEquals(1600, count.get());
    }

    @Test
    void concurrentCallersShareThePool() throws InterruptedException {
        Parallel.setThreads(2);
        AtomicLong count = new AtomicLong();
        Thread[] callers = new Thread[4];
        for (int c = 0; c < callers.length; c++) {
            callers[c] = new Thread(() -> {
                for (int rep = 0; rep < 200; rep++) {
                    Parallel.forRange(64, 1, (from, to) -> count.addAndGet(to - from));
                }
            });
            callers[c].start();
        }
        for (Thread t : callers) {
            t.join();
        }
        assertEquals(4 * 200 * 64, count.get());
    }

    @Test
    void backToBackLoopsRunEveryChunkExactlyOnce() {
        // the caller's job object is reused loop after loop; stale hand-offs must never run a chunk twice or skip one
        Parallel.setThreads(3);
        java.util.concurrent.atomic.AtomicIntegerArray hits = new java.util.concurrent.atomic.AtomicIntegerArray(5);
        int loops = 20_000;
        for (int rep = 0; rep < loops; rep++) {
            Parallel.forEach(rep % 2 == 0 ? 5 : 3, hits::incrementAndGet);
        }
        for (int i = 0; i < 5; i++) {
            assertEquals(i < 3 ? loops : loops / 2, hits.get(i), "index " + i);
        }
    }

    @Test
    void handOffsLeftFromEarlierLoopsNeverAddAThread() {
        // the caller's job is reused, so a queue entry from an earlier loop (one with more helpers, or one the
        // caller finished alone) can be taken during a later loop; it must not put more threads on that loop
        for (int rep = 0; rep < 3000; rep++) {
            int t = 1 + rep % 3;
            Parallel.setThreads(t);
            Set<Thread> seen = ConcurrentHashMap.newKeySet();
            Parallel.forEach(6, i -> {
                seen.add(Thread.currentThread());
                busy(200 * (i + 1));
            });
            assertTrue(seen.size() <= t, "loop " + rep + ": " + t + " threads allowed, saw " + seen.size());
        }
    }

    @Test
    void aWarmDispatchAllocatesNothing() {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        Parallel.setThreads(2);
        long[] sink = new long[2];
        Parallel.RangeBody body = (from, to) -> sink[from] += to;
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 30 && best > 0; round++) {
            long before = allocatedByAllThreads(mx);
            for (int i = 0; i < 10_000; i++) {
                Parallel.forRange(2, 1, body);
            }
            best = Math.min(best, allocatedByAllThreads(mx) - before);
        }
        // a job, its three counters and a queue node per dispatch were ~110 bytes each, 1.1 MB per round
        assertTrue(best < 10_000, "10,000 dispatches allocated " + best + " bytes");
    }

    private static long allocatedByAllThreads(com.sun.management.ThreadMXBean mx) {
        long total = 0;
        for (long b : mx.getThreadAllocatedBytes(mx.getAllThreadIds())) {
            total += Math.max(0, b);
        }
        return total;
    }

    private static void busy(int iterations) {
        double x = 0;
        for (int i = 0; i < iterations; i++) {
            x += Math.sqrt(i);
        }
        if (x < 0) {
            throw new AssertionError();
        }
    }
}
