package dev.paligemma.gemma;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.Json;
import dev.paligemma.core.SafetensorsFile;
import dev.paligemma.core.config.PaliGemmaConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Access to the shared reference fixtures (fixtures/README.md). */
final class Fixtures {
    static final Path ROOT = Path.of(System.getProperty("paligemma.fixtures", "../fixtures"));

    private Fixtures() {
    }

    static Path dir(String name) {
        return ROOT.resolve(name);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> goldenJson(String name) {
        try {
            return (Map<String, Object>) Json.parse(Files.readString(dir(name).resolve("golden.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static SafetensorsFile goldenTensors(String name) {
        return SafetensorsFile.open(dir(name).resolve("golden.safetensors"));
    }

    static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
    }

    /** A loaded model with its checkpoint; close to unmap. */
    record Loaded(Checkpoint checkpoint, PaliGemmaConfig config, GemmaModel model) implements AutoCloseable {
        static Loaded of(String name) {
            PaliGemmaConfig config = PaliGemmaConfig.load(dir(name));
            Checkpoint ckpt = Checkpoint.open(dir(name));
            return new Loaded(ckpt, config, GemmaModel.load(ckpt, config));
        }

        @Override
        public void close() {
            checkpoint.close();
        }
    }
}
