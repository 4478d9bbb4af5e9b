package dev.paligemma.bench;

import dev.paligemma.core.DType;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.Json;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchReportTest {
    static final List<String> REQUIRED = List.of("decode_tokens_per_s", "decode_gb_per_s", "bandwidth_gb_per_s",
            "decode_fraction_of_bandwidth", "prefill_gflops", "vision_gflops", "fma_peak_gflops",
            "prefill_fraction_of_peak", "vision_fraction_of_peak", "load_s", "peak_rss_mb");

    static BenchReport report() {
        // limits: the best of two measurements before and after the model phases, 20 GB/s and 400 GFLOP/s, and two
        // around the decode, 10 and 8 GB/s (390 and 350 GFLOP/s).
        // 10 tokens in 2 s (the best of three runs: 2.5, 2.0 and 3.0 s) over 1 GB of weights: 5 tokens/s, 5 GB/s: half the 10 GB/s around the decode, a quarter of
        // the best probe's 20 GB/s, and of 8 GB/s streaming the weights themselves;
        // 100 GFLOP vision in 1000 ms and 400 GFLOP prefill of 200 tokens in 2000 ms against a 400 GFLOP/s peak
        return new BenchReport("tiny", "bf16", 2, true, "test cpu", 3_000_000_000L, 1_000_000_000L, 0,
                List.of(new MachineLimits(20, 300, 512, 2), new MachineLimits(15, 400, 512, 2)),
                List.of(new MachineLimits(10, 390, 512, 2), new MachineLimits(8, 350, 512, 2)), 0.5, 1000, 100e9, 200, 2000, 400e9, 10, List.of(2.5, 2.0, 3.0), 16.0, 8.0, 0.75,
                2048L << 20, 16384L << 20, 100L << 20, 50L << 20, 1000L << 20,
                phases());
    }

    /** A step's phases in step order, as {@link dev.paligemma.gemma.DecodeProfile#msPerStep} gives them. */
    private static Map<String, Double> phases() {
        Map<String, Double> p = new java.util.LinkedHashMap<>();
        p.put("qkv", 20.0);
        p.put("attention", 5.0);
        p.put("down", 100.0);
        return p;
    }

    @Test
    void jsonHasEveryRequiredKeyWithTheRightValues() {
        Object parsed = Json.parse(report().toJson());
        Map<?, ?> m = assertInstanceOf(Map.class, parsed);
        for (String key : REQUIRED) {
            assertInstanceOf(Number.class, m.get(key), key);
        }
        assertEquals(5.0, num(m, "decode_tokens_per_s"), 1e-9);
        assertEquals(200.0, num(m, "decode_ms_per_token"), 1e-9);
        assertEquals(List.of(250.0, 200.0, 300.0), list(m, "decode_ms_per_token_runs"));
        assertEquals(5.0, num(m, "decode_gb_per_s"), 1e-9);
        assertEquals(10.0, num(m, "bandwidth_gb_per_s"), 1e-9);
        assertEquals(0.5, num(m, "decode_fraction_of_bandwidth"), 1e-9);
        assertEquals(20.0, num(m, "bandwidth_gb_per_s_best"), 1e-9);
        assertEquals(0.25, num(m, "decode_fraction_of_best_bandwidth"), 1e-9);
        assertEquals(8.0, num(m, "weights_read_gb_per_s"), 1e-9);
        assertEquals(0.625, num(m, "decode_fraction_of_weights_read"), 1e-9);
        assertEquals(0.75, num(m, "weights_in_huge_pages_fraction"), 1e-9);
        assertEquals(16.0, num(m, "decode_allocated_bytes_per_token"), 1e-9);
        assertEquals(20.0, num(m, "decode_phase_ms_qkv"), 1e-9);
        assertEquals(5.0, num(m, "decode_phase_ms_attention"), 1e-9);
        assertEquals(100.0, num(m, "decode_phase_ms_down"), 1e-9);
        assertTrue(report().toTable().contains("| decode step by phase | qkv 20.0 ms, attention 5.0 ms, down 100.0 ms | mean of the timed runs |"),
                report().toTable());
        assertTrue(report().toTable().contains("| heap allocated per decode step | 16 bytes | - |"), report().toTable());
        assertTrue(report().toTable().contains("| weight pages mapped 2 MB at a time | 75 % | - |"), report().toTable());
        assertEquals(200.0, num(m, "prefill_gflops"), 1e-9);
        assertEquals(100.0, num(m, "vision_gflops"), 1e-9);
        assertEquals(400.0, num(m, "fma_peak_gflops"), 1e-9);
        assertEquals(0.5, num(m, "prefill_fraction_of_peak"), 1e-9);
        assertEquals(0.25, num(m, "vision_fraction_of_peak"), 1e-9);
        assertEquals(0.5, num(m, "load_s"), 1e-9);
        assertEquals(2048.0, num(m, "peak_rss_mb"), 1e-9);
        assertEquals(100.0, num(m, "prefill_tokens_per_s"), 1e-9);
        assertEquals("tiny", m.get("model"));
        // each measurement of the limits, the fractions above read against their best
        assertEquals(List.of(20.0, 15.0), list(m, "bandwidth_gb_per_s_runs"));
        assertEquals(List.of(300.0, 400.0), list(m, "fma_peak_gflops_runs"));
        assertEquals(List.of(10.0, 8.0), list(m, "bandwidth_gb_per_s_at_decode_runs"));
        assertEquals(List.of(390.0, 350.0), list(m, "fma_peak_gflops_at_decode_runs"));
    }

    @Test
    void withoutProbesAroundTheDecodeItIsReadAgainstTheBestProbe() {
        BenchReport r = report();
        BenchReport none = new BenchReport(r.model(), r.dtype(), r.threads(), r.quick(), r.machine(), r.checkpointBytes(),
                r.decoderWeightBytes(), r.generateS(), r.limitRuns(), List.of(), r.loadS(), r.visionMs(), r.visionFlop(),
                r.prefillTokens(), r.prefillMs(), r.prefillFlop(), r.decodeTokens(), r.decodeRunsS(), r.decodeAllocatedPerToken(), r.weightsReadGbPerS(),
                r.weightsInHugePages(), r.peakRssBytes(), r.physicalBytes(), r.heapPeakBytes(), r.heapUsedBytes(), r.heapMaxBytes(), r.decodeMsByPhase());
        assertEquals(20.0, none.decodeBandwidthGbPerS(), 1e-9);
        assertEquals(0.25, none.decodeFractionOfBandwidth(), 1e-9);
        assertEquals(400.0, none.limits().fmaPeakGflops(), 1e-9);
        assertTrue(none.toTable().contains("| memory bandwidth around the decode (limit) | 20.0 GB/s | not measured; best of all probes |"),
                none.toTable());
    }

    @Test
    void aReportNeedsATimedDecodeRun() {
        BenchReport r = report();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BenchReport(r.model(), r.dtype(),
                r.threads(), r.quick(), r.machine(), r.checkpointBytes(), r.decoderWeightBytes(), r.generateS(), r.limitRuns(),
                r.decodeLimitRuns(), r.loadS(), r.visionMs(), r.visionFlop(), r.prefillTokens(), r.prefillMs(), r.prefillFlop(),
                r.decodeTokens(), List.of(), r.decodeAllocatedPerToken(), r.weightsReadGbPerS(), r.weightsInHugePages(), r.peakRssBytes(), r.physicalBytes(), r.heapPeakBytes(),
                r.heapUsedBytes(), r.heapMaxBytes(), r.decodeMsByPhase()));
        assertTrue(e.getMessage().contains("decode"), e.getMessage());
    }

    @Test
    void limitsAreTheBestOfEachMeasurement() {
        MachineLimits best = MachineLimits.best(List.of(new MachineLimits(27.1, 117, 512, 2), new MachineLimits(25.0, 233, 512, 2)));
        assertEquals(27.1, best.bandwidthGbPerS());
        assertEquals(233, best.fmaPeakGflops());
        assertEquals(512, best.vectorBits());
        assertThrows(IllegalArgumentException.class, () -> MachineLimits.best(List.of()));
    }

    @Test
    void tableNamesEachFigureAndItsFraction() {
        String table = report().toTable();
        assertTrue(table.contains("| decode, 10 tokens | 5.00 tokens/s, 5.0 GB/s (best of 2.50, 2.00, 3.00 s) | 50 % of bandwidth (25 % of every probe's best) |"), table);
        assertTrue(table.contains("| streaming the decoder weights | 8.0 GB/s | decode 63 % of it |"), table);
        assertTrue(table.contains("| prefill, 200 tokens | 2000 ms, 100.0 tokens/s, 200.0 GFLOP/s | 50 % of FMA peak |"), table);
        assertTrue(table.contains("| peak RSS (VmHWM) | 2048 MB | 13 % of RAM |"), table);
        assertTrue(table.contains("| memory bandwidth around the decode (limit) | 10.0 GB/s | best of 10.0, 8.0 |"), table);
        assertTrue(table.contains("| memory bandwidth, best probe | 20.0 GB/s | before/after the model phases 20.0, 15.0; around the decode 10.0, 8.0 |"), table);
        assertTrue(table.contains("| FMA peak (limit) | 400.0 GFLOP/s (512-bit vectors) | best of 300.0, 400.0, 390.0, 350.0 |"), table);
    }

    @Test
    void optionsRejectQ8AndUnknownNames() {
        assertTrue(BenchOptions.of("paligemma-3b-224", "q8").q8());
        assertEquals(DType.BF16, BenchOptions.of("paligemma-3b-224", "q8").weightType(), "q8 quantises the bf16 synthetic checkpoint");
        InvalidArgumentException name = assertThrows(InvalidArgumentException.class,
                () -> BenchOptions.of("paligemma-7b", "bf16"));
        assertTrue(name.getMessage().contains("paligemma-7b") && name.getMessage().contains("paligemma2-3b-448"),
                name.getMessage());
        assertThrows(InvalidArgumentException.class, () -> BenchOptions.of("paligemma-3b-224", "fp8"));
        assertThrows(InvalidArgumentException.class, () -> BenchOptions.of("paligemma-3b-224", "f32").withThreads(-1));
        assertEquals(8, BenchOptions.of("paligemma-3b-224", "F32").withQuick(true).decodeTokens());
    }

    private static List<Double> list(Map<?, ?> m, String key) {
        return ((List<?>) m.get(key)).stream().map(o -> ((Number) o).doubleValue()).toList();
    }

    private static double num(Map<?, ?> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }
}
