package dev.paligemma.bench;

import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.TensorNames;

import java.util.ArrayList;
import java.util.List;

/**
 * The shape of a synthetic PaliGemma checkpoint: the real models' dimensions with random weights, so
 * the real loader and kernels can be timed without downloading anything.
 *
 * @param name            cache folder name, e.g. {@code paligemma-3b-224}
 * @param visionLayers    SigLIP encoder layers
 * @param visionHidden    SigLIP width
 * @param visionMlp       SigLIP MLP width
 * @param visionHeads     SigLIP attention heads
 * @param imageSize       input side in pixels
 * @param patchSize       patch side in pixels
 * @param textModelType   {@code gemma} or {@code gemma2}
 * @param textLayers      decoder layers
 * @param textHidden      decoder width (also the projector's output width)
 * @param heads           decoder query heads
 * @param kvHeads         decoder key/value heads
 * @param headDim         decoder head dimension
 * @param textMlp         decoder MLP width
 * @param vocab           vocabulary size (embedding rows, tied output head)
 * @param imageTokenIndex id of the {@code <image>} token
 */
public record SyntheticSpec(String name, int visionLayers, int visionHidden, int visionMlp, int visionHeads,
                            int imageSize, int patchSize, String textModelType, int textLayers, int textHidden,
                            int heads, int kvHeads, int headDim, int textMlp, int vocab, int imageTokenIndex) {

    /** Names {@link #named} knows. */
    public static final List<String> NAMES = List.of("paligemma-3b-224", "paligemma2-3b-224", "paligemma2-3b-448");

    public SyntheticSpec {
        if (name == null || !name.matches("[A-Za-z0-9._-]+")) {
            throw new InvalidArgumentException("synthetic name '" + name + "' must be letters, digits, '.', '_' or '-'");
        }
        if (!textModelType.equals("gemma") && !textModelType.equals("gemma2")) {
            throw new InvalidArgumentException("textModelType must be gemma or gemma2, got '" + textModelType + "'");
        }
        if (imageSize % patchSize != 0 || visionHidden % visionHeads != 0 || heads % kvHeads != 0
                || imageTokenIndex >= vocab) {
            throw new InvalidArgumentException("synthetic spec '" + name + "' is inconsistent");
        }
    }

    /** One of the real model shapes in {@link #NAMES}. */
    public static SyntheticSpec named(String name) {
        return switch (name == null ? "" : name) {
            case "paligemma-3b-224" -> new SyntheticSpec(name, 27, 1152, 4304, 16, 224, 14,
                    "gemma", 18, 2048, 8, 1, 256, 16384, 257216, 257152);
            case "paligemma2-3b-224" -> new SyntheticSpec(name, 27, 1152, 4304, 16, 224, 14,
                    "gemma2", 26, 2304, 8, 4, 256, 9216, 257216, 257152);
            case "paligemma2-3b-448" -> new SyntheticSpec(name, 27, 1152, 4304, 16, 448, 14,
                    "gemma2", 26, 2304, 8, 4, 256, 9216, 257216, 257152);
            default -> throw new InvalidArgumentException("--synthetic: unknown model '" + name + "'; known: "
                    + String.join(", ", NAMES));
        };
    }

    public boolean isGemma2() {
        return textModelType.equals("gemma2");
    }

    /** Image tokens per image: {@code (imageSize / patchSize)^2}. */
    public int numPatches() {
        int side = imageSize / patchSize;
        return side * side;
    }

    /** How a tensor's random values are drawn. */
    enum Init {
        /** N(0, 0.02): projections, embeddings, biases, and Gemma's RMSNorm weights (used as 1 + w). */
        NORMAL,
        /** 1 + N(0, 0.02): SigLIP LayerNorm scales, which multiply directly. */
        ONE_PLUS_NORMAL
    }

    /** One tensor of the checkpoint, in hub naming. */
    record TensorSpec(String name, long[] shape, Init init) {
        long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** Every tensor of the checkpoint in hub naming and order of writing (vision, projector, decoder). */
    List<TensorSpec> tensors() {
        List<TensorSpec> out = new ArrayList<>();
        String v = TensorNames.VISION;
        long h = visionHidden;
        out.add(new TensorSpec(v + "embeddings.patch_embedding.weight", new long[] {h, 3, patchSize, patchSize}, Init.NORMAL));
        out.add(new TensorSpec(v + "embeddings.patch_embedding.bias", new long[] {h}, Init.NORMAL));
        out.add(new TensorSpec(v + "embeddings.position_embedding.weight", new long[] {numPatches(), h}, Init.NORMAL));
        for (int l = 0; l < visionLayers; l++) {
            String p = v + "encoder.layers." + l + ".";
            out.add(new TensorSpec(p + "layer_norm1.weight", new long[] {h}, Init.ONE_PLUS_NORMAL));
            out.add(new TensorSpec(p + "layer_norm1.bias", new long[] {h}, Init.NORMAL));
            for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
                out.add(new TensorSpec(p + "self_attn." + proj + ".weight", new long[] {h, h}, Init.NORMAL));
                out.add(new TensorSpec(p + "self_attn." + proj + ".bias", new long[] {h}, Init.NORMAL));
            }
            out.add(new TensorSpec(p + "layer_norm2.weight", new long[] {h}, Init.ONE_PLUS_NORMAL));
            out.add(new TensorSpec(p + "layer_norm2.bias", new long[] {h}, Init.NORMAL));
            out.add(new TensorSpec(p + "mlp.fc1.weight", new long[] {visionMlp, h}, Init.NORMAL));
            out.add(new TensorSpec(p + "mlp.fc1.bias", new long[] {visionMlp}, Init.NORMAL));
            out.add(new TensorSpec(p + "mlp.fc2.weight", new long[] {h, visionMlp}, Init.NORMAL));
            out.add(new TensorSpec(p + "mlp.fc2.bias", new long[] {h}, Init.NORMAL));
        }
        out.add(new TensorSpec(v + "post_layernorm.weight", new long[] {h}, Init.ONE_PLUS_NORMAL));
        out.add(new TensorSpec(v + "post_layernorm.bias", new long[] {h}, Init.NORMAL));
        out.add(new TensorSpec(TensorNames.PROJECTOR + "linear.weight", new long[] {textHidden, h}, Init.NORMAL));
        out.add(new TensorSpec(TensorNames.PROJECTOR + "linear.bias", new long[] {textHidden}, Init.NORMAL));

        String d = TensorNames.DECODER;
        long th = textHidden;
        long q = (long) heads * headDim;
        long kv = (long) kvHeads * headDim;
        // the hub's checkpoints tie the output head to the embeddings (no lm_head tensor)
        out.add(new TensorSpec(d + "embed_tokens.weight", new long[] {vocab, th}, Init.NORMAL));
        for (int l = 0; l < textLayers; l++) {
            String p = d + "layers." + l + ".";
            out.add(new TensorSpec(p + "input_layernorm.weight", new long[] {th}, Init.NORMAL));
            out.add(new TensorSpec(p + "self_attn.q_proj.weight", new long[] {q, th}, Init.NORMAL));
            out.add(new TensorSpec(p + "self_attn.k_proj.weight", new long[] {kv, th}, Init.NORMAL));
            out.add(new TensorSpec(p + "self_attn.v_proj.weight", new long[] {kv, th}, Init.NORMAL));
            out.add(new TensorSpec(p + "self_attn.o_proj.weight", new long[] {th, q}, Init.NORMAL));
            out.add(new TensorSpec(p + "post_attention_layernorm.weight", new long[] {th}, Init.NORMAL));
            if (isGemma2()) {
                out.add(new TensorSpec(p + "pre_feedforward_layernorm.weight", new long[] {th}, Init.NORMAL));
                out.add(new TensorSpec(p + "post_feedforward_layernorm.weight", new long[] {th}, Init.NORMAL));
            }
            out.add(new TensorSpec(p + "mlp.gate_proj.weight", new long[] {textMlp, th}, Init.NORMAL));
            out.add(new TensorSpec(p + "mlp.up_proj.weight", new long[] {textMlp, th}, Init.NORMAL));
            out.add(new TensorSpec(p + "mlp.down_proj.weight", new long[] {th, textMlp}, Init.NORMAL));
        }
        out.add(new TensorSpec(d + "norm.weight", new long[] {th}, Init.NORMAL));
        return out;
    }

    /** A sparse {@code config.json} in the hub's style (keys equal to transformers' defaults left out). */
    String configJson(String torchDtype) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\n");
        sb.append("  \"architectures\": [\"PaliGemmaForConditionalGeneration\"],\n");
        sb.append("  \"bos_token_id\": 2,\n");
        sb.append("  \"eos_token_id\": 1,\n");
        sb.append("  \"hidden_size\": ").append(textHidden).append(",\n");
        sb.append("  \"image_token_index\": ").append(imageTokenIndex).append(",\n");
        sb.append("  \"model_type\": \"paligemma\",\n");
        sb.append("  \"pad_token_id\": 0,\n");
        sb.append("  \"projection_dim\": ").append(textHidden).append(",\n");
        sb.append("  \"text_config\": {\n");
        if (isGemma2()) {
            sb.append("    \"final_logit_softcapping\": 30.0,\n");
            sb.append("    \"attn_logit_softcapping\": 50.0,\n");
            sb.append("    \"hidden_activation\": \"gelu_pytorch_tanh\",\n");
            sb.append("    \"query_pre_attn_scalar\": 256,\n");
            sb.append("    \"sliding_window\": 4096,\n");
        }
        sb.append("    \"head_dim\": ").append(headDim).append(",\n");
        sb.append("    \"hidden_size\": ").append(textHidden).append(",\n");
        sb.append("    \"intermediate_size\": ").append(textMlp).append(",\n");
        sb.append("    \"model_type\": \"").append(textModelType).append("\",\n");
        sb.append("    \"num_attention_heads\": ").append(heads).append(",\n");
        sb.append("    \"num_hidden_layers\": ").append(textLayers).append(",\n");
        sb.append("    \"num_image_tokens\": ").append(numPatches()).append(",\n");
        sb.append("    \"num_key_value_heads\": ").append(kvHeads).append(",\n");
        sb.append("    \"torch_dtype\": \"").append(torchDtype).append("\",\n");
        sb.append("    \"vocab_size\": ").append(vocab).append("\n");
        sb.append("  },\n");
        sb.append("  \"torch_dtype\": \"").append(torchDtype).append("\",\n");
        sb.append("  \"transformers_version\": \"4.47.0\",\n");
        sb.append("  \"vision_config\": {\n");
        sb.append("    \"hidden_size\": ").append(visionHidden).append(",\n");
        sb.append("    \"image_size\": ").append(imageSize).append(",\n");
        sb.append("    \"intermediate_size\": ").append(visionMlp).append(",\n");
        sb.append("    \"model_type\": \"siglip_vision_model\",\n");
        sb.append("    \"num_attention_heads\": ").append(visionHeads).append(",\n");
        sb.append("    \"num_hidden_layers\": ").append(visionLayers).append(",\n");
        sb.append("    \"num_image_tokens\": ").append(numPatches()).append(",\n");
        sb.append("    \"patch_size\": ").append(patchSize).append(",\n");
        sb.append("    \"projection_dim\": ").append(textHidden).append(",\n");
        sb.append("    \"vision_use_head\": false\n");
        sb.append("  },\n");
        sb.append("  \"vocab_size\": ").append(vocab).append("\n");
        sb.append("}\n");
        return sb.toString();
    }

    /** {@code preprocessor_config.json} as the hub ships it (SiglipImageProcessor, bicubic, mean/std 0.5). */
    String preprocessorJson() {
        return "{\n"
                + "  \"do_normalize\": true,\n"
                + "  \"do_rescale\": true,\n"
                + "  \"do_resize\": true,\n"
                + "  \"image_mean\": [0.5, 0.5, 0.5],\n"
                + "  \"image_processor_type\": \"SiglipImageProcessor\",\n"
                + "  \"image_seq_length\": " + numPatches() + ",\n"
                + "  \"image_std\": [0.5, 0.5, 0.5],\n"
                + "  \"processor_class\": \"PaliGemmaProcessor\",\n"
                + "  \"resample\": 3,\n"
                + "  \"rescale_factor\": 0.00392156862745098,\n"
                + "  \"size\": {\"height\": " + imageSize + ", \"width\": " + imageSize + "}\n"
                + "}\n";
    }
}
