package dev.paligemma.bench;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.Tensor;
import dev.paligemma.core.TensorNames;
import dev.paligemma.core.config.PaliGemmaConfig;
import dev.paligemma.core.ops.Parallel;
import dev.paligemma.gemma.DecoderInput;
import dev.paligemma.gemma.GemmaModel;
import dev.paligemma.gemma.GemmaSession;
import dev.paligemma.siglip.VisionTower;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The whole-model benchmark ({@code paligemma bench}): loads a checkpoint (by default a cached synthetic
 * one with the real shapes, see {@link SyntheticCheckpoint}) through the real loader, then times one image
 * through the vision tower (best of 3 after a warm-up), a prefill of the image rows plus 10 text tokens (best of
 * 3 after a warm-up), and greedy decoding of {@link BenchOptions#decodeTokens()} tokens (best of 3 runs,
 * continuing one session after untimed warm-up steps; {@code --quick}: one run of each). The machine's limits
 * ({@link MachineLimits}) are measured first and, unless quick, again after the model phases, so each figure can
 * be read as a fraction of what the hardware allows (against the better measurement of each limit).
 *
 * <p>Token ids are fed directly, so no tokenizer is needed.
 */
public final class BenchmarkRunner {
    /** Text tokens after the image rows: {@code <bos>}, a short prompt and the newline, as in "caption en\n". */
    static final int TEXT_TOKENS = 10;
    static final long STREAM_BYTES = 1L << 30;

    private BenchmarkRunner() {
    }

    /** Runs the benchmark, printing nothing. */
    public static BenchReport run(BenchOptions options) {
        return run(options, null);
    }

    /** Runs the benchmark, reporting each phase to {@code progress} (may be null). */
    public static BenchReport run(BenchOptions options, Consumer<String> progress) {
        return run(options, progress, STREAM_BYTES);
    }

    /** As {@link #run(BenchOptions, Consumer)} with a chosen bandwidth buffer size (tests use a small one). */
    static BenchReport run(BenchOptions options, Consumer<String> progress, long streamBytes) {
        Consumer<String> log = progress == null ? s -> { } : progress;
        if (options.threads() > 0) {
            Parallel.setThreads(options.threads());
        }
        Path dir;
        String model;
        double generateS = 0;
        if (options.checkpoint() != null) {
            dir = options.checkpoint();
            model = dir.getFileName().toString();
        } else {
            SyntheticSpec spec = SyntheticSpec.named(options.synthetic());
            Path root = options.cacheDir() != null ? options.cacheDir() : SyntheticCheckpoint.defaultCacheRoot();
            model = spec.name();
            Path folder = SyntheticCheckpoint.folder(root, spec, options.weightType());
            if (!SyntheticCheckpoint.isComplete(folder)) {
                log.accept("generating synthetic checkpoint " + folder + " (once; cached afterwards)");
                long g0 = System.nanoTime();
                SyntheticCheckpoint.ensure(root, spec, options.weightType(), log);
                generateS = (System.nanoTime() - g0) / 1e9;
            }
            dir = folder;
        }
        int reps = options.quick() ? 1 : 3;
        int prefillReps = options.quick() ? 1 : 3;
        int decodeTokens = options.decodeTokens();

        // first, and in a child JVM: measured in this JVM after the model phases the bandwidth came out several
        // times lower, and the probes' warm-up garbage grew this JVM's heap (see MachineLimits)
        int probeRuns = options.quick() ? 3 : 5;
        List<MachineLimits> limitRuns = new ArrayList<>();
        limitRuns.add(measureLimits(streamBytes, probeRuns, log));
        MemoryStats.resetHeapPeak();
        // the product's caches: Q8, or for stored weights the column panels of long BF16 rows
        Path cacheRoot = options.cacheDir() != null ? options.cacheDir().resolve("q8")
                : dev.paligemma.LoadOptions.defaults().effectiveQ8CacheDir();
        List<MachineLimits> decodeLimitRuns = new ArrayList<>();
        Phases m = measure(dir, options.q8(), cacheRoot, reps, prefillReps, decodeTokens,
                () -> decodeLimitRuns.add(measureLimits(streamBytes, probeRuns, log)), log);
        if (!options.quick()) {
            // again after the model phases, so one disturbed probe does not set the limit (the model's pages
            // are unmapped by now and the child JVM measures the same way)
            limitRuns.add(measureLimits(streamBytes, probeRuns, log));
        }
        return new BenchReport(model, options.dtype(), Parallel.threads(), options.quick(), machine(),
                m.checkpointBytes, m.decoderBytes, generateS, limitRuns, decodeLimitRuns, m.loadS, m.visionMs, m.visionFlop, m.prefixLength,
                m.prefillMs, m.prefillFlop, decodeTokens, m.decodeRunsS, m.decodeAllocatedPerToken, m.weightsReadGbPerS, m.weightsInHugePages, m.rss, MemoryStats.physicalBytes(), m.heapPeak,
                m.heapUsed, MemoryStats.heapMaxBytes(), m.decodeMsByPhase);
    }

    private static MachineLimits measureLimits(long streamBytes, int runs, Consumer<String> log) {
        log.accept("measuring memory bandwidth and FMA peak");
        MachineLimits limits = MachineLimits.measureInFreshJvm(streamBytes, runs, log);
        log.accept(String.format("limits: %.1f GB/s, %.1f GFLOP/s", limits.bandwidthGbPerS(), limits.fmaPeakGflops()));
        return limits;
    }

    /** Untimed decode steps before the timed ones. */
    static final int DECODE_WARM_UP = 4;

    private record Phases(double loadS, double visionMs, double visionFlop, int prefixLength, double prefillMs,
                          double prefillFlop, List<Double> decodeRunsS, double decodeAllocatedPerToken, double weightsReadGbPerS, double weightsInHugePages, long checkpointBytes,
                          long decoderBytes, long rss,
                          long heapPeak, long heapUsed, Map<String, Double> decodeMsByPhase) {
    }

    /**
     * Loads and times the model phases. {@code probeBandwidth} runs right before the timed decode runs and right
     * after them, so the decode is read against a bandwidth measured within seconds of it (see
     * {@link BenchReport#decodeLimitRuns}).
     */
    private static Phases measure(Path dir, boolean q8, Path cacheRoot, int reps, int prefillReps, int decodeTokens,
                                  Runnable probeBandwidth, Consumer<String> log) {
        long t0 = System.nanoTime();
        Checkpoint stored = Checkpoint.open(dir);
        // a view takes over the stored checkpoint; closing it closes both
        try (Checkpoint checkpoint = view(stored, q8, cacheRoot, log)) {
            PaliGemmaConfig config = PaliGemmaConfig.load(dir);
            VisionTower vision = VisionTower.load(checkpoint, config.vision(), config.text().hiddenSize());
            GemmaModel decoder = GemmaModel.load(checkpoint, config);
            double loadS = (System.nanoTime() - t0) / 1e9;
            log.accept(String.format("loaded %s in %.2f s", dir, loadS));

            int side = config.vision().imageSize();
            float[] pixels = new float[config.vision().numChannels() * side * side];
            SplittableRandom random = new SplittableRandom(42);
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = (float) (random.nextDouble() * 2 - 1);
            }
            float[] rows = null;
            double visionMs = Double.MAX_VALUE;
            for (int r = 0; r < reps + 1; r++) { // run 0 warms the kernels up
                long v0 = System.nanoTime();
                rows = vision.imageFeatures(pixels, 1);
                double ms = (System.nanoTime() - v0) / 1e6;
                log.accept(String.format("vision encode %s: %.0f ms", r == 0 ? "(warm-up)" : "#" + r, ms));
                if (r > 0) {
                    visionMs = Math.min(visionMs, ms);
                }
            }

            int imageRows = config.imageTokens();
            DecoderInput input = decoder.input(rows, imageRows, textTokens(config));
            int prefixLength = input.length();
            double prefillMs = Double.MAX_VALUE;
            List<Double> decodeRunsS = new ArrayList<>();
            double allocatedPerToken;
            Map<String, Double> decodeMsByPhase;
            try (GemmaSession session = decoder.newSession(prefixLength + DECODE_WARM_UP + reps * decodeTokens)) {
                float[] logits = null;
                // unless quick, run 0 warms up as vision's does: the first prefill compiles the kernels (paligemma2,
                // 266 tokens: 6.5-8.9 s), and the second and often the third still ran slower (5.0-5.4 s) than the
                // ones after (4.1-4.4 s)
                int warmUps = prefillReps > 1 ? 1 : 0;
                for (int r = 0; r < prefillReps + warmUps; r++) {
                    long p0 = System.nanoTime();
                    logits = session.prefill(input);
                    double ms = (System.nanoTime() - p0) / 1e6;
                    boolean warmUp = r < warmUps;
                    log.accept(String.format("prefill %s (%d tokens): %.0f ms", warmUp ? "(warm-up)" : "#" + (r + 1 - warmUps),
                            prefixLength, ms));
                    if (!warmUp) {
                        prefillMs = Math.min(prefillMs, ms);
                    }
                }
                // untimed steps let C2 compile the decode path (the first runs at half speed); then reps runs of
                // decodeTokens timed greedy steps on the same session, the best counting as vision's and prefill's
                // best runs do (the bandwidth it is compared with is a best of several too). Each step fills the
                // one logits buffer, as a decode loop that keeps no per-token garbage does.
                for (int i = 0; i < DECODE_WARM_UP; i++) {
                    session.step(argmax(logits), logits);
                }
                probeBandwidth.run();
                // where the timed steps' time goes: two clock reads per phase, about 10 us of a 100 ms step
                session.profileDecode(true);
                long allocated0 = MemoryStats.allocatedBytes();
                for (int r = 0; r < reps; r++) {
                    long d0 = System.nanoTime();
                    for (int i = 0; i < decodeTokens; i++) {
                        session.step(argmax(logits), logits);
                    }
                    double s = (System.nanoTime() - d0) / 1e9;
                    log.accept(String.format("decode #%d: %d tokens in %.2f s", r + 1, decodeTokens, s));
                    decodeRunsS.add(s);
                }
                long allocated1 = MemoryStats.allocatedBytes();
                // a step allocates nothing (DecodeAllocationTest); vectors boxed by a failed C2 inlining would
                // show here, and such a step runs several times slower
                allocatedPerToken = allocated0 < 0 || allocated1 < 0 ? -1 : (double) (allocated1 - allocated0) / (reps * decodeTokens);
                log.accept(String.format("heap allocated per decode step: %.0f bytes", allocatedPerToken));
                decodeMsByPhase = session.decodeProfile().msPerStep();
                log.accept("decode step by phase (ms): " + decodeMsByPhase);
                probeBandwidth.run();
            }
            // the decode's own pages, now resident: the ceiling the decode step could reach on them
            double weightsRead = StreamingRead.gbPerS(decoderWeights(checkpoint), reps);
            double hugePages = MemoryStats.weightsInHugePagesFraction();
            log.accept(String.format("streaming the decoder weights: %.1f GB/s; %s of the mapped weights in 2 MB pages",
                    weightsRead, hugePages < 0 ? "unknown part" : String.format("%.0f %%", 100 * hugePages)));
            long rss = MemoryStats.peakRssBytes();
            long heapPeak = MemoryStats.heapPeakBytes();
            long heapUsed = MemoryStats.heapUsedBytes();
            long checkpointBytes = checkpoint.byteSize();
            long decoderBytes = decoderWeightBytes(checkpoint);
            double visionFlop = FlopCount.vision(config.vision());
            double prefillFlop = FlopCount.prefill(config.text(), prefixLength);
            return new Phases(loadS, visionMs, visionFlop, prefixLength, prefillMs, prefillFlop, decodeRunsS, allocatedPerToken, weightsRead, hugePages,
                    checkpointBytes, decoderBytes, rss, heapPeak, heapUsed, decodeMsByPhase);
        }
    }

    /** The view the product loads ({@link dev.paligemma.PaliGemma#load}): Q8, or stored with long BF16 rows in panels. */
    private static Checkpoint view(Checkpoint stored, boolean q8, Path cacheRoot, Consumer<String> log) {
        try {
            if (q8) {
                log.accept("quantising to Q8 (cached under " + cacheRoot + " after the first run)");
            }
            Checkpoint v = (q8 ? dev.paligemma.WeightFormat.Q8 : dev.paligemma.WeightFormat.STORED).view(stored, cacheRoot);
            if (!q8 && v != stored) {
                log.accept("long BF16 rows read in column panels from " + v.panelCacheFile(cacheRoot));
            }
            return v;
        } catch (RuntimeException e) {
            stored.close();
            throw e;
        }
    }

    /** {@code <bos>} then fixed ordinary ids (never the image token), deterministic. */
    static int[] textTokens(PaliGemmaConfig config) {
        int limit = Math.min(config.text().vocabSize(), config.imageTokenIndex());
        int[] ids = new int[TEXT_TOKENS];
        ids[0] = config.bosTokenId();
        for (int i = 1; i < ids.length; i++) {
            ids[i] = 3 + (int) ((i * 7919L) % Math.max(1, limit - 3));
        }
        return ids;
    }

    /** Bytes of every decoder weight a decode step reads; a tied output head is the embedding, counted once. */
    static long decoderWeightBytes(Checkpoint checkpoint) {
        long sum = 0;
        for (MemorySegment s : decoderWeights(checkpoint)) {
            sum += s.byteSize();
        }
        return sum;
    }

    /** The segments of {@link #decoderWeightBytes}: each decoder tensor's values, and a Q8 tensor's scales. */
    static List<MemorySegment> decoderWeights(Checkpoint checkpoint) {
        List<MemorySegment> segments = new ArrayList<>();
        for (Tensor t : checkpoint.tensors().values()) {
            String n = TensorNames.canonical(t.name());
            if (n.startsWith(TensorNames.DECODER) || n.equals(TensorNames.LM_HEAD)) {
                segments.add(t.segment().asSlice(0, t.size() * t.dtype().byteSize()));
                if (t.dtype() == dev.paligemma.core.DType.Q8) {
                    segments.add(t.scales());
                }
            }
        }
        return segments;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** CPU model, core count and JDK, e.g. {@code "AMD EPYC ..., 2 cores, JDK 25.0.3"}. */
    static String machine() {
        String cpu = System.getProperty("os.arch");
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the architecture name will do
        }
        return cpu + ", " + Runtime.getRuntime().availableProcessors() + " cores, JDK " + Runtime.version();
    }
}
