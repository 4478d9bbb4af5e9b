package dev.paligemma.bench;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The figures of one {@link BenchmarkRunner#run}, each with the limit it is read against: decode bandwidth
 * against the measured memory bandwidth, prefill and vision GFLOP/s against the FMA peak, peak RSS against
 * physical memory, the Java heap against its maximum.
 *
 * @param model              synthetic model name or checkpoint folder name
 * @param dtype              weight type measured ({@code f32}, {@code bf16})
 * @param threads            kernel pool threads
 * @param quick              whether the reduced repetitions were used
 * @param machine            CPU model, core count and JDK, for the record
 * @param checkpointBytes    bytes of all weight files
 * @param decoderWeightBytes weight bytes a decode step reads: every decoder tensor, the tied embedding
 *                           counted once as the output head
 * @param generateS          seconds spent writing the synthetic checkpoint (0 when cached)
 * @param limitRuns          each measurement of the machine's ceilings before the model phases, and after them
 *                           unless quick
 * @param decodeLimitRuns    the same measurement right before and right after the timed decode runs: the memory
 *                           bandwidth the decode is read against ({@link #decodeBandwidthGbPerS}). This machine's
 *                           bandwidth moves between two levels (about 33 and 55-65 GB/s) over minutes, so a probe
 *                           minutes away from the decode can read the other level; empty when not measured
 * @param loadS              opening the checkpoint and building the vision tower and decoder
 * @param visionMs           encoding and projecting one image (best run)
 * @param visionFlop         FLOPs of that ({@link FlopCount#vision})
 * @param prefillTokens      prefix length (image rows plus 10 text tokens)
 * @param prefillMs          prefill of the prefix (best run)
 * @param prefillFlop        FLOPs of that ({@link FlopCount#prefill})
 * @param decodeTokens       tokens timed in the decode loop
 * @param decodeRunsS        seconds for those tokens, each timed run in order; the best counts ({@link #decodeS})
 * @param decodeAllocatedPerToken heap bytes allocated per timed decode step, all threads (-1 if the JVM cannot
 *                           count them): about 0 when the kernels compiled as intended
 * @param weightsReadGbPerS  a streaming sum over the decoder's own weight pages right after the decode, all
 *                           threads, best run ({@link StreamingRead}): the ceiling on the memory the decode reads
 * @param weightsInHugePages the fraction of the mapped weight pages mapped 2 MB at a time then
 *                           ({@link MemoryStats#weightsInHugePagesFraction}), -1 if unknown
 * @param peakRssBytes       {@code VmHWM} after the measurements (mapped weight pages count), -1 if unknown
 * @param physicalBytes      {@code MemTotal}, -1 if unknown
 * @param heapPeakBytes      heap peak over the measurements (sum of the pools' peaks)
 * @param heapUsedBytes      heap in use at the end
 * @param heapMaxBytes       maximum heap
 * @param decodeMsByPhase    milliseconds per timed decode step by phase, over all timed runs
 *                           ({@link dev.paligemma.gemma.DecodeProfile#msPerStep}); empty if not measured
 */
public record BenchReport(String model, String dtype, int threads, boolean quick, String machine,
                          long checkpointBytes, long decoderWeightBytes, double generateS, List<MachineLimits> limitRuns,
                          List<MachineLimits> decodeLimitRuns,
                          double loadS, double visionMs, double visionFlop, int prefillTokens, double prefillMs,
                          double prefillFlop, int decodeTokens, List<Double> decodeRunsS, double decodeAllocatedPerToken, double weightsReadGbPerS, double weightsInHugePages, long peakRssBytes, long physicalBytes,
                          long heapPeakBytes, long heapUsedBytes, long heapMaxBytes, Map<String, Double> decodeMsByPhase) {

    public BenchReport {
        limitRuns = List.copyOf(limitRuns);
        decodeLimitRuns = List.copyOf(decodeLimitRuns);
        decodeRunsS = List.copyOf(decodeRunsS);
        decodeMsByPhase = Collections.unmodifiableMap(new LinkedHashMap<>(decodeMsByPhase));
        if (decodeRunsS.isEmpty()) {
            throw new IllegalArgumentException("BenchReport: no timed decode run");
        }
        if (limitRuns.isEmpty()) {
            throw new IllegalArgumentException("BenchReport: no measurement of the machine's limits");
        }
    }

    /**
     * The best of every measurement of the machine's ceilings, {@link #limitRuns} and {@link #decodeLimitRuns}
     * ({@link MachineLimits#best}): the FMA peak prefill and vision are read against, and the highest bandwidth
     * seen.
     */
    public MachineLimits limits() {
        List<MachineLimits> all = new java.util.ArrayList<>(limitRuns);
        all.addAll(decodeLimitRuns);
        return MachineLimits.best(all);
    }

    /**
     * The memory bandwidth the decode is read against: the better of the two probes around the timed decode runs
     * ({@link #decodeLimitRuns}), or of all probes when those were not taken.
     */
    public double decodeBandwidthGbPerS() {
        return decodeLimitRuns.isEmpty() ? limits().bandwidthGbPerS() : MachineLimits.best(decodeLimitRuns).bandwidthGbPerS();
    }

    public double visionGflops() {
        return visionFlop / (visionMs / 1e3) / 1e9;
    }

    public double prefillGflops() {
        return prefillFlop / (prefillMs / 1e3) / 1e9;
    }

    public double prefillTokensPerS() {
        return prefillTokens / (prefillMs / 1e3);
    }

    /** Seconds of the best timed decode run, as vision and prefill count their best run. */
    public double decodeS() {
        return decodeRunsS.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
    }

    public double decodeTokensPerS() {
        return decodeTokens / decodeS();
    }

    /** Weight bytes streamed per second while decoding: {@link #decoderWeightBytes} x tokens/s. */
    public double decodeGbPerS() {
        return decoderWeightBytes * decodeTokensPerS() / 1e9;
    }

    /** {@link #decodeGbPerS} against {@link #decodeBandwidthGbPerS}. */
    public double decodeFractionOfBandwidth() {
        return decodeGbPerS() / decodeBandwidthGbPerS();
    }

    /** {@link #decodeGbPerS} against the best bandwidth of every probe ({@link #limits()}), whenever it was taken. */
    public double decodeFractionOfBestBandwidth() {
        return decodeGbPerS() / limits().bandwidthGbPerS();
    }

    /** {@link #decodeGbPerS} against {@link #weightsReadGbPerS}. */
    public double decodeFractionOfWeightsRead() {
        return decodeGbPerS() / weightsReadGbPerS;
    }

    public double prefillFractionOfPeak() {
        return prefillGflops() / limits().fmaPeakGflops();
    }

    public double visionFractionOfPeak() {
        return visionGflops() / limits().fmaPeakGflops();
    }

    public double peakRssMb() {
        return peakRssBytes / 1048576.0;
    }

    /** The report as a flat JSON object (keys in {@link #toMap()} order). */
    public String toJson() {
        StringBuilder sb = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, Object> e : toMap().entrySet()) {
            sb.append(first ? "" : ",");
            first = false;
            string(e.getKey(), sb);
            sb.append(':');
            Object v = e.getValue();
            switch (v) {
                case String s -> string(s, sb);
                case Boolean b -> sb.append(b);
                case Double d -> number(d, sb);
                case List<?> list -> {
                    sb.append('[');
                    for (int i = 0; i < list.size(); i++) {
                        sb.append(i == 0 ? "" : ",");
                        number((Double) list.get(i), sb);
                    }
                    sb.append(']');
                }
                default -> sb.append(v);
            }
        }
        return sb.append('}').toString();
    }

    /** Every figure by its JSON key; the first eleven are the stable keys scripts rely on. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("decode_tokens_per_s", decodeTokensPerS());
        m.put("decode_gb_per_s", decodeGbPerS());
        m.put("bandwidth_gb_per_s", decodeBandwidthGbPerS());
        m.put("decode_fraction_of_bandwidth", decodeFractionOfBandwidth());
        m.put("prefill_gflops", prefillGflops());
        m.put("vision_gflops", visionGflops());
        m.put("fma_peak_gflops", limits().fmaPeakGflops());
        m.put("prefill_fraction_of_peak", prefillFractionOfPeak());
        m.put("vision_fraction_of_peak", visionFractionOfPeak());
        m.put("load_s", loadS);
        m.put("peak_rss_mb", peakRssMb());
        m.put("model", model);
        m.put("dtype", dtype);
        m.put("threads", threads);
        m.put("quick", quick);
        m.put("machine", machine);
        m.put("checkpoint_bytes", checkpointBytes);
        m.put("decoder_weight_bytes_per_token", decoderWeightBytes);
        m.put("generate_s", generateS);
        m.put("vision_ms", visionMs);
        m.put("vision_gflop", visionFlop / 1e9);
        m.put("prefill_tokens", prefillTokens);
        m.put("prefill_ms", prefillMs);
        m.put("prefill_tokens_per_s", prefillTokensPerS());
        m.put("prefill_gflop", prefillFlop / 1e9);
        m.put("decode_tokens", decodeTokens);
        m.put("decode_ms_per_token", decodeS() * 1e3 / decodeTokens);
        m.put("decode_ms_per_token_runs", decodeRunsS.stream().map(x -> x * 1e3 / decodeTokens).toList());
        m.put("decode_allocated_bytes_per_token", decodeAllocatedPerToken);
        decodeMsByPhase.forEach((phase, ms) -> m.put("decode_phase_ms_" + phase, ms));
        m.put("weights_read_gb_per_s", weightsReadGbPerS);
        m.put("decode_fraction_of_weights_read", decodeFractionOfWeightsRead());
        m.put("weights_in_huge_pages_fraction", weightsInHugePages);
        m.put("bandwidth_gb_per_s_best", limits().bandwidthGbPerS());
        m.put("decode_fraction_of_best_bandwidth", decodeFractionOfBestBandwidth());
        m.put("physical_memory_mb", physicalBytes / 1048576.0);
        m.put("peak_rss_fraction_of_ram", (double) peakRssBytes / physicalBytes);
        m.put("heap_peak_mb", heapPeakBytes / 1048576.0);
        m.put("heap_used_mb", heapUsedBytes / 1048576.0);
        m.put("heap_max_mb", heapMaxBytes / 1048576.0);
        m.put("heap_peak_fraction_of_max", (double) heapPeakBytes / heapMaxBytes);
        m.put("vector_bits", limits().vectorBits());
        m.put("bandwidth_gb_per_s_runs", limitRuns.stream().map(MachineLimits::bandwidthGbPerS).toList());
        m.put("fma_peak_gflops_runs", limitRuns.stream().map(MachineLimits::fmaPeakGflops).toList());
        m.put("bandwidth_gb_per_s_at_decode_runs", decodeLimitRuns.stream().map(MachineLimits::bandwidthGbPerS).toList());
        m.put("fma_peak_gflops_at_decode_runs", decodeLimitRuns.stream().map(MachineLimits::fmaPeakGflops).toList());
        return m;
    }

    /** A Markdown table for people (and for {@code docs/performance.md}). */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s %s, %d threads%s; %s%n", model, dtype, threads, quick ? " (quick)" : "",
                machine));
        sb.append(String.format(Locale.ROOT, "weights %.2f GB, read per decoded token %.2f GB%s%n", checkpointBytes / 1e9,
                decoderWeightBytes / 1e9, generateS > 0 ? String.format(Locale.ROOT, " (generated in %.0f s)", generateS) : ""));
        sb.append("\n| measurement | figure | fraction of limit |\n|---|---|---|\n");
        row(sb, "memory bandwidth around the decode (limit)", f("%.1f GB/s", decodeBandwidthGbPerS()),
                decodeLimitRuns.isEmpty() ? "not measured; best of all probes" : "best of " + runs(decodeLimitRuns, MachineLimits::bandwidthGbPerS));
        row(sb, "memory bandwidth, best probe", f("%.1f GB/s", limits().bandwidthGbPerS()),
                "before/after the model phases " + runs(limitRuns, MachineLimits::bandwidthGbPerS)
                        + (decodeLimitRuns.isEmpty() ? "" : "; around the decode " + runs(decodeLimitRuns, MachineLimits::bandwidthGbPerS)));
        row(sb, "FMA peak (limit)", f("%.1f GFLOP/s (%d-bit vectors)", limits().fmaPeakGflops(), limits().vectorBits()),
                "best of " + runs(limitRuns, MachineLimits::fmaPeakGflops)
                        + (decodeLimitRuns.isEmpty() ? "" : ", " + runs(decodeLimitRuns, MachineLimits::fmaPeakGflops)));
        row(sb, "load (open + build)", f("%.2f s", loadS), "-");
        row(sb, "vision encode, 1 image", f("%.0f ms, %.1f GFLOP/s (%.1f GFLOP)", visionMs, visionGflops(), visionFlop / 1e9),
                pct(visionFractionOfPeak()) + " of FMA peak");
        row(sb, f("prefill, %d tokens", prefillTokens), f("%.0f ms, %.1f tokens/s, %.1f GFLOP/s", prefillMs,
                prefillTokensPerS(), prefillGflops()), pct(prefillFractionOfPeak()) + " of FMA peak");
        row(sb, f("decode, %d tokens", decodeTokens), f("%.2f tokens/s, %.1f GB/s (best of %s s)", decodeTokensPerS(), decodeGbPerS(),
                        String.join(", ", decodeRunsS.stream().map(x -> f("%.2f", x)).toList())),
                pct(decodeFractionOfBandwidth()) + " of bandwidth (" + pct(decodeFractionOfBestBandwidth()) + " of every probe's best)");
        if (!decodeMsByPhase.isEmpty()) {
            row(sb, "decode step by phase", String.join(", ", decodeMsByPhase.entrySet().stream()
                    .map(e -> f("%s %.1f ms", e.getKey(), e.getValue())).toList()), "mean of the timed runs");
        }
        row(sb, "heap allocated per decode step", decodeAllocatedPerToken < 0 ? "unknown" : f("%.0f bytes", decodeAllocatedPerToken), "-");
        row(sb, "streaming the decoder weights", f("%.1f GB/s", weightsReadGbPerS),
                "decode " + pct(decodeFractionOfWeightsRead()) + " of it");
        row(sb, "weight pages mapped 2 MB at a time", weightsInHugePages < 0 ? "unknown" : pct(weightsInHugePages), "-");
        row(sb, "peak RSS (VmHWM)", f("%.0f MB", peakRssMb()),
                physicalBytes > 0 ? pct((double) peakRssBytes / physicalBytes) + " of RAM" : "-");
        row(sb, "Java heap peak / used", f("%.0f / %.0f MB", heapPeakBytes / 1048576.0, heapUsedBytes / 1048576.0),
                pct((double) heapPeakBytes / heapMaxBytes) + " of max heap " + f("%.0f MB", heapMaxBytes / 1048576.0));
        return sb.toString();
    }

    private static String runs(List<MachineLimits> runs, java.util.function.ToDoubleFunction<MachineLimits> figure) {
        return String.join(", ", runs.stream().map(m -> f("%.1f", figure.applyAsDouble(m))).toList());
    }

    private static void number(double d, StringBuilder sb) {
        sb.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.6g", d) : "null");
    }

    private static void row(StringBuilder sb, String a, String b, String c) {
        sb.append("| ").append(a).append(" | ").append(b).append(" | ").append(c).append(" |\n");
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    private static String pct(double fraction) {
        return String.format(Locale.ROOT, "%.0f %%", fraction * 100);
    }

    private static void string(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        sb.append('"');
    }
}
