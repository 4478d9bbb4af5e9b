package dev.paligemma.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte for tests, independently of {@link SafetensorsWriter}. */
final class RawSafetensors {
    private RawSafetensors() {
    }

    /** Writes an 8-byte little-endian length, {@code header} as UTF-8 (unpadded), then {@code data}. */
    static Path write(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }

    static byte[] floatsLE(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    static byte[] shortsLE(int... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int s : v) {
            b.putShort((short) s);
        }
        return b.array();
    }

    /** The data area of a safetensors file: everything after the header. */
    static ByteBuffer dataArea(Path file) throws IOException {
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long n = all.getLong(0);
        return all.position((int) (8 + n)).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * IEEE half to float by hand, from the bit fields, so the test does not rely on
     * {@link Float#float16ToFloat}, which the code under test uses.
     */
    static float halfToFloat(int h) {
        int sign = (h >> 15) & 1;
        int exp = (h >> 10) & 0x1F;
        int mant = h & 0x3FF;
        double v;
        if (exp == 0) {
            v = mant * Math.pow(2, -24);
        } else if (exp == 31) {
            v = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            v = (1 + mant / 1024.0) * Math.pow(2, exp - 15);
        }
        return (float) (sign == 1 ? -v : v);
    }

    /** bfloat16 to float by hand: the 16 bits are the float's high half. */
    static float bf16ToFloat(int b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }
}
