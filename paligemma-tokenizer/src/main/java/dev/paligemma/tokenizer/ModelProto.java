package dev.paligemma.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The parts of SentencePiece's {@code ModelProto} (sentencepiece_model.proto) that encoding and
 * decoding depend on, with proto2 defaults applied for absent fields. Unknown fields are skipped,
 * as protobuf does.
 */
final class ModelProto {
    /** SentencePiece.Type values. */
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;
    /** TrainerSpec.ModelType values. */
    static final int UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4;

    /** More pieces than any real vocabulary; bounds what a hostile file can make us hold. */
    static final int MAX_PIECES = 1 << 24;

    byte[][] pieces = new byte[0][];
    float[] scores = new float[0];
    byte[] types = new byte[0];
    int pieceCount;

    // TrainerSpec
    int modelType = UNIGRAM;
    long vocabSize = 8000;
    boolean byteFallback;
    boolean treatWhitespaceAsSuffix;
    String unkSurface; // null: absent, use the default " \u2047 "
    String unkPiece = "", bosPiece = "", eosPiece = "", padPiece = "";

    // NormalizerSpec
    String normalizerName = "";
    int precompiledCharsmapLength;
    boolean addDummyPrefix = true;
    boolean removeExtraWhitespaces = true;
    boolean escapeWhitespaces = true;
    int denormalizerCharsmapLength;

    static ModelProto parse(byte[] data) throws ProtoReader.MalformedException {
        ModelProto m = new ModelProto();
        ProtoReader r = new ProtoReader(data, 0, data.length);
        while (r.hasMore()) {
            int tag = r.readTag();
            switch (tag >>> 3) {
                case 1 -> {
                    ProtoReader.expect(tag, ProtoReader.LENGTH_DELIMITED);
                    m.addPiece(r.readMessage());
                }
                case 2 -> {
                    ProtoReader.expect(tag, ProtoReader.LENGTH_DELIMITED);
                    m.readTrainerSpec(r.readMessage());
                }
                case 3 -> {
                    ProtoReader.expect(tag, ProtoReader.LENGTH_DELIMITED);
                    m.readNormalizerSpec(r.readMessage(), false);
                }
                case 5 -> {
                    ProtoReader.expect(tag, ProtoReader.LENGTH_DELIMITED);
                    m.readNormalizerSpec(r.readMessage(), true);
                }
                default -> r.skip(tag & 7);
            }
        }
        m.pieces = Arrays.copyOf(m.pieces, m.pieceCount);
        m.scores = Arrays.copyOf(m.scores, m.pieceCount);
        m.types = Arrays.copyOf(m.types, m.pieceCount);
        return m;
    }

    private void addPiece(ProtoReader r) throws ProtoReader.MalformedException {
        if (pieceCount == MAX_PIECES) {
            throw new ProtoReader.MalformedException("more than " + MAX_PIECES + " pieces");
        }
        byte[] piece = new byte[0];
        float score = 0f;
        long type = NORMAL;
        while (r.hasMore()) {
            int tag = r.readTag();
            switch (tag >>> 3) {
                case 1 -> {
                    ProtoReader.expect(tag, ProtoReader.LENGTH_DELIMITED);
                    piece = r.readBytes();
                }
                case 2 -> {
                    ProtoReader.expect(tag, ProtoReader.FIXED32);
                    score = Float.intBitsToFloat(r.readFixed32());
                    // C++ compares scores with ==, so -0 ties with +0; one bit pattern keeps packed heap keys equal too
                    if (score == 0f) score = 0f;
                }
                case 3 -> {
                    ProtoReader.expect(tag, ProtoReader.VARINT);
                    type = r.readVarint();
                }
                default -> r.skip(tag & 7);
            }
        }
        if (type < NORMAL || type > BYTE) {
            throw new ProtoReader.MalformedException("piece " + pieceCount + " has unknown type " + type);
        }
        if (pieceCount == pieces.length) {
            int cap = Math.max(16, pieceCount * 2);
            pieces = Arrays.copyOf(pieces, cap);
            scores = Arrays.copyOf(scores, cap);
            types = Arrays.copyOf(types, cap);
        }
        pieces[pieceCount] = piece;
        scores[pieceCount] = score;
        types[pieceCount] = (byte) type;
        pieceCount++;
    }

    private void readTrainerSpec(ProtoReader r) throws ProtoReader.MalformedException {
        while (r.hasMore()) {
            int tag = r.readTag();
            int wire = tag & 7;
            switch (tag >>> 3) {
                case 3 -> modelType = (int) varint(r, tag);
                case 4 -> vocabSize = varint(r, tag);
                case 24 -> treatWhitespaceAsSuffix = varint(r, tag) != 0;
                case 35 -> byteFallback = varint(r, tag) != 0;
                case 44 -> unkSurface = string(r, tag);
                case 45 -> unkPiece = string(r, tag);
                case 46 -> bosPiece = string(r, tag);
                case 47 -> eosPiece = string(r, tag);
                case 48 -> padPiece = string(r, tag);
                default -> r.skip(wire);
            }
        }
    }

    private void readNormalizerSpec(ProtoReader r, boolean denormalizer) throws ProtoReader.MalformedException {
        while (r.hasMore()) {
            int tag = r.readTag();
            switch (tag >>> 3) {
                case 1 -> {
                    String name = string(r, tag);
                    if (!denormalizer) normalizerName = name;
                }
                case 2 -> {
                    ProtoReader.expect(tag, ProtoReader.LENGTH_DELIMITED);
                    int len = r.readBytes().length;
                    if (denormalizer) denormalizerCharsmapLength = len;
                    else precompiledCharsmapLength = len;
                }
                case 3 -> {
                    boolean v = varint(r, tag) != 0;
                    if (!denormalizer) addDummyPrefix = v;
                }
                case 4 -> {
                    boolean v = varint(r, tag) != 0;
                    if (!denormalizer) removeExtraWhitespaces = v;
                }
                case 5 -> {
                    boolean v = varint(r, tag) != 0;
                    if (!denormalizer) escapeWhitespaces = v;
                }
                default -> r.skip(tag & 7);
            }
        }
    }

    private static long varint(ProtoReader r, int tag) throws ProtoReader.MalformedException {
        ProtoReader.expect(tag, ProtoReader.VARINT);
        return r.readVarint();
    }

    private static String string(ProtoReader r, int tag) throws ProtoReader.MalformedException {
        ProtoReader.expect(tag, ProtoReader.LENGTH_DELIMITED);
        return new String(r.readBytes(), StandardCharsets.UTF_8);
    }
}
