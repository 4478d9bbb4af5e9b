package dev.paligemma.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A weight file truncated or replaced after the checkpoint mapped it: reads must end in a
 * {@link CheckpointException} naming the file, not a SIGBUS that kills the JVM. On HotSpot a fault in a
 * plain segment access (interpreted or compiled) surfaces as an InternalError, which Tensor translates;
 * {@link Checkpoint#verifyUnchanged()} catches the change before any access.
 */
class TruncatedCheckpointTest {
    static final Path FIXTURES = Path.of(System.getProperty("paligemma.fixtures"));

    @TempDir
    Path dir;

    private Path copyTiny() throws Exception {
        Files.copy(FIXTURES.resolve("paligemma-tiny/model.safetensors"), dir.resolve("model.safetensors"));
        return dir.resolve("model.safetensors");
    }

    private static void truncate(Path file, long size) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    /** The tensor whose bytes end last in the file: past any truncation point. */
    private static Tensor last(Checkpoint c) {
        Tensor best = null;
        for (Tensor t : c.tensors().values()) {
            if (best == null || t.segment().address() > best.segment().address()) {
                best = t;
            }
        }
        return best;
    }

    @Test
    void truncatedFileGivesCheckpointExceptionNotSigbus() throws Exception {
        Path file = copyTiny();
        long size = Files.size(file);
        try (Checkpoint c = Checkpoint.open(dir)) {
            Tensor t = last(c);
            float[] buf = new float[(int) t.size()];
            // hot enough for the JIT to compile the read path: compiled accesses must be protected too
            float sum = 0;
            for (int i = 0; i < 3000; i++) {
                t.toFloats(0, buf, 0, buf.length);
                sum += buf[i % buf.length] + t.getFloat(i % buf.length);
            }
            assertTrue(Float.isFinite(sum));
            c.verifyUnchanged();

            truncate(file, size / 2);

            CheckpointException v = assertThrows(CheckpointException.class, c::verifyUnchanged);
            assertTrue(v.getMessage().contains(file.toString()) && v.getMessage().contains("changed size"), v.getMessage());
            for (org.junit.jupiter.api.function.Executable read : new org.junit.jupiter.api.function.Executable[] {
                    () -> t.getFloat(t.size() - 1),
                    () -> t.toFloats(0, buf, 0, buf.length),
                    t::toFloatArray}) {
                CheckpointException e;
                try {
                    read.execute();
                    throw new AssertionError("reading the truncated tensor did not throw");
                } catch (CheckpointException expected) {
                    e = expected;
                } catch (InternalError asynchronous) {
                    // in code C2 compiled with the read inlined, HotSpot may raise the fault after the read has
                    // returned, in the caller's frame, outside Tensor's translation (seen twice in full runs on a
                    // Xeon guest, from this lambda's getFloat): it must be the mapping fault, and guard, which
                    // wraps the caller, must translate the same read
                    assertTrue(Checkpoint.mappingFault(asynchronous) != null, "not the mapping fault: " + asynchronous);
                    e = assertThrows(CheckpointException.class, () -> c.guard(() -> {
                        try {
                            read.execute();
                        } catch (Throwable x) {
                            if (x instanceof RuntimeException r) {
                                throw r;
                            }
                            if (x instanceof Error err) {
                                throw err;
                            }
                            throw new AssertionError(x);
                        }
                    }));
                    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
                    continue;
                } catch (Throwable other) {
                    throw new AssertionError("expected a CheckpointException, got " + other, other);
                }
                assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains(t.name()), e.getMessage());
                assertTrue(e.getCause() instanceof InternalError, "cause is the JVM's fault report");
            }
            // guard checks the files first and names the one that changed
            CheckpointException g = assertThrows(CheckpointException.class, () -> c.guard(t::toFloatArray));
            assertTrue(g.getMessage().contains(file.toString()), g.getMessage());
        }
        // the JVM is still here and the mapping was released
        assertEquals(size / 2, Files.size(file));
    }

    @Test
    void guardTranslatesAFaultInsideTheBody() throws Exception {
        Path file = copyTiny();
        try (Checkpoint c = Checkpoint.open(dir)) {
            Tensor t = last(c);
            // a raw segment read, as a kernel does, wrapped the way a worker pool wraps task failures
            java.util.function.Supplier<Float> kernel = () -> {
                try {
                    return t.segment().get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, t.segment().byteSize() - 4);
                } catch (InternalError e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            };
            assertTrue(Float.isFinite(c.guard(kernel)));
            CheckpointException e = assertThrows(CheckpointException.class, () -> c.guard(() -> {
                try {
                    truncate(file, 4096);
                } catch (Exception x) {
                    throw new AssertionError(x);
                }
                return kernel.get();
            }));
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        }
    }

    @Test
    void replacedFileOfTheSameSizeIsDetected() throws Exception {
        Path file = copyTiny();
        try (Checkpoint c = Checkpoint.open(dir)) {
            Files.setLastModifiedTime(file, FileTime.fromMillis(Files.getLastModifiedTime(file).toMillis() + 60_000));
            CheckpointException e = assertThrows(CheckpointException.class, c::verifyUnchanged);
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("modified"), e.getMessage());
        }
    }

    @Test
    void deletedShardIsDetected() throws Exception {
        for (String n : new String[] {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json"}) {
            Files.copy(FIXTURES.resolve("paligemma2-tiny").resolve(n), dir.resolve(n));
        }
        try (Checkpoint c = Checkpoint.open(dir)) {
            c.verifyUnchanged();
            Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
            CheckpointException e = assertThrows(CheckpointException.class, c::verifyUnchanged);
            assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors"), e.getMessage());
        }
    }
}
