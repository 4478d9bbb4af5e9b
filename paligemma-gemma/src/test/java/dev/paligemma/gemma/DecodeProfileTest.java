package dev.paligemma.gemma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link GemmaSession#profileDecode}: off by default, every phase timed when on, results unchanged. */
class DecodeProfileTest {
    private static final List<String> PHASES = List.of("qkv", "attention", "out", "gate_up", "down", "head", "other");

    @Test
    void phasesCoverTheStepsAndLeaveTheLogitsAlone() {
        try (Fixtures.Loaded m = Fixtures.Loaded.of("paligemma2-tiny")) {
            GemmaModel model = m.model();
            int h = model.config().hiddenSize();
            DecoderInput input = model.input(new float[4 * h], 4, new int[] {2, 10, 11, 108});
            int steps = 6;
            float[] plain = new float[model.config().vocabSize()];
            float[] profiled = new float[plain.length];
            try (GemmaSession s = model.newSession(input.length() + steps + 1)) {
                s.prefill(input);
                for (int i = 0; i < steps; i++) {
                    s.step(100 + i, plain);
                }
                DecodeProfile off = s.decodeProfile();
                assertEquals(0, off.steps());
                assertEquals(PHASES, List.copyOf(off.nanosByPhase().keySet()));
                off.nanosByPhase().values().forEach(v -> assertEquals(0L, v));
                assertTrue(off.msPerStep().isEmpty());

                s.prefill(input);
                s.profileDecode(true);
                long t0 = System.nanoTime();
                for (int i = 0; i < steps; i++) {
                    s.step(100 + i, profiled);
                }
                double wallMs = (System.nanoTime() - t0) / 1e6 / steps;
                DecodeProfile on = s.decodeProfile();
                assertArrayEquals(plain, profiled, "profiling changed the logits");
                assertEquals(steps, on.steps());
                Map<String, Double> ms = on.msPerStep();
                assertEquals(PHASES, List.copyOf(ms.keySet()));
                for (String p : PHASES) {
                    assertTrue(on.nanosByPhase().get(p) > 0, p + " not timed: " + on);
                }
                // the phases are disjoint slices of each step: together no more than the wall time around the
                // steps (no lower bound: on this tiny model, still interpreted in part, the argument checks
                // outside the phases took a third of a 76 us step once)
                double total = on.totalMsPerStep();
                assertTrue(total <= wallMs, total + " ms of phases in a " + wallMs + " ms step");
                assertEquals(total, ms.values().stream().mapToDouble(Double::doubleValue).sum(), 1e-9);

                s.profileDecode(false);
                s.step(120, profiled);
                assertEquals(0, s.decodeProfile().steps());
            }
        }
    }
}
