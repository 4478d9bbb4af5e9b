package dev.paligemma.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Test helper: serializes a SentencePiece ModelProto with chosen pieces and spec flags. */
final class ModelWriter {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) {
            o.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
    }

    static void tag(ByteArrayOutputStream o, int field, int wire) {
        varint(o, ((long) field << 3) | wire);
    }

    static void bytesField(ByteArrayOutputStream o, int field, byte[] b) {
        tag(o, field, 2);
        varint(o, b.length);
        o.writeBytes(b);
    }

    static void varintField(ByteArrayOutputStream o, int field, long v) {
        tag(o, field, 0);
        varint(o, v);
    }

    ModelWriter piece(byte[] piece, float score, int type) {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        bytesField(p, 1, piece);
        tag(p, 2, 5);
        int bits = Float.floatToRawIntBits(score);
        for (int i = 0; i < 4; i++) p.write(bits >>> (8 * i));
        varintField(p, 3, type);
        bytesField(out, 1, p.toByteArray());
        return this;
    }

    ModelWriter piece(String piece, float score, int type) {
        return piece(piece.getBytes(StandardCharsets.UTF_8), score, type);
    }

    ModelWriter trainerSpec(int modelType, boolean byteFallback, boolean wsSuffix) {
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        varintField(t, 3, modelType);
        varintField(t, 24, wsSuffix ? 1 : 0);
        varintField(t, 35, byteFallback ? 1 : 0);
        bytesField(t, 45, "<unk>".getBytes(StandardCharsets.UTF_8));
        bytesField(t, 46, "<bos>".getBytes(StandardCharsets.UTF_8));
        bytesField(t, 47, "<eos>".getBytes(StandardCharsets.UTF_8));
        bytesField(t, 48, "<pad>".getBytes(StandardCharsets.UTF_8));
        bytesField(out, 2, t.toByteArray());
        return this;
    }

    ModelWriter normalizerSpec(boolean addDummyPrefix, boolean removeExtraWhitespaces, boolean escapeWhitespaces) {
        ByteArrayOutputStream n = new ByteArrayOutputStream();
        bytesField(n, 1, "identity".getBytes(StandardCharsets.UTF_8));
        varintField(n, 3, addDummyPrefix ? 1 : 0);
        varintField(n, 4, removeExtraWhitespaces ? 1 : 0);
        varintField(n, 5, escapeWhitespaces ? 1 : 0);
        bytesField(out, 3, n.toByteArray());
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
