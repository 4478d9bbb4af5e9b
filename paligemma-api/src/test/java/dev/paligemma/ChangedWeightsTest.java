package dev.paligemma;

import dev.paligemma.core.CheckpointException;
import dev.paligemma.gemma.GenerationOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A weights file truncated after loading gives a typed error, not a SIGBUS crash. */
class ChangedWeightsTest {
    @Test
    void truncatedAfterLoadingIsACheckpointExceptionNamingTheFile(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(Golden.FIXTURES.resolve("paligemma-tiny"))) {
            for (Path p : files.toList()) {
                Files.copy(p, dir.resolve(p.getFileName()));
            }
        }
        Golden g = Golden.of("paligemma-tiny");
        try (PaliGemma model = PaliGemma.load(dir)) {
            // warm the vectorised kernels first: a fault inside C2-compiled Vector API code is the dangerous case
            for (int i = 0; i < 3; i++) {
                model.generate(model.embedPixels(g.pixelValues(), 1), "caption en", GenerationOptions.greedy(2));
            }
            try (RandomAccessFile f = new RandomAccessFile(dir.resolve("model.safetensors").toFile(), "rw")) {
                f.setLength(f.length() / 3);
            }
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> model.generate(model.embedPixels(g.pixelValues(), 1), "caption en", GenerationOptions.greedy(2)));
            assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        }
    }
}
