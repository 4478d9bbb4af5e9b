package dev.paligemma.cli;

import dev.paligemma.core.Json;
import dev.paligemma.Generation;
import dev.paligemma.ImageEmbedding;
import dev.paligemma.LoadOptions;
import dev.paligemma.PaliGemma;
import dev.paligemma.core.DType;
import dev.paligemma.core.SafetensorsFile;
import dev.paligemma.core.SafetensorsWriter;
import dev.paligemma.core.Tensor;
import dev.paligemma.gemma.GenerationOptions;
import dev.paligemma.siglip.RgbImage;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Shared flow of the commands that run the model on images: load, embed, generate (streaming text to
 * stdout unless {@code --json}), then the command's own reading of the answer.
 */
abstract class GenerateCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    /** The prompt sent after the image tokens and {@code <bos>}. */
    abstract String prompt();

    /** Adds command-specific results (detections, masks) to the JSON object and writes side outputs. */
    void interpret(PaliGemma model, Generation generation, List<RgbImage> images, Map<String, Object> json) {
    }

    /** Human-readable lines printed after the text when not {@code --json} (e.g. one line per detection). */
    List<String> summary() {
        return List.of();
    }

    @Override
    public Integer call() throws Exception {
        Main.verbose = common.verbose;
        String prompt = prompt();
        GenerationOptions options = common.generationOptions();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Progress progress = new Progress(err, common.quiet);
        progress.say("loading " + common.model);
        LoadOptions load = LoadOptions.defaults().withThreads(common.threads).withSlidingWindow(common.slidingWindow)
                .withWeights(common.weightFormat());
        try (PaliGemma model = PaliGemma.load(common.model, load)) {
            progress.say(String.format("loaded in %.2f s", model.loadNanos() / 1e9));
            List<RgbImage> images = new ArrayList<>();
            for (var path : common.images) {
                images.add(model.readImage(path));
            }
            ImageEmbedding embedding;
            if (common.pixelValues != null) {
                try (SafetensorsFile f = SafetensorsFile.open(common.pixelValues)) {
                    Tensor t = f.tensor("pixel_values");
                    embedding = model.embedPixels(t.toFloatArray(), (int) t.dim(0));
                }
                int side = model.config().vision().imageSize();
                images.add(RgbImage.of(side, side, new byte[side * side * 3]));
            } else {
                embedding = model.embed(images);
            }
            progress.say(String.format("encoded %d image(s) in %.0f ms", images.size(), embedding.encodeNanos() / 1e6));
            List<float[]> logits = common.dumpLogits == null ? null : new ArrayList<>();
            boolean stream = !common.json;
            Generation g = model.generate(embedding, prompt, options,
                    stream ? (id, text) -> {
                        out.print(text);
                        out.flush();
                    } : null,
                    null,
                    logits == null ? null : (step, l) -> logits.add(l.clone()));
            if (stream) {
                out.println();
            }
            progress.say(String.format("prefill %d tokens in %.0f ms; decoded %d tokens in %.0f ms (%.1f tokens/s); stop: %s",
                    g.prefixLength(), g.prefill().toNanos() / 1e6, g.tokenIds().size(), g.decode().toNanos() / 1e6,
                    g.tokensPerSecond(), g.stopReason()));
            if (logits != null) {
                writeLogits(logits);
            }
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("text", g.text());
            json.put("token_ids", g.tokenIds());
            json.put("stop_reason", g.stopReason().name().toLowerCase(java.util.Locale.ROOT));
            interpret(model, g, images, json);
            Map<String, Object> timings = new LinkedHashMap<>();
            timings.put("load_ms", model.loadNanos() / 1e6);
            timings.put("image_encode_ms", embedding.encodeNanos() / 1e6);
            timings.put("prefill_ms", g.prefill().toNanos() / 1e6);
            timings.put("decode_ms", g.decode().toNanos() / 1e6);
            timings.put("prefix_tokens", g.prefixLength());
            timings.put("tokens_per_s", g.tokensPerSecond());
            json.put("timings", timings);
            if (common.json) {
                out.println(Json.write(json));
            } else {
                for (String line : summary()) {
                    out.println(line);
                }
            }
            if (common.printTokenIds) {
                StringBuilder sb = new StringBuilder("ids:");
                for (int id : g.tokenIds()) {
                    sb.append(' ').append(id);
                }
                out.println(sb);
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    private void writeLogits(List<float[]> steps) {
        int vocab = steps.isEmpty() ? 0 : steps.get(0).length;
        float[] all = new float[steps.size() * vocab];
        for (int i = 0; i < steps.size(); i++) {
            System.arraycopy(steps.get(i), 0, all, i * vocab, vocab);
        }
        SafetensorsWriter.write(common.dumpLogits,
                List.of(SafetensorsWriter.floats("logits", DType.F32, new long[] {steps.size(), vocab}, all)),
                Map.of("prompt", prompt()));
    }
}
