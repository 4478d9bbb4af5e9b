package dev.paligemma.gemma;

import java.util.Locale;

/** The phases of a decode step that {@link DecodeProfile} times, in step order ({@link #key()} names each there). */
enum DecodePhase {
    QKV, ATTENTION, OUT, GATE_UP, DOWN, HEAD, OTHER;

    /** This phase's name in {@link DecodeProfile#nanosByPhase} and the bench's JSON: the constant in lower case. */
    String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
