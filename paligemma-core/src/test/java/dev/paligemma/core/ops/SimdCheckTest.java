package dev.paligemma.core.ops;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SimdCheckTest {
    @Test
    void namesTheReasonSimdSpeedIsMissing() {
        assertNull(SimdCheck.problem(256, true));
        assertNull(SimdCheck.problem(512, true));
        assertTrue(SimdCheck.problem(64, true).contains("64-bit"));
        assertTrue(SimdCheck.problem(512, false).contains("-Xint"));
    }
}
