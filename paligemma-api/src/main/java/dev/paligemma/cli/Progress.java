package dev.paligemma.cli;

import java.io.PrintWriter;

/** Progress and timing lines on stderr, silenced by {@code --quiet}. */
final class Progress {
    private final PrintWriter err;
    private final boolean quiet;

    Progress(PrintWriter err, boolean quiet) {
        this.err = err;
        this.quiet = quiet;
    }

    void say(String line) {
        if (!quiet) {
            err.println(line);
            err.flush();
        }
    }
}
