package dev.paligemma.core.ops;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The fixed worker pool all kernels share. Sized to the cores by default ({@code -Dpaligemma.threads=N}
 * or {@link #setThreads(int)} to change). Never uses the common ForkJoin pool.
 *
 * <p>A parallel loop is cut into chunks that the calling thread and up to {@code threads() - 1} daemon
 * workers claim from a shared counter; the caller always takes a share, so a loop finishes even if every
 * worker is busy elsewhere. A loop started from inside a worker (nested parallelism) runs inline on that
 * worker, which rules out deadlock. The first exception a chunk throws is rethrown to the caller after
 * every chunk has finished.
 */
public final class Parallel {
    private static volatile int threads = initialThreads();

    /** Jobs waiting for helpers; each queue entry asks one worker to join one job. */
    private static final LinkedBlockingQueue<Job> QUEUE = new LinkedBlockingQueue<>();
    private static final List<Worker> WORKERS = new ArrayList<>();
    /** Spin iterations before a waiting caller parks: a chunk of a small kernel ends within microseconds. */
    private static final int SPIN = 20_000;
    /**
     * How long an idle worker polls for the next job before it parks. A decode step dispatches ~130 loops a
     * few microseconds apart; a parked worker took tens of microseconds to wake (a futex wake, and on a VM
     * an interrupt to a halted virtual CPU), and the caller spent that time waiting at the loop's end.
     */
    private static final long WORKER_SPIN_NANOS = 200_000;

    static {
        SimdCheck.once();
    }

    private Parallel() {
    }

    private static int initialThreads() {
        int n = Integer.getInteger("paligemma.threads", Runtime.getRuntime().availableProcessors());
        return Math.max(1, n);
    }

    /** Body of a parallel loop: handles indices {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /** Number of threads (caller included) a parallel loop uses at most. */
    public static int threads() {
        return threads;
    }

    /** Sets the number of threads (caller included) later parallel loops use; workers are created lazily. */
    public static void setThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + n);
        }
        threads = n;
    }

    /** Whether the current thread is one of the pool's workers (nested loops then run inline). */
    static boolean inWorker() {
        return Thread.currentThread() instanceof Worker;
    }

    /** Splits {@code [0, n)} into contiguous chunks of at least {@code grain} indices and runs them on the pool. */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int t = threads;
        int g = Math.max(1, grain);
        int chunks = (int) Math.min(t, ((long) n + g - 1) / g);
        if (chunks <= 1 || inWorker()) {
            body.run(0, n);
            return;
        }
        run(new Job(body, null, n, chunks), chunks - 1);
    }

    /** Runs {@code body.accept(i)} for every i in {@code [0, n)} on the pool, one task per index. */
    public static void forEach(int n, IntConsumer body) {
        if (n <= 0) {
            return;
        }
        int t = Math.min(threads, n);
        if (t <= 1 || inWorker()) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        run(new Job(null, body, n, n), t - 1);
    }

    private static void run(Job job, int helpers) {
        ensureWorkers(helpers);
        for (int i = 0; i < helpers; i++) {
            QUEUE.offer(job);
        }
        job.work();
        job.await();
        Throwable e = job.error.get();
        if (e != null) {
            if (e instanceof RuntimeException r) {
                throw r;
            }
            if (e instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("parallel task failed", e);
        }
    }

    private static void ensureWorkers(int count) {
        if (WORKERS.size() >= count) {
            return;
        }
        synchronized (WORKERS) {
            while (WORKERS.size() < count) {
                Worker w = new Worker(WORKERS.size());
                WORKERS.add(w);
                w.start();
            }
        }
    }

    /** One parallel loop: chunks are claimed from {@link #next}; {@link #done} counts finished chunks. */
    private static final class Job {
        final RangeBody range;
        final IntConsumer each;
        final int n;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        final Thread caller = Thread.currentThread();

        Job(RangeBody range, IntConsumer each, int n, int chunks) {
            this.range = range;
            this.each = each;
            this.n = n;
            this.chunks = chunks;
        }

        /** Claims and runs chunks until none is left. */
        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                try {
                    if (error.get() == null) {
                        if (range != null) {
                            range.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                        } else {
                            each.accept(c);
                        }
                    }
                } catch (Throwable e) {
                    error.compareAndSet(null, e);
                } finally {
                    if (done.incrementAndGet() == chunks && Thread.currentThread() != caller) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }

        void await() {
            for (int i = 0; done.get() < chunks; i++) {
                if (i < SPIN) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
        }
    }

    private static final class Worker extends Thread {
        Worker(int id) {
            super("paligemma-worker-" + id);
            setDaemon(true);
        }

        @Override
        public void run() {
            while (true) {
                Job job = poll();
                if (job == null) {
                    try {
                        job = QUEUE.take();
                    } catch (InterruptedException e) {
                        continue; // workers live as long as the JVM; an interrupt is not a shutdown request
                    }
                }
                job.work();
            }
        }

        /** The next job if one arrives within {@link #WORKER_SPIN_NANOS}, else null. */
        private static Job poll() {
            long deadline = System.nanoTime() + WORKER_SPIN_NANOS;
            do {
                Job job = QUEUE.poll();
                if (job != null) {
                    return job;
                }
                Thread.onSpinWait();
            } while (System.nanoTime() - deadline < 0);
            return null;
        }
    }
}
