package dev.paligemma.core.testing;

import dev.paligemma.core.PaliGemmaException;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs fuzz cases one at a time on a worker thread with a per-case time limit. A case passes when it
 * returns normally (its own sanity checks included) or throws a {@link PaliGemmaException} whose
 * message names the input; anything else (another exception type, an Error, a timeout, a message that
 * names nothing) is recorded with the case's seed and mutation so it can be replayed. (A copy lives in
 * each module that owns a parser.)
 */
public final class FuzzHarness implements AutoCloseable {
    /** A fuzz case: runs the public API on one mutated input. */
    public interface Case {
        void run() throws Exception;
    }

    private final String name;
    private final long perCaseMillis;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "fuzz-case");
        t.setDaemon(true);
        return t;
    });
    private final List<String> failures = new ArrayList<>();
    public int cases;
    public int rejected;

    public FuzzHarness(String name, long perCaseMillis) {
        this.name = name;
        this.perCaseMillis = perCaseMillis;
    }

    /**
     * @param mustName a string the exception message must contain (the file name at fault), or null
     */
    public void run(long seed, String what, String mustName, Case c) {
        run(seed, what, mustName == null ? List.of() : List.of(mustName), c);
    }

    /** As above; the message must contain one of {@code anyOf} (any message if it is empty). */
    public void run(long seed, String what, List<String> anyOf, Case c) {
        String mustName = String.join("' or '", anyOf);
        cases++;
        Future<?> f = worker.submit(() -> {
            c.run();
            return null;
        });
        try {
            f.get(perCaseMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            failures.add("seed " + seed + " [" + what + "]: no result after " + perCaseMillis + " ms");
            // the worker may be stuck for good: stop here rather than queue behind it
            throw new AssertionError(report());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (ExecutionException e) {
            Throwable t = e.getCause();
            if (t instanceof PaliGemmaException p) {
                rejected++;
                if (p.getMessage() == null || (!anyOf.isEmpty() && anyOf.stream().noneMatch(p.getMessage()::contains))) {
                    failures.add("seed " + seed + " [" + what + "]: message does not name '" + mustName + "': " + p);
                }
            } else {
                failures.add("seed " + seed + " [" + what + "]: " + describe(t));
            }
        }
    }

    private static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder(String.valueOf(t));
        StackTraceElement[] st = t.getStackTrace();
        for (int i = 0; i < Math.min(6, st.length); i++) {
            sb.append("\n      at ").append(st[i]);
        }
        return sb.toString();
    }

    public String report() {
        return name + ": " + failures.size() + " bad outcome(s) in " + cases + " cases:\n  "
                + String.join("\n  ", failures.subList(0, Math.min(20, failures.size())));
    }

    @Override
    public void close() {
        worker.shutdownNow();
        System.out.println(name + ": " + cases + " cases, " + rejected + " rejected with a typed exception, "
                + (cases - rejected - failures.size()) + " accepted, " + failures.size() + " bad");
        if (!failures.isEmpty()) {
            fail(report());
        }
    }
}
