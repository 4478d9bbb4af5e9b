package dev.paligemma.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.DType;
import dev.paligemma.core.config.PaliGemmaConfig;
import dev.paligemma.gemma.DecoderInput;
import dev.paligemma.gemma.GemmaModel;
import dev.paligemma.gemma.GemmaSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Gemma 2 decoder whose MLP rows are long enough for column panels (4096: two of 2048) runs the same from the
 * panelled view as from the stored checkpoint: prefill (GEMM, k cut at the panel end) and decode steps within
 * float rounding, the same greedy tokens.
 */
class PanelledDecoderTest {
    static final SyntheticSpec LONG_MLP = new SyntheticSpec("tiny-long-mlp", 2, 32, 48, 2, 28, 14,
            "gemma2", 2, 32, 2, 1, 16, 4096, 300, 256);

    @TempDir
    Path tmp;

    @Test
    void panelledViewDecodesAsTheStoredCheckpoint() {
        Path dir = tmp.resolve("ckpt");
        SyntheticCheckpoint.write(dir, LONG_MLP, DType.BF16, SyntheticCheckpoint.DEFAULT_MAX_SHARD_BYTES, null);
        PaliGemmaConfig config = PaliGemmaConfig.load(dir);
        String down = "language_model.model.layers.1.mlp.down_proj.weight";
        try (Checkpoint stored = Checkpoint.open(dir); Checkpoint panelled = Checkpoint.open(dir).panelled(tmp.resolve("cache"))) {
            assertFalse(stored.tensor(down).isPanelled());
            assertTrue(panelled.tensor(down).isPanelled());
            assertEquals(2048, panelled.tensor(down).panelLength());
            assertTrue(Files.isRegularFile(panelled.panelCacheFile(tmp.resolve("cache"))));
            GemmaModel a = GemmaModel.load(stored, config);
            GemmaModel b = GemmaModel.load(panelled, config);
            int imageRows = config.imageTokens();
            float[] rows = new float[imageRows * config.text().hiddenSize()];
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < rows.length; i++) {
                rows[i] = (float) (r.nextDouble() * 2 - 1);
            }
            int[] ids = {config.bosTokenId(), 17, 42, 99};
            DecoderInput in = a.input(rows, imageRows, ids);
            try (GemmaSession sa = a.newSession(in.length() + 8); GemmaSession sb = b.newSession(in.length() + 8)) {
                float[] la = sa.prefill(in);
                float[] lb = sb.prefill(b.input(rows, imageRows, ids));
                for (int step = 0; step <= 6; step++) {
                    double scale = 0, err = 0;
                    for (int i = 0; i < la.length; i++) {
                        scale = Math.max(scale, Math.abs(la[i]));
                        err = Math.max(err, Math.abs(la[i] - lb[i]));
                    }
                    assertTrue(scale > 0);
                    assertTrue(err <= 1e-4 * scale, "step " + step + ": logits differ by " + err + " (max |logit| " + scale + ")");
                    int ta = BenchmarkRunner.argmax(la);
                    assertEquals(ta, BenchmarkRunner.argmax(lb), "greedy token at step " + step);
                    if (step < 6) {
                        sa.step(ta, la);
                        sb.step(ta, lb);
                    }
                }
            }
        }
    }
}
