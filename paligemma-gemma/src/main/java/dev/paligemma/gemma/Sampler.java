package dev.paligemma.gemma;

import java.util.Arrays;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * Chooses the next token from logits: argmax when greedy, otherwise temperature, then top-k, then
 * top-p (the order transformers applies them), then one draw from a generator seeded by
 * {@link GenerationOptions#seed()}, so a seed reproduces a run. One instance per generation.
 */
final class Sampler {
    private final GenerationOptions options;
    private final SplittableRandom random;

    Sampler(GenerationOptions options) {
        this.options = options;
        this.random = new SplittableRandom(options.seed());
    }

    int next(float[] logits, int vocab) {
        if (options.isGreedy()) {
            return argmax(logits, vocab);
        }
        int[] cand = candidates(logits, vocab, options.topK());
        double inv = 1 / options.temperature();
        double max = logits[cand[0]] * inv;
        double[] p = new double[cand.length];
        double sum = 0;
        for (int i = 0; i < cand.length; i++) {
            p[i] = Math.exp(logits[cand[i]] * inv - max);
            sum += p[i];
        }
        int keep = cand.length;
        if (options.topP() < 1) {
            double cum = 0;
            for (int i = 0; i < cand.length; i++) {
                cum += p[i] / sum;
                if (cum >= options.topP()) {
                    keep = i + 1;
                    break;
                }
            }
        }
        double mass = 0;
        for (int i = 0; i < keep; i++) {
            mass += p[i];
        }
        double u = random.nextDouble() * mass;
        for (int i = 0; i < keep; i++) {
            u -= p[i];
            if (u < 0) {
                return cand[i];
            }
        }
        return cand[keep - 1];
    }

    /** Index of the largest logit, the lowest index among equals. */
    static int argmax(float[] logits, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Token ids by decreasing logit (ties: lower id first), only the top {@code k} when {@code k > 0}. */
    static int[] candidates(float[] logits, int vocab, int k) {
        if (k > 0 && k < vocab) {
            // min-heap of the best k seen so far: O(V log k) instead of sorting the whole vocabulary
            PriorityQueue<Integer> heap = new PriorityQueue<>(k, (a, b) -> compare(logits, b, a));
            for (int i = 0; i < vocab; i++) {
                if (heap.size() < k) {
                    heap.add(i);
                } else if (compare(logits, i, heap.peek()) < 0) {
                    heap.poll();
                    heap.add(i);
                }
            }
            int[] out = new int[heap.size()];
            for (int i = out.length - 1; i >= 0; i--) {
                out[i] = heap.poll();
            }
            return out;
        }
        long[] keys = new long[vocab];
        for (int i = 0; i < vocab; i++) {
            keys[i] = ((long) orderable(-logits[i]) << 32) | i;
        }
        Arrays.sort(keys);
        int[] out = new int[vocab];
        for (int i = 0; i < vocab; i++) {
            out[i] = (int) keys[i];
        }
        return out;
    }

    /** Negative when token a ranks before token b (higher logit, or equal logit and lower id). */
    private static int compare(float[] logits, int a, int b) {
        int c = Float.compare(logits[b], logits[a]);
        return c != 0 ? c : Integer.compare(a, b);
    }

    /** Float bits mapped to an int whose signed order is the float order. */
    private static int orderable(float f) {
        int bits = Float.floatToIntBits(f);
        return bits ^ ((bits >> 31) & 0x7fffffff);
    }
}
