package dev.paligemma;

import dev.paligemma.core.Json;
import dev.paligemma.core.SafetensorsFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** A model fixture's golden tensors and facts (fixtures/README.md). */
public record Golden(Path dir, float[] pixelValues, float[] stepLogits, int vocab, List<Integer> greedyTokens,
                     List<Double> greedyMargins, String prompt, List<Integer> inputIds) {

    public static final Path FIXTURES = Path.of(System.getProperty("paligemma.fixtures"));

    public static Golden of(String fixture) throws Exception {
        Path dir = FIXTURES.resolve(fixture);
        Map<?, ?> json = (Map<?, ?>) Json.parse(Files.readString(dir.resolve("golden.json")));
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("golden.safetensors"))) {
            var logits = f.tensor("step_logits");
            return new Golden(dir, f.tensor("pixel_values").toFloatArray(), logits.toFloatArray(), (int) logits.dim(1),
                    ((List<?>) json.get("greedy_tokens")).stream().map(o -> ((Long) o).intValue()).toList(),
                    ((List<?>) json.get("greedy_top2_margins")).stream().map(o -> ((Number) o).doubleValue()).toList(),
                    (String) json.get("prompt"),
                    ((List<?>) json.get("input_ids")).stream().map(o -> ((Long) o).intValue()).toList());
        }
    }

    /** Max of |a - e| / max(1, |e|): absolute below 1, relative above. */
    public static double maxScaledDiff(float[] actual, float[] expected, int from, int len) {
        double max = 0;
        for (int i = 0; i < len; i++) {
            double e = expected[from + i];
            max = Math.max(max, Math.abs(actual[i] - e) / Math.max(1, Math.abs(e)));
        }
        return max;
    }
}
