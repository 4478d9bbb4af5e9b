package dev.paligemma.cli;

import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.gemma.GenerationOptions;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Options every generating command takes. */
final class CommonOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "checkpoint directory (hub layout)")
    Path model;

    @Option(names = "--image", paramLabel = "FILE",
            description = "input image; repeat for several images in one prompt (all before <bos>, in order)")
    List<Path> images = new ArrayList<>();

    @Option(names = "--pixel-values", paramLabel = "FILE", hidden = true,
            description = "preprocessed input instead of --image: a safetensors file with tensor 'pixel_values' [N,3,S,S] (for checks against reference runs)")
    Path pixelValues;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "64", description = "most tokens to generate (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0", description = "sampling temperature; 0 = greedy (default)")
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "sample from the K most likely tokens (0 = all)")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1", description = "nucleus sampling mass (1 = off)")
    double topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "random seed for sampling (reproducible)")
    long seed;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0", description = "worker threads (0 = one per core)")
    int threads;

    @Option(names = "--json", description = "print one JSON object (text, token ids, detections, timings)")
    boolean json;

    @Option(names = "--print-token-ids", description = "add a last line 'ids: ...' with the generated ids (EOS excluded)")
    boolean printTokenIds;

    @Option(names = "--dump-logits", paramLabel = "FILE", description = "write every step's logits as float32 safetensors tensor 'logits' [steps, vocab]")
    Path dumpLogits;

    @Option(names = "--sliding-window", description = "apply Gemma 2's sliding window on alternate layers (transformers/gemma.cpp behaviour)")
    boolean slidingWindow;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Option(names = "--quiet", description = "no progress or timings on stderr")
    boolean quiet;

    GenerationOptions generationOptions() {
        if (images.isEmpty() == (pixelValues == null)) {
            throw new InvalidArgumentException("--image: give at least one image (or --pixel-values, but not both)");
        }
        if (maxTokens < 1) {
            throw new InvalidArgumentException("--max-tokens: must be >= 1, got " + maxTokens);
        }
        if (temperature < 0 || !Double.isFinite(temperature)) {
            throw new InvalidArgumentException("--temperature: must be >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new InvalidArgumentException("--top-k: must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidArgumentException("--top-p: must be in (0, 1], got " + topP);
        }
        if (threads < 0) {
            throw new InvalidArgumentException("--threads: must be >= 0, got " + threads);
        }
        return GenerationOptions.builder().maxNewTokens(maxTokens).temperature(temperature).topK(topK).topP(topP)
                .seed(seed).build();
    }
}
