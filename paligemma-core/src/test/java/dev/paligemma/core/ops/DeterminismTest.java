package dev.paligemma.core.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bit-exact determinism of every kernel (no tolerance): the same inputs give the same bits whatever the
 * thread count, whether the kernel runs at top level or inline inside a pool task, when several threads
 * call it at once, and whether the JIT has compiled it or not (a forked {@code -Xint} JVM, where the
 * Vector API runs its Java fallback, against this warmed-up JVM).
 */
@Timeout(120)
class DeterminismTest {
    private int saved;

    @BeforeEach
    void save() {
        saved = Parallel.threads();
    }

    @AfterEach
    void restore() {
        Parallel.setThreads(saved);
    }

    private static void assertSame(Map<String, float[]> want, Map<String, float[]> got, String how) {
        assertEquals(want.keySet(), got.keySet());
        for (String name : want.keySet()) {
            assertArrayEquals(want.get(name), got.get(name), name + " " + how);
        }
    }

    @Test
    void threadCountDoesNotChangeBits() {
        Parallel.setThreads(1);
        Map<String, float[]> one = KernelOutputs.compute(true);
        for (int t : new int[] {2, 3}) {
            Parallel.setThreads(t);
            assertSame(one, KernelOutputs.compute(true), "with " + t + " threads vs 1");
        }
    }

    @Test
    void nestedInlineCallGivesTopLevelBits() {
        Parallel.setThreads(3);
        Map<String, float[]> top = KernelOutputs.compute(true);
        List<Map<String, float[]>> nested = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            nested.add(null);
        }
        Parallel.forEach(3, i -> nested.set(i, KernelOutputs.compute(true)));
        for (int i = 0; i < 3; i++) {
            assertSame(top, nested.get(i), "inside pool task " + i);
        }
    }

    @Test
    void concurrentCallersGetTheirSoloBits() throws Exception {
        Parallel.setThreads(2);
        Map<String, float[]> solo = KernelOutputs.compute(true);
        ExecutorService ex = Executors.newFixedThreadPool(4);
        try {
            List<Future<Map<String, float[]>>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                fs.add(ex.submit(() -> KernelOutputs.compute(true)));
            }
            for (Future<Map<String, float[]>> f : fs) {
                assertSame(solo, f.get(60, TimeUnit.SECONDS), "from concurrent callers");
            }
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void interpretedJvmGivesCompiledBits() throws IOException, InterruptedException {
        // warm up so this JVM's kernels run C2 code (the first calls above ran interpreted/C1)
        for (int i = 0; i < 30; i++) {
            KernelOutputs.compute(true);
        }
        Map<String, String> here = new LinkedHashMap<>();
        for (int i = 0; i < 200; i++) {
            KernelOutputs.compute(false);
        }
        KernelOutputs.warmUp(30_000);
        KernelOutputs.compute(false).forEach((name, v) -> here.put(name, KernelOutputs.fingerprint(v)));

        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-Xint", "--add-modules", "jdk.incubator.vector"));
        // the child must pick this JVM's vector shape: pass on the flags that change it (a run with
        // -XX:MaxVectorSize=32 otherwise compares 8-lane results here with 16-lane ones there)
        for (String arg : ProcessHandle.current().info().arguments().orElse(new String[0])) {
            if (arg.startsWith("-XX:MaxVectorSize") || arg.startsWith("-XX:UseAVX")) {
                cmd.add(arg);
            }
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), KernelOutputs.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "-Xint child did not finish");
        assertEquals(0, p.exitValue(), "-Xint child failed: " + text);
        Map<String, String> interpreted = new LinkedHashMap<>();
        for (String line : text.strip().split("\n")) {
            int eq = line.indexOf('=');
            interpreted.put(line.substring(0, eq), line.substring(eq + 1));
        }
        assertEquals(here, interpreted, "-Xint (Vector API fallback) vs C2 fingerprints");
    }
}
