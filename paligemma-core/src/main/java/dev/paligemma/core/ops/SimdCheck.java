package dev.paligemma.core.ops;

import jdk.incubator.vector.FloatVector;

import java.lang.management.ManagementFactory;

/**
 * Warns once, loudly, when the Vector API cannot give SIMD speed: vectors of 64 bits or less (the
 * kernels then run their scalar loops) or no JIT compiler (-Xint: every vector op is interpreted,
 * hundreds of times slower). Results stay correct and identical either way; only speed suffers, which
 * a user would otherwise mistake for the library being slow.
 */
final class SimdCheck {
    private static volatile boolean done;

    private SimdCheck() {
    }

    /** Runs the check the first time it is called; later calls return at once. */
    static void once() {
        if (done) {
            return;
        }
        synchronized (SimdCheck.class) {
            if (done) {
                return;
            }
            done = true;
            String problem = problem(FloatVector.SPECIES_PREFERRED.vectorBitSize(), jitAvailable());
            if (problem != null) {
                String message = "paligemma: WARNING: " + problem + "; inference will be much slower than it should be";
                org.slf4j.LoggerFactory.getLogger(SimdCheck.class).warn(message);
                // slf4j may be bound to nothing; a silent tenfold slowdown is worse than a line on stderr
                System.err.println(message);
            }
        }
    }

    /** The reason SIMD speed is unavailable, or null when all is well. */
    static String problem(int vectorBits, boolean jit) {
        if (!jit) {
            return "the JVM runs without a JIT compiler (-Xint?), so the Vector API is interpreted";
        }
        if (vectorBits <= 64) {
            return "the Vector API offers only " + vectorBits + "-bit vectors on this CPU/JVM, so the kernels run scalar";
        }
        return null;
    }

    private static boolean jitAvailable() {
        var compiler = ManagementFactory.getCompilationMXBean();
        return compiler != null && !String.valueOf(System.getProperty("java.vm.info")).contains("interpreted mode");
    }
}
