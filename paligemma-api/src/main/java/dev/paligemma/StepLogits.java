package dev.paligemma;

/** Receives the logits of every generation step (row 0: the last prefix position). */
@FunctionalInterface
public interface StepLogits {
    /**
     * @param step   0-based step
     * @param logits the vocabulary's logits; valid only during the call (copy to keep)
     */
    void onStep(int step, float[] logits);
}
