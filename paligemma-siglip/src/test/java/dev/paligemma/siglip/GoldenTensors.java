package dev.paligemma.siglip;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test-local reader for F32 tensors in a safetensors file (8-byte little-endian header length, JSON
 * header, raw little-endian data), kept here so these tests do not depend on the core reader.
 */
final class GoldenTensors {
    record F32(long[] shape, float[] values) {}

    private final byte[] file;
    private final String header;
    private final int dataStart;

    GoldenTensors(Path path) throws IOException {
        file = Files.readAllBytes(path);
        long headerLength = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        header = new String(file, 8, (int) headerLength, StandardCharsets.UTF_8);
        dataStart = 8 + (int) headerLength;
    }

    F32 get(String name) {
        Matcher entry = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*\\{([^}]*)}").matcher(header);
        if (!entry.find()) {
            throw new IllegalArgumentException("no tensor " + name + " in " + header);
        }
        String body = entry.group(1);
        if (!body.matches("(?s).*\"dtype\"\\s*:\\s*\"F32\".*")) {
            throw new IllegalArgumentException(name + " is not F32: " + body);
        }
        long[] shape = longs(body, "shape");
        long[] offsets = longs(body, "data_offsets");
        int count = (int) ((offsets[1] - offsets[0]) / 4);
        float[] values = new float[count];
        ByteBuffer.wrap(file, dataStart + (int) offsets[0], count * 4)
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer()
                .get(values);
        return new F32(shape, values);
    }

    private static long[] longs(String body, String key) {
        Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*\\[([^\\]]*)]").matcher(body);
        if (!m.find()) {
            throw new IllegalArgumentException("no " + key + " in " + body);
        }
        String[] parts = m.group(1).split(",");
        long[] out = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = Long.parseLong(parts[i].trim());
        }
        return out;
    }
}
