package dev.paligemma.gemma;

import dev.paligemma.core.InvalidArgumentException;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sampling distributions on fixed logits (expected probabilities worked out by hand) and option validation. */
class SamplerTest {
    /** Probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1, put at shuffled ids. */
    static final float[] LOGITS = new float[6];

    static {
        java.util.Arrays.fill(LOGITS, Float.NEGATIVE_INFINITY);
        LOGITS[4] = (float) Math.log(0.5);
        LOGITS[1] = (float) Math.log(0.3);
        LOGITS[5] = (float) Math.log(0.15);
        LOGITS[0] = (float) Math.log(0.05);
    }

    static final int DRAWS = 200_000;
    /** About 5 standard deviations of a frequency near 0.5 over DRAWS draws. */
    static final double FREQ_TOL = 0.006;

    static double[] frequencies(GenerationOptions o) {
        Sampler s = new Sampler(o);
        double[] f = new double[LOGITS.length];
        for (int i = 0; i < DRAWS; i++) {
            f[s.next(LOGITS, LOGITS.length)] += 1.0 / DRAWS;
        }
        return f;
    }

    static void assertDistribution(double[] expected, double[] actual) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], FREQ_TOL, "frequency of id " + i);
        }
    }

    static GenerationOptions.Builder sampling() {
        return GenerationOptions.builder().temperature(1).seed(42);
    }

    @Test
    void greedyTakesArgmaxAndLowestIdOnTies() {
        Sampler s = new Sampler(GenerationOptions.greedy(1));
        assertEquals(4, s.next(LOGITS, LOGITS.length));
        assertEquals(1, s.next(new float[]{0, 3, 3, 1}, 4));
    }

    @Test
    void temperatureOneFollowsSoftmax() {
        assertDistribution(new double[]{0.05, 0.3, 0, 0, 0.5, 0.15}, frequencies(sampling().build()));
    }

    @Test
    void temperatureTwoFlattensAsSquareRoots() {
        // p_i^(1/2) / sum: sqrt(.5)=.70711, sqrt(.3)=.54772, sqrt(.15)=.38730, sqrt(.05)=.22361, sum 1.86574
        double sum = 1.8657357;
        assertDistribution(new double[]{0.2236068 / sum, 0.5477226 / sum, 0, 0, 0.7071068 / sum, 0.3872983 / sum},
                frequencies(sampling().temperature(2).build()));
    }

    @Test
    void topKKeepsTheKMostLikely() {
        // 0.5 and 0.3 renormalised: 0.625, 0.375
        assertDistribution(new double[]{0, 0.375, 0, 0, 0.625, 0}, frequencies(sampling().topK(2).build()));
        assertDistribution(new double[]{0, 0, 0, 0, 1, 0}, frequencies(sampling().topK(1).build()));
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // cumulative 0.5, 0.8, 0.95, 1: p = 0.85 keeps three, renormalised by 0.95
        assertDistribution(new double[]{0, 0.3 / 0.95, 0, 0, 0.5 / 0.95, 0.15 / 0.95}, frequencies(sampling().topP(0.85).build()));
        assertDistribution(new double[]{0, 0, 0, 0, 1, 0}, frequencies(sampling().topP(0.4).build()));
        // top-k first, then top-p within the k: {0.625, 0.375}, p = 0.6 keeps only the first
        assertDistribution(new double[]{0, 0, 0, 0, 1, 0}, frequencies(sampling().topK(2).topP(0.6).build()));
    }

    @Test
    void equalSeedsGiveEqualSamplesAndOtherSeedsDiffer() {
        int[] a = draw(7, 500);
        int[] b = draw(7, 500);
        int[] c = draw(8, 500);
        assertArrayEquals(a, b);
        assertTrue(!java.util.Arrays.equals(a, c));
    }

    private static int[] draw(long seed, int n) {
        Sampler s = new Sampler(sampling().seed(seed).build());
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = s.next(LOGITS, LOGITS.length);
        }
        return out;
    }

    @Test
    void candidatesAreOrderedByLogitThenId() {
        float[] l = {1, 5, 3, 5, -2};
        assertArrayEquals(new int[]{1, 3, 2, 0, 4}, Sampler.candidates(l, 5, 0));
        assertArrayEquals(new int[]{1, 3, 2}, Sampler.candidates(l, 5, 3));
    }

    @Test
    void invalidOptionsNameTheOption() {
        assertMessage("maxNewTokens", () -> GenerationOptions.builder().maxNewTokens(0).build());
        assertMessage("temperature", () -> GenerationOptions.builder().temperature(-1).build());
        assertMessage("temperature", () -> GenerationOptions.builder().temperature(Double.NaN).build());
        assertMessage("topK", () -> GenerationOptions.builder().topK(-3).build());
        assertMessage("topP", () -> GenerationOptions.builder().topP(0).build());
        assertMessage("topP", () -> GenerationOptions.builder().topP(1.5).build());
        assertMessage("stopTokenIds", () -> GenerationOptions.builder().stopTokenIds(-4).build());
        assertMessage("stopTokenIds", () -> GenerationOptions.builder().stopTokenIds((java.util.List<Integer>) null).build());
        assertMessage("timeout", () -> GenerationOptions.builder().timeout(Duration.ZERO).build());
    }

    @Test
    void toBuilderRoundTrips() {
        GenerationOptions o = sampling().topK(3).topP(0.9).stopTokenIds(5, 6).timeout(Duration.ofSeconds(2)).build();
        assertEquals(o, o.toBuilder().build());
    }

    static void assertMessage(String option, org.junit.jupiter.api.function.Executable e) {
        InvalidArgumentException ex = assertThrows(InvalidArgumentException.class, e);
        assertTrue(ex.getMessage().startsWith(option + ":"), ex.getMessage());
    }
}
