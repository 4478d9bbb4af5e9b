package dev.paligemma.segmentation;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test-only reader for the small golden safetensors file: 8-byte little-endian header length, a JSON
 * header, then raw little-endian data. The header is flat and machine-written, so a regex per tensor is
 * enough here.
 */
final class GoldenSafetensors {
    private final String header;
    private final ByteBuffer data;

    private GoldenSafetensors(String header, ByteBuffer data) {
        this.header = header;
        this.data = data;
    }

    static GoldenSafetensors read(Path path) throws IOException {
        byte[] all = Files.readAllBytes(path);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) b.getLong(0);
        String header = new String(all, 8, n, StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.wrap(all, 8 + n, all.length - 8 - n).slice().order(ByteOrder.LITTLE_ENDIAN);
        return new GoldenSafetensors(header, data);
    }

    /** [dtype, shape..., begin, end] of a tensor. */
    private Matcher entry(String name) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(name)
                + "\"\\s*:\\s*\\{\\s*\"dtype\"\\s*:\\s*\"(\\w+)\"\\s*,\\s*\"shape\"\\s*:\\s*\\[([0-9, ]*)]\\s*,\\s*\"data_offsets\"\\s*:\\s*\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*]")
                .matcher(header);
        if (!m.find()) {
            throw new IllegalArgumentException("no tensor " + name + " in " + header);
        }
        return m;
    }

    int[] shape(String name) {
        String[] parts = entry(name).group(2).split(",");
        int[] s = new int[parts.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = Integer.parseInt(parts[i].trim());
        }
        return s;
    }

    float[] floats(String name) {
        Matcher m = entry(name);
        if (!m.group(1).equals("F32")) {
            throw new IllegalArgumentException(name + " is " + m.group(1));
        }
        int begin = Integer.parseInt(m.group(3));
        float[] out = new float[(Integer.parseInt(m.group(4)) - begin) / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = data.getFloat(begin + 4 * i);
        }
        return out;
    }

    int[] ints(String name) {
        Matcher m = entry(name);
        int begin = Integer.parseInt(m.group(3));
        int end = Integer.parseInt(m.group(4));
        return switch (m.group(1)) {
            case "I32" -> {
                int[] out = new int[(end - begin) / 4];
                for (int i = 0; i < out.length; i++) {
                    out[i] = data.getInt(begin + 4 * i);
                }
                yield out;
            }
            case "U8" -> {
                int[] out = new int[end - begin];
                for (int i = 0; i < out.length; i++) {
                    out[i] = data.get(begin + i) & 0xff;
                }
                yield out;
            }
            default -> throw new IllegalArgumentException(name + " is " + m.group(1));
        };
    }
}
