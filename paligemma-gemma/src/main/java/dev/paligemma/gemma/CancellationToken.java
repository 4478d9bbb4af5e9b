package dev.paligemma.gemma;

/**
 * Cancels a running generation from any thread. Generation checks it before prefill, between prefill
 * layers and before every decode step, and then returns normally with {@link StopReason#CANCELLED} and
 * the tokens produced so far (no exception). Once cancelled a token stays cancelled; use a new one per call.
 */
public final class CancellationToken {
    private volatile boolean cancelled;
    private final CancellationToken parent;

    public CancellationToken() {
        this(null);
    }

    private CancellationToken(CancellationToken parent) {
        this.parent = parent;
    }

    /** A token that is cancelled when it or {@code parent} (may be null) is, e.g. a per-call token under a caller's. */
    public static CancellationToken childOf(CancellationToken parent) {
        return new CancellationToken(parent);
    }

    /** Requests cancellation; safe to call from any thread, any number of times. */
    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled || (parent != null && parent.isCancelled());
    }
}
