package dev.paligemma.core.ops;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 *
 * <p>A dispatch allocates nothing: each calling thread reuses one job object, whose chunks are claimed through
 * a single atomic ticket (generation, chunk count, next chunk), and the hand-off queue is a fixed array. A
 * decode step dispatches ~130 loops; a new job, its counters and a queue node each time came to about 11 KB
 * of garbage per Gemma 2 token.
 */
public final class Parallel {
    private static volatile int threads = initialThreads();

    /**
     * Jobs waiting for helpers; each queue entry asks one worker to join one job. When it is full the caller
     * does the chunks itself. An entry taken after its loop has ended (or during the owner's next loop, which
     * it then helps with) is harmless: chunks are claimed through the job's ticket.
     */
    private static final ArrayBlockingQueue<Job> QUEUE = new ArrayBlockingQueue<>(1024);
    /**
     * Entries offered and not yet taken, as a hint for polling workers: the queue's poll takes its lock, and
     * many workers spinning on it would contend with the callers' offers.
     */
    private static final AtomicInteger PENDING = new AtomicInteger();
    /** Each calling thread's reusable job. */
    private static final ThreadLocal<Job> OWN_JOB = ThreadLocal.withInitial(Job::new);
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
        run(body, null, n, chunks, chunks - 1);
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
        if (n > Job.MAX_CHUNKS) {
            // more indices than a ticket can count: contiguous ranges of them instead of one chunk each
            forRange(n, (n + t - 1) / t, (from, to) -> {
                for (int i = from; i < to; i++) {
                    body.accept(i);
                }
            });
            return;
        }
        run(null, body, n, n, t - 1);
    }

    private static void run(RangeBody range, IntConsumer each, int n, int chunks, int helpers) {
        Job job = OWN_JOB.get();
        if (job.active) {
            job = new Job(); // a loop started inside one of this thread's own chunks
        }
        ensureWorkers(helpers); // before the loop is published: nothing between start and await may throw
        job.start(range, each, n, chunks, helpers);
        for (int i = 0; i < helpers && QUEUE.offer(job); i++) {
            PENDING.incrementAndGet();
        }
        job.work(job.generation);
        job.await();
        Throwable e = job.finish();
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

    /**
     * One thread's parallel loops, one at a time. {@link #ticket} packs the loop's generation, its chunk count
     * and the next unclaimed chunk; a chunk is claimed by a compare-and-set of the whole ticket, so a claim can
     * only succeed for the loop in progress, whose fields (written before the ticket was published) stay put
     * until every claimed chunk has finished. {@link #done} counts finished chunks. A worker first takes one
     * of the loop's helper seats ({@link #seats}: generation and seats left), then claims chunks of that
     * generation only: a hand-off left in the queue from an earlier loop can then never add a thread beyond the
     * ones the current loop asked for.
     */
    private static final class Job {
        static final int CHUNK_BITS = 21;
        static final int MAX_CHUNKS = (1 << CHUNK_BITS) - 1;
        private static final long CHUNK_MASK = MAX_CHUNKS;
        private static final long GENERATION_MASK = (1L << (64 - 2 * CHUNK_BITS)) - 1;

        final Thread owner = Thread.currentThread();
        final AtomicLong ticket = new AtomicLong();
        final AtomicLong seats = new AtomicLong();
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        /** Loop fields, owner-written before the ticket is published. */
        RangeBody range;
        IntConsumer each;
        int n;
        /** Owner-only state. */
        int chunks;
        long generation;
        boolean active;

        void start(RangeBody range, IntConsumer each, int n, int chunks, int helpers) {
            active = true;
            this.range = range;
            this.each = each;
            this.n = n;
            this.chunks = chunks;
            error.set(null);
            done.set(0);
            generation = (generation + 1) & GENERATION_MASK;
            seats.set(generation << 32 | helpers);
            ticket.set(generation << (2 * CHUNK_BITS) | (long) chunks << CHUNK_BITS);
        }

        /** A worker's part: takes a helper seat of the current loop, if one is left, and works on that loop. */
        void help() {
            while (true) {
                long s = seats.get();
                if ((int) s <= 0) {
                    return;
                }
                if (seats.compareAndSet(s, s - 1)) {
                    work(s >>> 32);
                    return;
                }
            }
        }

        /** Claims and runs chunks of loop {@code gen} until none is left (or another loop has started). */
        void work(long gen) {
            while (true) {
                long t = ticket.get();
                if (t >>> (2 * CHUNK_BITS) != gen) {
                    return;
                }
                int total = (int) (t >>> CHUNK_BITS & CHUNK_MASK);
                int c = (int) (t & CHUNK_MASK);
                if (c >= total) {
                    return;
                }
                if (!ticket.compareAndSet(t, t + 1)) {
                    continue;
                }
                try {
                    if (error.get() == null) {
                        if (range != null) {
                            range.run((int) ((long) n * c / total), (int) ((long) n * (c + 1) / total));
                        } else {
                            each.accept(c);
                        }
                    }
                } catch (Throwable e) {
                    error.compareAndSet(null, e);
                } finally {
                    if (done.incrementAndGet() == total && Thread.currentThread() != owner) {
                        LockSupport.unpark(owner);
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

        /** Ends the loop (dropping its body, so the job keeps nothing alive) and returns its first exception. */
        Throwable finish() {
            range = null;
            each = null;
            active = false;
            return error.get();
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
                PENDING.decrementAndGet();
                job.help();
            }
        }

        /** The next job if one arrives within {@link #WORKER_SPIN_NANOS}, else null. */
        private static Job poll() {
            long deadline = System.nanoTime() + WORKER_SPIN_NANOS;
            do {
                if (PENDING.get() > 0) {
                    Job job = QUEUE.poll();
                    if (job != null) {
                        return job;
                    }
                }
                Thread.onSpinWait();
            } while (System.nanoTime() - deadline < 0);
            return null;
        }
    }
}
