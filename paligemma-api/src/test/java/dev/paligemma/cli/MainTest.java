package dev.paligemma.cli;

import dev.paligemma.Golden;
import dev.paligemma.core.Json;
import dev.paligemma.core.SafetensorsFile;
import dev.paligemma.core.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI run in-process: outputs against the goldens, exit codes and error lines. */
class MainTest {
    static final Path FIX = Golden.FIXTURES;
    static final double TOLERANCE = 1e-4;

    record Run(int code, String out, String err) {
        List<String> errorLines() {
            return err.lines().filter(l -> l.startsWith("error: ")).toList();
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void captionPrintsGoldenIdsAndDumpsGoldenLogits(@TempDir Path tmp) throws Exception {
        Golden g = Golden.of("paligemma-tiny");
        Path dump = tmp.resolve("logits.safetensors");
        Run r = run("caption", "--model", g.dir().toString(), "--pixel-values", g.dir().resolve("golden.safetensors").toString(),
                "--max-tokens", String.valueOf(g.greedyTokens().size()), "--print-token-ids", "--dump-logits", dump.toString(),
                "--quiet");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        String ids = lines.get(lines.size() - 1);
        assertEquals("ids: " + String.join(" ", g.greedyTokens().stream().map(String::valueOf).toList()), ids);
        assertEquals("", r.err(), "--quiet keeps stderr empty");
        try (SafetensorsFile f = SafetensorsFile.open(dump)) {
            Tensor t = f.tensor("logits");
            assertEquals(List.of((long) g.greedyTokens().size(), (long) g.vocab()), Arrays.stream(t.shape()).boxed().toList());
            float[] all = t.toFloatArray();
            for (int s = 0; s < g.greedyTokens().size(); s++) {
                double d = Golden.maxScaledDiff(Arrays.copyOfRange(all, s * g.vocab(), (s + 1) * g.vocab()), g.stepLogits(),
                        s * g.vocab(), g.vocab());
                assertTrue(d <= TOLERANCE, "step " + s + " differs by " + d);
            }
        }
    }

    @Test
    void jsonOutputParsesWithTextIdsAndTimings() throws Exception {
        Golden g = Golden.of("paligemma2-tiny");
        Run r = run("generate", "--model", g.dir().toString(), "--image", FIX.resolve("images/scene.png").toString(),
                "--prompt", g.prompt(), "--max-tokens", "5", "--json");
        assertEquals(0, r.code(), r.err());
        Map<?, ?> json = (Map<?, ?>) Json.parse(r.out().strip());
        assertEquals(5, ((List<?>) json.get("token_ids")).size());
        assertTrue(json.get("text") instanceof String);
        assertEquals("max_tokens", json.get("stop_reason"));
        Map<?, ?> timings = (Map<?, ?>) json.get("timings");
        for (String k : List.of("load_ms", "image_encode_ms", "prefill_ms", "decode_ms", "tokens_per_s")) {
            assertTrue(timings.containsKey(k), k);
        }
        assertTrue(r.err().contains("prefill"), "progress and timings go to stderr");
    }

    @Test
    void detectAndSegmentReportTheirObjectsInJson(@TempDir Path tmp) throws Exception {
        Path dir = FIX.resolve("paligemma-tiny");
        Path overlay = tmp.resolve("boxes.png");
        Run r = run("detect", "--model", dir.toString(), "--image", FIX.resolve("images/scene.png").toString(),
                "--objects", "cat ; dog", "--max-tokens", "8", "--json", "--overlay", overlay.toString());
        assertEquals(0, r.code(), r.err());
        Map<?, ?> json = (Map<?, ?>) Json.parse(r.out().strip());
        assertTrue(json.get("detections") instanceof List<?>);
        assertTrue(Files.size(overlay) > 0);
        assertEquals(320, javax.imageio.ImageIO.read(overlay.toFile()).getWidth(), "overlay keeps the original size");

        Run s = run("segment", "--model", dir.toString(), "--image", FIX.resolve("images/scene.png").toString(),
                "--objects", "car", "--vae", FIX.resolve("segmentation/vae-tiny.npz").toString(), "--max-tokens", "4", "--json");
        assertEquals(0, s.code(), s.err());
        assertTrue(((Map<?, ?>) Json.parse(s.out().strip())).get("segments") instanceof List<?>);
    }

    @Test
    void segmentWithoutVaeSaysWhereToGetIt() {
        Run r = run("segment", "--model", FIX.resolve("paligemma-tiny").toString(), "--image",
                FIX.resolve("images/scene.png").toString(), "--objects", "car", "--max-tokens", "2");
        assertEquals(3, r.code());
        assertEquals(1, r.errorLines().size(), r.err());
        assertTrue(r.errorLines().get(0).contains("vae-oid.npz"), r.err());
    }

    @Test
    void maskPrintsTheRawDecoderOutput() throws Exception {
        int[] codes;
        float[] golden;
        try (SafetensorsFile f = SafetensorsFile.open(FIX.resolve("segmentation/golden.safetensors"))) {
            Tensor c = f.tensor("codes");
            codes = new int[16];
            for (int i = 0; i < 16; i++) {
                codes[i] = (int) c.getLong(i);
            }
            golden = Arrays.copyOf(f.tensor("mask64").toFloatArray(), 4096);
        }
        List<String> args = new ArrayList<>(List.of("mask", "--vae", FIX.resolve("segmentation/vae-tiny.npz").toString(), "--json", "--codes"));
        for (int c : codes) {
            args.add(String.valueOf(c));
        }
        Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        List<?> mask = (List<?>) ((Map<?, ?>) Json.parse(r.out().strip())).get("mask64");
        assertEquals(4096, mask.size());
        for (int i = 0; i < 4096; i++) {
            assertEquals(golden[i], ((Number) mask.get(i)).doubleValue(), 1e-4, "mask64[" + i + "]");
        }
    }

    @Test
    void tokenizeAndInfo() throws Exception {
        Run t = run("tokenize", "--model", FIX.resolve("paligemma-tiny").toString(), "--text", "caption en\n");
        assertEquals(0, t.code(), t.err());
        Golden g = Golden.of("paligemma-tiny");
        // the golden prefix is [image]*256 <bos> tokens("caption en\n")
        assertEquals(String.join(" ", g.inputIds().subList(257, g.inputIds().size()).stream().map(String::valueOf).toList()),
                t.out().strip());
        Run i = run("info", "--model", FIX.resolve("paligemma2-tiny").toString(), "--json");
        assertEquals(0, i.code(), i.err());
        Map<?, ?> info = (Map<?, ?>) Json.parse(i.out().strip());
        assertEquals(Map.of("BF16", Long.valueOf(((Number) info.get("parameters")).longValue())), info.get("parameters_by_dtype"));
        assertEquals("gemma2", ((Map<?, ?>) info.get("decoder")).get("model_type"));
        assertEquals(2L, info.get("weight_files"));
    }

    @Test
    void benchOnACheckpointPrintsEveryRequiredJsonKey() {
        Run r = run("bench", "--checkpoint", FIX.resolve("paligemma2-tiny").toString(), "--quick", "--json", "--quiet");
        assertEquals(0, r.code(), r.err());
        Map<?, ?> json = (Map<?, ?>) Json.parse(r.out().strip());
        for (String k : List.of("decode_tokens_per_s", "decode_gb_per_s", "bandwidth_gb_per_s", "decode_fraction_of_bandwidth",
                "prefill_gflops", "vision_gflops", "fma_peak_gflops", "prefill_fraction_of_peak", "vision_fraction_of_peak",
                "load_s", "peak_rss_mb")) {
            assertTrue(json.get(k) instanceof Number n && n.doubleValue() >= 0, k + " in " + r.out());
        }
        assertEquals(2, run("bench", "--synthetic", "no-such-model", "--quiet").code());
    }

    @Test
    void missingModelDirectoryIsBadInput() {
        Run r = run("caption", "--model", "/nonexistent/model", "--image", FIX.resolve("images/scene.png").toString());
        assertEquals(3, r.code());
        assertEquals(1, r.errorLines().size(), r.err());
        assertTrue(r.errorLines().get(0).contains("/nonexistent/model"));
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose");
    }

    @Test
    void corruptWeightsAreBadInputNamingTheFile(@TempDir Path tmp) throws Exception {
        Path dir = copyFixture("paligemma-tiny", tmp);
        Path weights = dir.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(weights);
        Files.write(weights, Arrays.copyOf(b, b.length / 2));
        Run r = run("caption", "--model", dir.toString(), "--image", FIX.resolve("images/scene.png").toString());
        assertEquals(3, r.code(), r.err());
        assertEquals(1, r.errorLines().size(), r.err());
        assertTrue(r.errorLines().get(0).contains("model.safetensors"), r.err());
        Run v = run("caption", "--model", dir.toString(), "--image", FIX.resolve("images/scene.png").toString(), "--verbose");
        assertTrue(v.err().contains("\tat "), "--verbose adds the stack trace");
    }

    @Test
    void nonImageFileIsBadInputNamingTheFile(@TempDir Path tmp) throws Exception {
        Path notImage = tmp.resolve("notes.png");
        Files.writeString(notImage, "this is not a picture");
        Run r = run("ocr", "--model", FIX.resolve("paligemma-tiny").toString(), "--image", notImage.toString());
        assertEquals(3, r.code(), r.err());
        assertEquals(1, r.errorLines().size(), r.err());
        assertTrue(r.errorLines().get(0).contains("notes.png"), r.err());
    }

    @Test
    void badOptionsAreBadArguments() {
        String model = FIX.resolve("paligemma-tiny").toString();
        String image = FIX.resolve("images/scene.png").toString();
        for (String[] args : List.of(
                new String[] {"caption", "--model", model, "--image", image, "--max-tokens", "0"},
                new String[] {"caption", "--model", model, "--image", image, "--max-tokens", "many"},
                new String[] {"caption", "--model", model, "--image", image, "--top-p", "1.5"},
                new String[] {"caption", "--model", model, "--image", image, "--bogus"},
                new String[] {"caption", "--model", model, "--image", image, "--dtype", "q4"},
                new String[] {"caption", "--model", model},
                new String[] {"caption", "--model", model, "--image", image, "--lang", "not a language"},
                new String[] {"caption", "--model", model, "--image", image, "--max-tokens", "100000"},
                new String[] {"frobnicate"},
                new String[] {})) {
            Run r = run(args);
            assertEquals(2, r.code(), String.join(" ", args) + " -> " + r.err());
            assertEquals(1, r.errorLines().size(), String.join(" ", args) + " -> " + r.err());
        }
    }

    static Path copyFixture(String name, Path into) throws Exception {
        Path src = FIX.resolve(name);
        Path dst = into.resolve(name);
        Files.createDirectories(dst);
        try (Stream<Path> files = Files.list(src)) {
            for (Path p : files.toList()) {
                Files.copy(p, dst.resolve(p.getFileName()));
            }
        }
        return dst;
    }
}
