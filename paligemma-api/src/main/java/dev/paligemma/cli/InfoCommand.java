package dev.paligemma.cli;

import dev.paligemma.core.Json;
import dev.paligemma.LoadOptions;
import dev.paligemma.PaliGemma;
import dev.paligemma.core.DType;
import dev.paligemma.core.Tensor;
import dev.paligemma.core.config.TextConfig;
import dev.paligemma.core.config.VisionConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "info", description = "Describe a checkpoint: architecture, sizes, dtypes.")
final class InfoCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "checkpoint directory")
    Path model;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Main.verbose = verbose;
        try (PaliGemma m = PaliGemma.load(model, LoadOptions.defaults())) {
            VisionConfig v = m.config().vision();
            TextConfig t = m.config().text();
            Map<DType, Long> params = new EnumMap<>(DType.class);
            long total = 0;
            for (Tensor tensor : m.checkpoint().tensors().values()) {
                params.merge(tensor.dtype(), tensor.size(), Long::sum);
                total += tensor.size();
            }
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("architecture", t.isGemma2() ? "PaliGemma 2 (SigLIP So400m/14 + Gemma 2)" : "PaliGemma 1 (SigLIP So400m/14 + Gemma)");
            info.put("image_size", v.imageSize());
            info.put("image_tokens", v.numPatches());
            info.put("vision", Map.of("layers", v.numHiddenLayers(), "hidden", v.hiddenSize(), "mlp", v.intermediateSize(),
                    "heads", v.numAttentionHeads(), "patch", v.patchSize()));
            Map<String, Object> dec = new LinkedHashMap<>();
            dec.put("model_type", t.modelType());
            dec.put("layers", t.numHiddenLayers());
            dec.put("hidden", t.hiddenSize());
            dec.put("mlp", t.intermediateSize());
            dec.put("heads", t.numAttentionHeads());
            dec.put("kv_heads", t.numKeyValueHeads());
            dec.put("head_dim", t.headDim());
            dec.put("vocab", t.vocabSize());
            dec.put("max_positions", t.maxPositionEmbeddings());
            if (t.isGemma2()) {
                dec.put("attn_logit_softcapping", t.attnLogitSoftcapping());
                dec.put("final_logit_softcapping", t.finalLogitSoftcapping());
                dec.put("query_pre_attn_scalar", t.queryPreAttnScalar());
                dec.put("sliding_window", t.slidingWindow());
            }
            info.put("decoder", dec);
            info.put("tokenizer_pieces", m.tokenizer().vocabSize());
            info.put("eos_token_ids", m.config().eosTokenIds());
            info.put("parameters", total);
            Map<String, Object> byType = new LinkedHashMap<>();
            params.forEach((k, n) -> byType.put(k.name(), n));
            info.put("parameters_by_dtype", byType);
            info.put("weight_files", m.checkpoint().files().size());
            info.put("weight_bytes", m.checkpoint().byteSize());
            info.put("tied_embeddings", m.checkpoint().find(dev.paligemma.core.TensorNames.LM_HEAD).isEmpty());
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(Json.write(info));
            } else {
                info.forEach((k, val) -> out.println(k + ": " + (val instanceof Map<?, ?> || val instanceof java.util.List<?>
                        ? Json.write(val) : val)));
            }
            out.flush();
        }
        return ExitCodes.OK;
    }
}
