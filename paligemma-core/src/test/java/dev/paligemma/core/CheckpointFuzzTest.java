package dev.paligemma.core;

import dev.paligemma.core.testing.FuzzHarness;
import dev.paligemma.core.testing.Mutations;
import dev.paligemma.core.config.PaliGemmaConfig;
import dev.paligemma.core.config.PreprocessorConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the checkpoint loaders with thousands of mutated copies of the fixture checkpoints: raw byte
 * damage to safetensors files, structural edits of their JSON headers (shapes, dtypes, offsets, names),
 * shard and index edits, and edits of {@code config.json} / {@code preprocessor_config.json}. Every case
 * must end in success (then the result is read back and checked for sanity) or a
 * {@link PaliGemmaException} naming the file; never another exception, a crash or a hang.
 *
 * <p>Deterministic: case {@code i} of a test uses {@code new SplittableRandom(SEED + i)}; a failure prints
 * the seed and the mutation.
 */
class CheckpointFuzzTest {
    static final long SEED = 0x9A11_6E33AL;
    /** Cases per test; sized so the whole class runs in about 10 s on a loaded 2-core machine. */
    static final int BYTE_CASES = 1200;
    static final int HEADER_CASES = 1500;
    static final int INDEX_CASES = 500;
    static final int CONFIG_CASES = 2500;
    static final long CASE_MILLIS = 5_000;

    static final Path FIXTURES = Path.of(System.getProperty("paligemma.fixtures"));
    static final String SHARD1 = "model-00001-of-00002.safetensors";
    static final String SHARD2 = "model-00002-of-00002.safetensors";

    @TempDir
    Path tmp;

    /** Copies a fixture directory's weight and config files into {@code tmp/base-<name>}, for hard links. */
    private Path base(String fixture) throws IOException {
        Path dst = tmp.resolve("base-" + fixture);
        Files.createDirectories(dst);
        try (Stream<Path> s = Files.list(FIXTURES.resolve(fixture))) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (!n.startsWith("golden")) {
                    Files.copy(p, dst.resolve(n));
                }
            }
        }
        return dst;
    }

    /** A fresh case directory holding hard links to every file of {@code base} except {@code replaced}. */
    private Path caseDir(Path base, int i, String... replaced) throws IOException {
        Path dir = tmp.resolve("case-" + i);
        Files.createDirectories(dir);
        try (Stream<Path> s = Files.list(base)) {
            for (Path p : s.toList()) {
                if (!Arrays.asList(replaced).contains(p.getFileName().toString())) {
                    Files.createLink(dir.resolve(p.getFileName()), p);
                }
            }
        }
        return dir;
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Opens the checkpoint and its configs as a model loader would, and reads every tensor back. */
    static void loadAndCheck(Path dir) {
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertTrue(!ckpt.names().isEmpty(), "a checkpoint that opens has tensors");
            long bytes = 0;
            for (Tensor t : ckpt.tensors().values()) {
                long n = t.size();
                assertTrue(n >= 0 && t.segment().byteSize() == n * t.dtype().byteSize(), t.toString());
                bytes += t.segment().byteSize();
                if (n > 0) {
                    t.getFloat(0);
                    t.getFloat(n - 1);
                }
                if (n <= 1 << 16 && t.dtype().isFloatWeight()) {
                    assertTrue(t.toFloatArray().length == n);
                }
            }
            assertTrue(bytes <= ckpt.byteSize(), "tensors cannot hold more bytes than the files");
        }
        checkConfigs(dir);
    }

    static void checkConfigs(Path dir) {
        PaliGemmaConfig cfg = PaliGemmaConfig.load(dir);
        assertTrue(cfg.text().hiddenSize() > 0 && cfg.text().vocabSize() > 0 && cfg.text().numHiddenLayers() > 0);
        assertTrue(cfg.text().numAttentionHeads() % cfg.text().numKeyValueHeads() == 0);
        assertTrue(Double.isFinite(cfg.text().rmsNormEps()) && Double.isFinite(cfg.text().ropeTheta()));
        assertTrue(cfg.vision().numPatches() > 0 && cfg.vision().headDim() > 0);
        assertTrue(cfg.imageTokenIndex() < cfg.text().vocabSize());
        assertTrue(cfg.bosTokenId() >= 0 && cfg.bosTokenId() < cfg.text().vocabSize(), "bos inside the vocabulary");
        assertTrue(cfg.padTokenId() >= 0 && cfg.padTokenId() < cfg.text().vocabSize(), "pad inside the vocabulary");
        for (int id : cfg.eosTokenIds()) {
            assertTrue(id >= 0 && id < cfg.text().vocabSize());
        }
        PreprocessorConfig pre = PreprocessorConfig.load(dir, cfg.vision().imageSize());
        assertTrue(pre.height() > 0 && pre.width() > 0 && Double.isFinite(pre.rescaleFactor()));
        for (int c = 0; c < 3; c++) {
            assertTrue(Float.isFinite(pre.imageMean()[c]), "image_mean finite");
            assertTrue(pre.imageStd()[c] > 0 && Float.isFinite(pre.imageStd()[c]), "image_std positive");
        }
    }

    static long headerLength(byte[] file) {
        return ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    @Test
    void byteMutationsOfSafetensorsFiles() throws Exception {
        Path sharded = base("paligemma2-tiny");
        Path single = base("paligemma2-tiny-window");
        byte[] shard = Files.readAllBytes(sharded.resolve(SHARD1));
        byte[] whole = Files.readAllBytes(single.resolve(Checkpoint.SINGLE_FILE));
        try (FuzzHarness h = new FuzzHarness("safetensors bytes", CASE_MILLIS)) {
            for (int i = 0; i < BYTE_CASES; i++) {
                long seed = SEED + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                boolean useShard = rnd.nextBoolean();
                byte[] src = useShard ? shard : whole;
                String file = useShard ? SHARD1 : Checkpoint.SINGLE_FILE;
                StringBuilder what = new StringBuilder(file);
                byte[] mutated = Mutations.mutate(src, (int) (8 + headerLength(src)), rnd, what);
                Path dir = caseDir(useShard ? sharded : single, i, file);
                Files.write(dir.resolve(file), mutated);
                h.run(seed, what.toString(), dir.getFileName().toString(), () -> loadAndCheck(dir));
                delete(dir);
            }
        }
    }

    private static final Object[] DTYPES = {"F32", "BF16", "F16", "F64", "I8", "U8", "I16", "I32", "I64", "BOOL",
            "F8_E4M3", "f32", "", null, 5L, List.of("F32")};

    /** One structural edit of a parsed safetensors header. */
    @SuppressWarnings("unchecked")
    static void editHeader(Map<String, Object> header, SplittableRandom rnd, StringBuilder what) {
        List<String> names = new ArrayList<>(header.keySet());
        names.remove("__metadata__");
        String name = names.get(rnd.nextInt(names.size()));
        String other = names.get(rnd.nextInt(names.size()));
        Object entry = header.get(name);
        if (!(entry instanceof Map<?, ?>)) {
            header.put(name, Map.of());
            what.append(" emptied ").append(name);
            return;
        }
        Map<String, Object> info = (Map<String, Object>) entry;
        List<Object> shape = info.get("shape") instanceof List<?> l ? (List<Object>) l : new ArrayList<>();
        List<Object> offs = info.get("data_offsets") instanceof List<?> l ? (List<Object>) l : new ArrayList<>(List.of(0L, 0L));
        long[] big = {0, 1, 2, 3, 1L << 31, 1L << 32, 1L << 40, (1L << 62) + 1, Long.MAX_VALUE, -1};
        int op = rnd.nextInt(14);
        what.append(" op").append(op).append(' ').append(name);
        switch (op) {
            case 0 -> {
                if (!shape.isEmpty()) {
                    shape.set(rnd.nextInt(shape.size()), big[rnd.nextInt(big.length)]);
                }
            }
            case 1 -> {
                if (rnd.nextBoolean() || shape.isEmpty()) {
                    shape.add(rnd.nextInt(shape.size() + 1), (long) rnd.nextInt(1, 4));
                } else {
                    shape.remove(rnd.nextInt(shape.size()));
                }
            }
            case 2 -> info.put("shape", Mutations.oddValue(rnd));
            case 3 -> info.put("dtype", DTYPES[rnd.nextInt(DTYPES.length)]);
            case 4 -> {
                if (offs.size() == 2 && offs.get(0) instanceof Long b && offs.get(1) instanceof Long e) {
                    long d = new long[] {1, 2, 4, 8, 1000, -1, -8}[rnd.nextInt(7)];
                    int which = rnd.nextInt(3);
                    offs.set(0, which != 1 ? b + d : b);
                    offs.set(1, which != 0 ? e + d : e);
                }
            }
            case 5 -> {
                if (offs.size() == 2) {
                    offs.set(rnd.nextInt(2), big[rnd.nextInt(big.length)]);
                }
            }
            case 6 -> info.put("data_offsets", Mutations.oddValue(rnd));
            case 7 -> {
                if (header.get(other) instanceof Map<?, ?> o) {
                    info.put("data_offsets", o.get("data_offsets"));
                    what.append(" offsets of ").append(other);
                }
            }
            case 8 -> header.remove(name);
            case 9 -> {
                // the same tensor under the transformers 5 spelling: a duplicate after canonicalisation
                header.put(name.replace("vision_model.", "").replace("language_model.model.", "model.language_model."), info);
            }
            case 10 -> header.put("__metadata__", Mutations.oddValue(rnd));
            case 11 -> header.put(name, Mutations.oddValue(rnd));
            case 12 -> {
                if (header.get(other) instanceof Map<?, ?> o) {
                    info.put("shape", o.get("shape"));
                    info.put("dtype", o.get("dtype"));
                    what.append(" shape+dtype of ").append(other);
                }
            }
            default -> {
                // a consistent lie: shape and offsets agree but claim a vast tensor past the data
                long dim = big[rnd.nextInt(big.length)];
                info.put("shape", new ArrayList<>(List.of(dim, 1024L)));
                info.put("dtype", "F32");
                info.put("data_offsets", new ArrayList<>(List.of(0L, dim * 4096)));
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void headerEditsOfSafetensorsFiles() throws Exception {
        Path sharded = base("paligemma2-tiny");
        Path single = base("paligemma2-tiny-window");
        byte[] shard = Files.readAllBytes(sharded.resolve(SHARD1));
        byte[] whole = Files.readAllBytes(single.resolve(Checkpoint.SINGLE_FILE));
        try (FuzzHarness h = new FuzzHarness("safetensors headers", CASE_MILLIS)) {
            for (int i = 0; i < HEADER_CASES; i++) {
                long seed = SEED + 1_000_000 + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                boolean useShard = rnd.nextBoolean();
                byte[] src = useShard ? shard : whole;
                String file = useShard ? SHARD1 : Checkpoint.SINGLE_FILE;
                int hl = (int) headerLength(src);
                Map<String, Object> header = (Map<String, Object>) Mutations.mutableCopy(
                        Json.parse(new String(src, 8, hl, StandardCharsets.UTF_8)));
                StringBuilder what = new StringBuilder(file);
                int edits = 1 + (rnd.nextInt(3) == 0 ? rnd.nextInt(3) : 0);
                for (int e = 0; e < edits; e++) {
                    editHeader(header, rnd, what);
                }
                byte[] json = Mutations.toJson(header).getBytes(StandardCharsets.UTF_8);
                // keep the data area where the original offsets expect it: pad the header with spaces as writers do
                int padded = Math.max(json.length, hl);
                long lengthField = padded;
                if (rnd.nextInt(6) == 0) {
                    lengthField += new long[] {-1, 1, -8, 8, 1L << 32, -padded}[rnd.nextInt(6)];
                    what.append(" lengthField=").append(lengthField);
                }
                ByteBuffer out = ByteBuffer.allocate(8 + padded + src.length - 8 - hl).order(ByteOrder.LITTLE_ENDIAN);
                out.putLong(lengthField).put(json);
                for (int k = json.length; k < padded; k++) {
                    out.put((byte) ' ');
                }
                out.put(src, 8 + hl, src.length - 8 - hl);
                Path dir = caseDir(useShard ? sharded : single, i, file);
                Files.write(dir.resolve(file), out.array());
                h.run(seed, what.toString(), dir.getFileName().toString(), () -> loadAndCheck(dir));
                delete(dir);
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void indexAndShardEdits() throws Exception {
        Path sharded = base("paligemma2-tiny");
        String indexText = Files.readString(sharded.resolve(Checkpoint.INDEX_FILE));
        String[] oddNames = {"../" + SHARD1, "/etc/passwd", "", ".", "..", "missing.safetensors", Checkpoint.INDEX_FILE,
                "config.json", "tokenizer.model", SHARD1 + "/", "sub/" + SHARD1, "C:\\" + SHARD1};
        try (FuzzHarness h = new FuzzHarness("index and shards", CASE_MILLIS)) {
            for (int i = 0; i < INDEX_CASES; i++) {
                long seed = SEED + 2_000_000 + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                Map<String, Object> index = (Map<String, Object>) Mutations.mutableCopy(Json.parse(indexText));
                Map<String, Object> wm = (Map<String, Object>) index.get("weight_map");
                List<String> names = new ArrayList<>(wm.keySet());
                String name = names.get(rnd.nextInt(names.size()));
                int op = rnd.nextInt(10);
                StringBuilder what = new StringBuilder("op" + op + " " + name);
                List<String> replaced = new ArrayList<>(List.of(Checkpoint.INDEX_FILE));
                byte[] indexBytes = null;
                switch (op) {
                    case 0 -> replaced.add(rnd.nextBoolean() ? SHARD1 : SHARD2); // shard deleted
                    case 1 -> {
                        replaced.add(SHARD1);
                        replaced.add(SHARD2);
                    }
                    case 2 -> wm.put(name, wm.get(name).equals(SHARD1) ? SHARD2 : SHARD1);
                    case 3 -> {
                        String odd = oddNames[rnd.nextInt(oddNames.length)];
                        wm.put(name, odd);
                        what.append(" -> ").append(odd);
                    }
                    case 4 -> wm.remove(name);
                    case 5 -> wm.put(name + ".extra", SHARD1);
                    case 6 -> index.put("weight_map", Mutations.oddValue(rnd));
                    case 7 -> wm.put(name, Mutations.oddValue(rnd));
                    case 8 -> {
                        if (rnd.nextBoolean()) {
                            index.remove("weight_map");
                        } else {
                            wm.clear();
                        }
                    }
                    default -> indexBytes = Mutations.mutate(indexText.getBytes(StandardCharsets.UTF_8), 0, rnd, what);
                }
                Path dir = caseDir(sharded, i, replaced.toArray(String[]::new));
                if (op == 1) {
                    // shards swapped: each name now holds the other's contents
                    Files.createLink(dir.resolve(SHARD1), sharded.resolve(SHARD2));
                    Files.createLink(dir.resolve(SHARD2), sharded.resolve(SHARD1));
                }
                Files.write(dir.resolve(Checkpoint.INDEX_FILE), indexBytes != null ? indexBytes
                        : Mutations.toJson(index).getBytes(StandardCharsets.UTF_8));
                h.run(seed, what.toString(), dir.getFileName().toString(), () -> loadAndCheck(dir));
                delete(dir);
            }
        }
    }

    /** Config keys worth planting with odd values where the fixtures omit them. */
    private static final String[] CONFIG_KEYS = {"hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim",
            "image_size", "patch_size", "projection_dim", "vocab_size", "sliding_window", "eos_token_id", "rope_theta",
            "rope_parameters", "text_config", "vision_config", "num_hidden_layers", "intermediate_size", "layer_norm_eps",
            "rms_norm_eps", "image_token_index", "model_type", "size", "image_mean", "image_std", "resample",
            "rescale_factor", "image_seq_length", "num_channels", "query_pre_attn_scalar", "attn_logit_softcapping"};

    /** One structural edit somewhere in a parsed JSON tree. */
    @SuppressWarnings("unchecked")
    static void editJson(Object root, SplittableRandom rnd, StringBuilder what) {
        List<Object[]> slots = new ArrayList<>();
        collect(root, "", slots);
        Object[] slot = slots.get(rnd.nextInt(slots.size()));
        String path = (String) slot[2];
        int op = rnd.nextInt(4);
        if (slot[0] instanceof Map<?, ?> m) {
            Map<String, Object> map = (Map<String, Object>) m;
            switch (op) {
                case 0 -> {
                    map.remove((String) slot[1]);
                    what.append(" delete ").append(path);
                }
                case 1 -> {
                    String k = CONFIG_KEYS[rnd.nextInt(CONFIG_KEYS.length)];
                    Object v = Mutations.oddValue(rnd);
                    map.put(k, v);
                    what.append(" plant ").append(path, 0, Math.max(0, path.lastIndexOf('.') + 1)).append(k).append('=').append(v);
                }
                default -> {
                    Object v = Mutations.oddValue(rnd);
                    map.put((String) slot[1], v);
                    what.append(" set ").append(path).append('=').append(v);
                }
            }
        } else {
            List<Object> list = (List<Object>) slot[0];
            int idx = (Integer) slot[1];
            if (op == 0) {
                list.remove(idx);
                what.append(" delete ").append(path);
            } else {
                Object v = Mutations.oddValue(rnd);
                list.set(idx, v);
                what.append(" set ").append(path).append('=').append(v);
            }
        }
    }

    private static void collect(Object node, String path, List<Object[]> out) {
        if (node instanceof Map<?, ?> m) {
            for (Object k : new ArrayList<>(m.keySet())) {
                out.add(new Object[] {m, k, path + k});
                collect(m.get(k), path + k + ".", out);
            }
        } else if (node instanceof List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                out.add(new Object[] {l, i, path + "[" + i + "]"});
                collect(l.get(i), path + "[" + i + "].", out);
            }
        }
    }

    @Test
    void configEdits() throws Exception {
        String[] fixtures = {"paligemma-tiny", "paligemma2-tiny", "paligemma2-tiny-window", "paligemma-tiny-transformers5"};
        String[] files = {"config.json", "preprocessor_config.json", "generation_config.json"};
        List<Path> bases = new ArrayList<>();
        for (String f : fixtures) {
            Path b = tmp.resolve("cfg-" + f);
            Files.createDirectories(b);
            for (String n : files) {
                Path src = FIXTURES.resolve(f).resolve(n);
                if (Files.exists(src)) {
                    Files.copy(src, b.resolve(n));
                }
            }
            bases.add(b);
        }
        try (FuzzHarness h = new FuzzHarness("config files", CASE_MILLIS)) {
            for (int i = 0; i < CONFIG_CASES; i++) {
                long seed = SEED + 3_000_000 + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                Path b = bases.get(rnd.nextInt(bases.size()));
                String file = files[rnd.nextInt(4) == 0 ? 1 : rnd.nextInt(8) == 0 ? 2 : 0];
                if (!Files.exists(b.resolve(file))) {
                    file = "config.json";
                }
                byte[] src = Files.readAllBytes(b.resolve(file));
                StringBuilder what = new StringBuilder(b.getFileName() + "/" + file);
                byte[] mutated;
                if (rnd.nextInt(3) == 0) {
                    mutated = Mutations.mutate(src, 0, rnd, what);
                } else {
                    Object root = Mutations.mutableCopy(Json.parse(new String(src, StandardCharsets.UTF_8)));
                    int edits = 1 + rnd.nextInt(3);
                    for (int e = 0; e < edits; e++) {
                        editJson(root, rnd, what);
                    }
                    mutated = Mutations.toJson(root).getBytes(StandardCharsets.UTF_8);
                }
                Path dir = caseDir(b, i, file);
                Files.write(dir.resolve(file), mutated);
                h.run(seed, what.toString(), file, () -> checkConfigs(dir));
                delete(dir);
            }
        }
    }
}
