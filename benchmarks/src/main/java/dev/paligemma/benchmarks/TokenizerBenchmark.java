package dev.paligemma.benchmarks;

import dev.paligemma.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encode and decode throughput of the SentencePiece BPE tokenizer on ~100 KB of deterministic
 * English-like text, single thread. MB/s = textBytes / (ms per op * 1000).
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar TokenizerBenchmark
 * -p model=/path/to/tokenizer.model} (default: the fixture model, a 1,856-piece vocabulary; the real
 * 257,152-piece model has more and longer pieces, so more merges per character).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class TokenizerBenchmark {
    private static final String[] WORDS = ("the a cat dog sitting on wooden table image what is in "
            + "red car street people standing near building with two of and to at large small white black "
            + "picture shows man woman holding umbrella while walking down road during rainy day there are "
            + "several trees behind them sky looks cloudy describe answer caption detect segment question "
            + "photograph children playing park green grass bicycle leaning against wall window door").split(" ");

    @Param("fixtures/tokenizer/tokenizer.model")
    public String model;

    private Tokenizer tokenizer;
    private String text;
    private int[] ids;

    /** ~100 KB of sentences from a fixed word list, fixed seed: the same text on every run. */
    static String englishText(int targetBytes) {
        Random rnd = new Random(20240601L);
        StringBuilder sb = new StringBuilder(targetBytes + 200);
        while (sb.length() < targetBytes) {
            int n = 6 + rnd.nextInt(12);
            for (int i = 0; i < n; i++) {
                String w = WORDS[rnd.nextInt(WORDS.length)];
                if (i == 0) w = Character.toUpperCase(w.charAt(0)) + w.substring(1);
                sb.append(w).append(i == n - 1 ? "" : " ");
            }
            sb.append(rnd.nextInt(10) == 0 ? ", " + rnd.nextInt(2030) + ".\n" : ". ");
        }
        return sb.toString();
    }

    @Setup
    public void setup() {
        tokenizer = Tokenizer.load(Path.of(model));
        text = englishText(100_000);
        ids = tokenizer.encode(text);
        System.out.printf("%ntext: %d bytes, %d tokens, vocabulary %d pieces%n",
                text.getBytes(StandardCharsets.UTF_8).length, ids.length, tokenizer.vocabSize());
    }

    @Benchmark
    public int[] encode() {
        return tokenizer.encode(text);
    }

    @Benchmark
    public String decode() {
        return tokenizer.decode(ids);
    }
}
