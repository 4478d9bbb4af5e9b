package dev.paligemma.core.config;

import dev.paligemma.core.ConfigException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A PaliGemma checkpoint's {@code config.json}, in either the sparse hub style (defaults omitted) or
 * the full style transformers 5 writes. EOS ids come from {@code config.json} (a number or a list)
 * and, when present, {@code generation_config.json} (PaliGemma 2 lists {@code [1, 107]} there).
 *
 * @param imageTokenIndex id of the {@code <image>} placeholder token; its embedding row is never used
 * @param eosTokenIds     every id that ends generation
 */
public record PaliGemmaConfig(VisionConfig vision, TextConfig text, int imageTokenIndex, int bosTokenId,
                              int padTokenId, List<Integer> eosTokenIds, String dtype) {

    public static final String FILE = "config.json";

    public PaliGemmaConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** Reads {@code config.json} (and {@code generation_config.json} if present) from a checkpoint directory. */
    public static PaliGemmaConfig load(Path checkpointDir) {
        Path file = checkpointDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(file + ": file not found (is " + checkpointDir + " a PaliGemma checkpoint directory?)");
        }
        JsonConfig root = JsonConfig.read(file);
        String type = root.string("model_type", null);
        if (!type.equals("paligemma")) {
            throw root.error("model_type", "is '" + type + "'; only paligemma checkpoints are supported");
        }
        JsonConfig textJson = root.object("text_config");
        int vocab = root.integer("vocab_size", 257152, 1, 1 << 24);
        TextConfig text = TextConfig.parse(textJson, vocab);
        // transformers copies the top-level projection_dim into vision_config; its default (2048) only fits
        // 3B-class decoders, so absent both we take the decoder width the projector must produce.
        Integer projection = root.has("projection_dim") ? root.integer("projection_dim", null, 1, 1 << 20) : null;
        VisionConfig vision = VisionConfig.parse(root.object("vision_config"), projection, text.hiddenSize());
        // the projector maps image rows into the decoder, so its width must be the decoder's
        if (vision.projectionDim() != text.hiddenSize()) {
            throw root.error(projection != null ? "projection_dim" : "vision_config.projection_dim", "is "
                    + vision.projectionDim() + " but text_config.hidden_size is " + text.hiddenSize()
                    + "; the projector must produce rows of the decoder's width");
        }
        Set<Integer> eos = new LinkedHashSet<>();
        // each source is checked on its own so an error names the file that holds the bad id
        addEos(eos, root, "eos_token_id", text.vocabSize());
        addEos(eos, textJson, "eos_token_id", text.vocabSize());
        Path gen = checkpointDir.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            addEos(eos, JsonConfig.read(gen), "eos_token_id", text.vocabSize());
        }
        if (eos.isEmpty()) {
            eos.add(1);
        }
        int imageToken = root.integer("image_token_index", root.integer("image_token_id", 256000), 0, 1 << 24);
        if (imageToken >= text.vocabSize()) {
            throw root.error("image_token_index", "is " + imageToken + ", outside the vocabulary of " + text.vocabSize());
        }
        String dtype = root.has("dtype") ? root.string("dtype", null) : root.string("torch_dtype", "float32");
        // the decoder indexes its embedding table with these ids, so they must lie inside it
        int bos = root.integer("bos_token_id", 2, 0, text.vocabSize() - 1);
        int pad = root.integer("pad_token_id", 0, 0, text.vocabSize() - 1);
        return new PaliGemmaConfig(vision, text, imageToken, bos, pad, List.copyOf(eos), dtype);
    }

    private static void addEos(Set<Integer> into, JsonConfig json, String key, int vocabSize) {
        for (int id : json.integers(key)) {
            if (id >= vocabSize) {
                throw json.error(key, "holds " + id + ", outside the vocabulary of " + vocabSize);
            }
            into.add(id);
        }
    }

    /** Image tokens per image. */
    public int imageTokens() {
        return vision.numPatches();
    }
}
