package dev.paligemma;

import dev.paligemma.cli.Main;
import dev.paligemma.core.ImageException;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.gemma.GenerationOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

import javax.management.ObjectName;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Limits the facade enforces: context length, pixel budget, and memory released on close. */
class ResourceLimitsTest {

    @Test
    void promptLongerThanTheContextIsRefusedNamingTheLimit() throws Exception {
        Golden g = Golden.of("paligemma-tiny");
        try (PaliGemma model = PaliGemma.load(g.dir())) {
            int limit = model.config().text().maxPositionEmbeddings();
            ImageEmbedding image = model.embedPixels(g.pixelValues(), 1);
            String prompt = "caption " + "cat ".repeat(limit);
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> model.generate(image, prompt, GenerationOptions.greedy(2)));
            assertTrue(e.getMessage().contains("max_position_embeddings") && e.getMessage().contains(String.valueOf(limit)),
                    e.getMessage());
        }
    }

    @Test
    void maxTokensBeyondTheContextIsRefusedNamingTheLimit() throws Exception {
        Golden g = Golden.of("paligemma-tiny");
        int limit;
        try (PaliGemma model = PaliGemma.load(g.dir())) {
            limit = model.config().text().maxPositionEmbeddings();
            ImageEmbedding image = model.embedPixels(g.pixelValues(), 1);
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> model.generate(image, "caption en", GenerationOptions.greedy(limit)));
            assertTrue(e.getMessage().contains("max_position_embeddings") && e.getMessage().contains(String.valueOf(limit)),
                    e.getMessage());
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"caption", "--model", g.dir().toString(), "--image",
                Golden.FIXTURES.resolve("images/scene.png").toString(), "--max-tokens", String.valueOf(limit), "--quiet"},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().startsWith("error: ") && err.toString().contains("max_position_embeddings"), err.toString());
    }

    /** A PNG of IHDR only, claiming {@code w x h} pixels: decoding it would fail, the budget must refuse it first. */
    private static byte[] pngHeader(int w, int h) {
        ByteBuffer ihdr = ByteBuffer.allocate(17);
        ihdr.put("IHDR".getBytes()).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        ByteBuffer b = ByteBuffer.allocate(8 + 4 + 17 + 4);
        b.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}).putInt(13).put(ihdr.array()).putInt((int) crc.getValue());
        return b.array();
    }

    @Test
    void imageOverThePixelBudgetIsRefusedBeforeDecoding(@TempDir Path tmp) throws Exception {
        Path big = Files.write(tmp.resolve("big.png"), pngHeader(40_000, 40_000));
        Path scene = Golden.FIXTURES.resolve("images/scene.png");
        try (PaliGemma model = PaliGemma.load(Golden.FIXTURES.resolve("paligemma-tiny"))) {
            ImageException e = assertThrows(ImageException.class, () -> model.readImage(big));
            assertTrue(e.getMessage().contains("big.png") && e.getMessage().contains("40000x40000"), e.getMessage());
            model.readImage(scene);
        }
        try (PaliGemma model = PaliGemma.load(Golden.FIXTURES.resolve("paligemma-tiny"), LoadOptions.defaults().withMaxImagePixels(1000))) {
            ImageException e = assertThrows(ImageException.class, () -> model.readImage(scene));
            assertTrue(e.getMessage().contains("scene.png") && e.getMessage().contains("1000"), e.getMessage());
            // a header-only file proves the refusal comes from the header: decoding it would fail differently
            Path small = Files.write(tmp.resolve("small-header.png"), pngHeader(100, 100));
            ImageException h = assertThrows(ImageException.class, () -> model.readImage(small));
            assertTrue(h.getMessage().contains("1000"), h.getMessage());
        }
    }

    /**
     * 50 load / generate / close cycles must not grow native memory. Run in a child JVM with Native Memory
     * Tracking; the KV cache and other {@code Arena} allocations are malloc'd under NMT's "Other" category.
     * Each generation reserves a cache for 4000 new tokens (about 6.5 MB for this fixture) and is cancelled
     * after its first token, so a leaked cache per cycle would add over 300 MB; the bound is 16 MB.
     */
    @Test
    void fiftyLoadCloseCyclesDoNotGrowNativeMemory() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "-Xmx512m",
                "-XX:NativeMemoryTracking=summary", "-Dpaligemma.fixtures=" + Golden.FIXTURES,
                "-cp", System.getProperty("java.class.path"), NativeMemoryProbe.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
            String line;
            while ((line = r.readLine()) != null) {
                out.append(line).append('\n');
            }
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child finished");
        assertEquals(0, p.exitValue(), out.toString());
        Matcher m = Pattern.compile("other before=(\\d+) after=(\\d+) peak-cache=(\\d+)").matcher(out);
        assertTrue(m.find(), out.toString());
        long before = Long.parseLong(m.group(1));
        long after = Long.parseLong(m.group(2));
        long peak = Long.parseLong(m.group(3));
        System.out.println("native memory (NMT Other, committed): " + before / 1024 + " KB after warm-up, "
                + peak / 1024 + " KB at most during a generation, " + after / 1024 + " KB after 50 more cycles");
        // the probe must see a live cache, or it would prove nothing
        assertTrue(peak - before > 4L << 20, "a live KV cache should show in NMT 'Other':\n" + out);
        assertTrue(after - before < 16L << 20, "NMT 'Other' grew by " + (after - before) + " bytes:\n" + out);
    }

    /** The child JVM: warm up, measure, run 50 cycles, measure. */
    static final class NativeMemoryProbe {
        public static void main(String[] args) throws Exception {
            Golden g = Golden.of("paligemma2-tiny");
            for (int i = 0; i < 5; i++) {
                cycle(g);
            }
            long before = other();
            measure = true;
            for (int i = 0; i < 50; i++) {
                cycle(g);
            }
            System.gc();
            long after = other();
            System.out.println("other before=" + before + " after=" + after + " peak-cache=" + peak);
        }

        private static boolean measure;
        private static long peak;

        private static void cycle(Golden g) {
            try (PaliGemma model = PaliGemma.load(g.dir())) {
                ImageEmbedding image = model.embedPixels(g.pixelValues(), 1);
                dev.paligemma.gemma.CancellationToken cancel = new dev.paligemma.gemma.CancellationToken();
                model.generate(image, "caption en", GenerationOptions.greedy(4000), (id, text) -> {
                    if (measure) {
                        try {
                            peak = Math.max(peak, other());
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    cancel.cancel();
                }, cancel);
            }
        }

        /** Committed bytes of NMT's "Other" category (malloc'd by Unsafe / Arena). */
        private static long other() throws Exception {
            String s = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {"summary"}}, new String[] {String[].class.getName()});
            Matcher m = Pattern.compile("-\\s+Other \\(reserved=(\\d+)KB, committed=(\\d+)KB\\)").matcher(s);
            if (!m.find()) {
                throw new IllegalStateException("no 'Other' category in:\n" + s);
            }
            return Long.parseLong(m.group(2)) * 1024;
        }
    }
}
