package dev.paligemma;

import dev.paligemma.core.testing.FuzzHarness;
import dev.paligemma.core.testing.Mutations;
import dev.paligemma.core.Json;
import dev.paligemma.gemma.GenerationOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mutated copies of whole fixture checkpoint directories through {@link PaliGemma#load} and, when one
 * loads, {@link PaliGemma#embedPixels} of the golden pixels and a two-token greedy generation: each
 * case ends in finite logits and in-vocabulary tokens, or a {@code PaliGemmaException} naming the file,
 * key or tensor at fault. Case {@code i} of a test uses {@code new SplittableRandom(SEED + i)}; unchanged
 * files of a copy are hard links.
 */
class FacadeFuzzTest {
    private static final long SEED = 0xFACADE_0000L;
    private static final long PER_CASE_MILLIS = 5000;
    private static final String[] FIXTURES = {"paligemma-tiny", "paligemma2-tiny"};

    private static Path root;
    private static final Map<String, Golden> GOLDEN = new java.util.HashMap<>();
    private static int dirs;

    @BeforeAll
    static void setUp() throws Exception {
        root = Files.createTempDirectory("facade-fuzz");
        for (String f : FIXTURES) {
            GOLDEN.put(f, Golden.of(f));
        }
    }

    @AfterAll
    static void cleanUp() throws IOException {
        try (var s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** A copy of the fixture's model files (hard links), to be mutated. */
    private static Path copy(String fixture) throws IOException {
        Path src = Golden.FIXTURES.resolve(fixture);
        Path dst = Files.createDirectory(root.resolve("case" + dirs++));
        try (var s = Files.list(src)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (!n.startsWith("golden")) {
                    Files.createLink(dst.resolve(n), p);
                }
            }
        }
        return dst;
    }

    /** Replaces a (hard-linked) file by new content without touching the fixture. */
    private static void write(Path file, byte[] bytes) throws IOException {
        Files.deleteIfExists(file);
        Files.write(file, bytes);
    }

    private static void loadAndGenerate(Path dir, Golden g) {
        try (PaliGemma m = PaliGemma.load(dir)) {
            ImageEmbedding image = m.embedPixels(g.pixelValues(), 1);
            int vocab = m.config().text().vocabSize();
            Generation r = m.generate(image, "caption en", GenerationOptions.greedy(2), null, null, (step, logits) -> {
                assertEquals(vocab, logits.length);
                for (float v : logits) {
                    assertTrue(Float.isFinite(v), "logit " + v + " at step " + step);
                }
            });
            for (int id : r.tokenIds()) {
                assertTrue(id >= 0 && id < vocab, "token " + id);
            }
        }
    }

    private static void check(FuzzHarness h, long seed, String what, Path dir, Golden g, List<String> names) throws IOException {
        try {
            h.run(seed, what, names, () -> loadAndGenerate(dir, g));
        } finally {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(dir);
        }
    }

    @Test
    void unchangedFixturesGenerate() throws Exception {
        for (String f : FIXTURES) {
            loadAndGenerate(Golden.FIXTURES.resolve(f), GOLDEN.get(f));
        }
    }

    /** config.json and preprocessor_config.json: values replaced by odd ones, keys deleted, raw bytes. */
    @Test
    @SuppressWarnings("unchecked")
    void configEdits() throws Exception {
        try (FuzzHarness h = new FuzzHarness("FacadeFuzzTest.configEdits", PER_CASE_MILLIS)) {
            for (int i = 0; i < 200; i++) {
                long seed = SEED + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                String fixture = FIXTURES[rnd.nextInt(FIXTURES.length)];
                Path dir = copy(fixture);
                String file = rnd.nextInt(3) == 0 ? "preprocessor_config.json" : "config.json";
                Path p = dir.resolve(file);
                byte[] orig = Files.readAllBytes(p);
                StringBuilder what = new StringBuilder(fixture + " " + file);
                if (rnd.nextInt(6) == 0) {
                    write(p, Mutations.mutate(orig, 0, rnd, what));
                } else {
                    Map<String, Object> json = (Map<String, Object>) Mutations.mutableCopy(Json.parse(new String(orig, StandardCharsets.UTF_8)));
                    Map<String, Object> target = json;
                    for (String sub : List.of("text_config", "vision_config")) {
                        if (json.get(sub) instanceof Map<?, ?> m && rnd.nextInt(3) == 0) {
                            target = (Map<String, Object>) m;
                            what.append(' ').append(sub);
                        }
                    }
                    List<String> keys = new ArrayList<>(target.keySet());
                    String key = keys.get(rnd.nextInt(keys.size()));
                    if (rnd.nextInt(4) == 0) {
                        target.remove(key);
                        what.append(" delete ").append(key);
                    } else {
                        Object v = target.get(key) instanceof Number n && rnd.nextBoolean()
                                ? (Object) (n.longValue() * new long[] {2, 3, -1, 0, 1024}[rnd.nextInt(5)] + rnd.nextInt(-1, 2))
                                : Mutations.oddValue(rnd);
                        target.put(key, v);
                        what.append(' ').append(key).append('=').append(Mutations.toJson(v));
                    }
                    write(p, Mutations.toJson(json).getBytes(StandardCharsets.UTF_8));
                }
                // a config edit may surface as a tensor that no longer fits the configuration
                check(h, seed, what.toString(), dir, GOLDEN.get(fixture),
                        List.of(file, "generation_config.json", "weight", "embed", "tensor", "model.safetensors", "tokenizer.model"));
            }
        }
    }

    /** tokenizer.model byte mutations. */
    @Test
    void tokenizerMutations() throws Exception {
        byte[] orig = Files.readAllBytes(Golden.FIXTURES.resolve("paligemma2-tiny/tokenizer.model"));
        try (FuzzHarness h = new FuzzHarness("FacadeFuzzTest.tokenizerMutations", PER_CASE_MILLIS)) {
            for (int i = 0; i < 80; i++) {
                long seed = SEED + 10_000 + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                String fixture = FIXTURES[rnd.nextInt(FIXTURES.length)];
                Path dir = copy(fixture);
                StringBuilder what = new StringBuilder(fixture + " tokenizer.model");
                write(dir.resolve("tokenizer.model"), Mutations.mutate(orig, 0, rnd, what));
                check(h, seed, what.toString(), dir, GOLDEN.get(fixture), List.of("tokenizer.model"));
            }
        }
    }

    /**
     * Safetensors header edits (shape, dtype, offsets, names; consistent reshapes that only the model can
     * refuse), shards deleted or swapped, index entries edited.
     */
    @Test
    @SuppressWarnings("unchecked")
    void weightEdits() throws Exception {
        try (FuzzHarness h = new FuzzHarness("FacadeFuzzTest.weightEdits", PER_CASE_MILLIS)) {
            for (int i = 0; i < 240; i++) {
                long seed = SEED + 20_000 + i;
                SplittableRandom rnd = new SplittableRandom(seed);
                String fixture = FIXTURES[rnd.nextInt(FIXTURES.length)];
                Path dir = copy(fixture);
                List<Path> shards;
                try (var s = Files.list(dir)) {
                    shards = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
                }
                Path shard = shards.get(rnd.nextInt(shards.size()));
                String shardName = shard.getFileName().toString();
                StringBuilder what = new StringBuilder(fixture + " " + shardName);
                List<String> names = new ArrayList<>(List.of(shardName));
                int kind = rnd.nextInt(10);
                if (kind >= 7 && shards.size() > 1) {
                    Path index = dir.resolve("model.safetensors.index.json");
                    names.add("model.safetensors.index.json");
                    switch (kind) {
                        case 7 -> {
                            Files.delete(shard);
                            what.append(" deleted");
                        }
                        case 8 -> {
                            Path other = shards.get(0).equals(shard) ? shards.get(1) : shards.get(0);
                            Path t = dir.resolve("tmp");
                            Files.move(shard, t);
                            Files.move(other, shard);
                            Files.move(t, other);
                            names.add(other.getFileName().toString());
                            what.append(" swapped with ").append(other.getFileName());
                        }
                        default -> {
                            Map<String, Object> json = (Map<String, Object>) Mutations.mutableCopy(Json.parse(Files.readString(index)));
                            Map<String, Object> map = (Map<String, Object>) json.get("weight_map");
                            List<String> keys = new ArrayList<>(map.keySet());
                            String key = keys.get(rnd.nextInt(keys.size()));
                            names.add(key);
                            switch (rnd.nextInt(4)) {
                                case 0 -> map.remove(key);
                                case 1 -> map.put(key, shards.get(0).equals(shard) ? shards.get(1).getFileName().toString()
                                        : shards.get(0).getFileName().toString());
                                case 2 -> map.put(key + ".extra", shardName);
                                default -> map.put(key, Mutations.oddValue(rnd));
                            }
                            what.append(" index entry ").append(key).append(" -> ").append(Mutations.toJson(map.get(key)));
                            write(index, Mutations.toJson(json).getBytes(StandardCharsets.UTF_8));
                        }
                    }
                } else {
                    byte[] bytes = Files.readAllBytes(shard);
                    write(shard, editHeader(bytes, rnd, what, names));
                }
                check(h, seed, what.toString(), dir, GOLDEN.get(fixture), names);
            }
        }
    }

    /** One edit of a tensor's header entry; names the tensor in {@code names}. */
    @SuppressWarnings("unchecked")
    private static byte[] editHeader(byte[] file, SplittableRandom rnd, StringBuilder what, List<String> names) {
        ByteBuffer bb = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int hlen = (int) bb.getLong(0);
        Map<String, Object> header = (Map<String, Object>) Mutations.mutableCopy(Json.parse(
                new String(file, 8, hlen, StandardCharsets.UTF_8)));
        List<String> tensors = header.keySet().stream().filter(k -> !k.equals("__metadata__")).toList();
        String t = tensors.get(rnd.nextInt(tensors.size()));
        names.add(t);
        Map<String, Object> e = (Map<String, Object>) header.get(t);
        List<Object> shape = (List<Object>) e.get("shape");
        List<Object> off = (List<Object>) e.get("data_offsets");
        switch (rnd.nextInt(8)) {
            case 0, 1 -> {
                // same element count, other shape: a valid file the model must refuse (or, for a no-op, accept)
                long n = shape.stream().mapToLong(x -> (Long) x).reduce(1, (a, b) -> a * b);
                List<Object> s = new ArrayList<>(shape);
                switch (rnd.nextInt(3)) {
                    case 0 -> java.util.Collections.reverse(s);
                    case 1 -> s = new ArrayList<>(List.of(n));
                    default -> s.add(0, 1L);
                }
                e.put("shape", s);
                what.append(" reshape ").append(t).append(' ').append(s);
            }
            case 2 -> {
                String d = new String[] {"F32", "BF16", "F16", "I32", "U8", "F64", "BOOL", "I64", "X9"}[rnd.nextInt(9)];
                e.put("dtype", d);
                what.append(" dtype ").append(t).append(' ').append(d);
            }
            case 3 -> {
                if (!shape.isEmpty()) {
                    int k = rnd.nextInt(shape.size());
                    Object v = rnd.nextBoolean() ? (Object) ((Long) shape.get(k) + rnd.nextInt(-1, 2)) : Mutations.oddValue(rnd);
                    shape.set(k, v);
                    what.append(" shape[").append(k).append("] ").append(t).append(' ').append(Mutations.toJson(v));
                }
            }
            case 4 -> {
                long shift = new long[] {1, -1, 2, 4, -4, 1L << 40}[rnd.nextInt(6)];
                off.set(0, (Long) off.get(0) + shift);
                off.set(1, (Long) off.get(1) + shift);
                what.append(" offsets ").append(t).append(" +").append(shift);
            }
            case 5 -> {
                String o = tensors.get(rnd.nextInt(tensors.size()));
                Map<String, Object> other = (Map<String, Object>) header.get(o);
                header.put(t, other);
                header.put(o, e);
                names.add(o);
                what.append(" entries of ").append(t).append(" and ").append(o).append(" swapped");
            }
            case 6 -> {
                header.remove(t);
                what.append(" removed ").append(t);
            }
            default -> {
                String renamed = t.replace("layers.0", "layers.9").replace("weight", "weigth");
                header.remove(t);
                header.put(renamed, e);
                what.append(" renamed ").append(t).append(" -> ").append(renamed);
            }
        }
        byte[] h = Mutations.toJson(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + file.length - 8 - hlen).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(h);
        for (int i = h.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        out.put(file, 8 + hlen, file.length - 8 - hlen);
        return out.array();
    }
}
