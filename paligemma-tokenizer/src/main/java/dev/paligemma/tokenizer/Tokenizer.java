package dev.paligemma.tokenizer;

import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.TokenizerException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * PaliGemma's tokenizer: a pure-Java reader and encoder for SentencePiece BPE models
 * ({@code tokenizer.model}) that produces the same ids as the SentencePiece C++ library.
 *
 * <p>Encoding follows SentencePiece exactly: the model's normalizer_spec (dummy prefix, removal of
 * extra spaces, spaces escaped to {@code ▁}), user-defined pieces such as {@code <loc0123>},
 * {@code <seg042>} or {@code "\n"} matched first and longest, score-ordered BPE merges, and byte
 * fallback to {@code <0xHH>} pieces for text outside the vocabulary. Control pieces such as
 * {@code <bos>} are never produced from text: add {@link #bosId()} yourself. Only BPE models with
 * the identity normalization are implemented (PaliGemma's and Gemma's); loading anything else fails
 * with a {@link TokenizerException}.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class Tokenizer {
    /** Larger than any real tokenizer.model (PaliGemma's is about 4 MB). */
    private static final long MAX_FILE_BYTES = 1L << 30;
    /** SentencePiece rejects longer pieces. */
    private static final int MAX_PIECE_BYTES = 8000;
    private static final String DEFAULT_UNK_SURFACE = " \u2047 ";

    private final String[] pieces;
    private final byte[] types;
    private final PieceTable vocabulary;
    private final PieceTable reserved;
    private final Normalizer normalizer;
    private final BpeModel model;
    private final int[] decodeId; // id -> PieceToId(piece(id)), as SentencePiece's Decode re-resolves pieces
    private final int[] byteValue; // id -> byte for BYTE pieces, else -1
    private final String unkSurface;
    private final boolean stripLeadingSpace;
    private final boolean stripAllLeadingSpace;
    private final int unkId, bosId, eosId, padId, newlineId;

    private Tokenizer(Path file, ModelProto m) {
        int n = m.pieceCount;
        pieces = new String[n];
        types = m.types;
        vocabulary = new PieceTable(n);
        reserved = new PieceTable(Math.max(1, n / 4));
        byteValue = new int[n];
        java.util.Arrays.fill(byteValue, -1);
        int unk = -1;
        int[] byteIds = m.byteFallback ? new int[256] : null;
        if (byteIds != null) java.util.Arrays.fill(byteIds, -1);
        int userDefinedCount = 0;
        for (int i = 0; i < n; i++) {
            byte[] p = m.pieces[i];
            int type = types[i];
            String where = "piece " + i;
            if (p.length == 0) throw bad(file, where + " is empty");
            if (p.length >= MAX_PIECE_BYTES) throw bad(file, where + " is longer than " + MAX_PIECE_BYTES + " bytes");
            for (byte b : p) {
                if (b == 0) throw bad(file, where + " contains a NUL character");
            }
            pieces[i] = new String(p, StandardCharsets.UTF_8);
            boolean normal = type == ModelProto.NORMAL || type == ModelProto.USER_DEFINED || type == ModelProto.UNUSED;
            if (!(normal ? vocabulary : reserved).put(p, i)) {
                throw bad(file, where + " '" + pieces[i] + "' is already defined");
            }
            if (type == ModelProto.USER_DEFINED) userDefinedCount++;
            if (type == ModelProto.UNKNOWN) {
                if (unk >= 0) throw bad(file, where + ": unknown piece is already defined as id " + unk);
                unk = i;
            }
            if (type == ModelProto.BYTE) {
                if (byteIds == null) {
                    throw bad(file, "byte piece " + pieces[i] + " (id " + i + ") found although byte_fallback is false");
                }
                int v = parseBytePiece(pieces[i]);
                if (v < 0) throw bad(file, "byte piece '" + pieces[i] + "' (id " + i + ") is not of the form <0xHH>");
                byteValue[i] = v;
                byteIds[v] = i;
            }
        }
        if (unk < 0) throw bad(file, "no piece of type UNKNOWN (<unk>) is defined");
        if (byteIds != null) {
            for (int b = 0; b < 256; b++) {
                if (byteIds[b] < 0) {
                    throw bad(file, String.format("byte_fallback is true but there is no <0x%02X> piece", b));
                }
            }
        }
        byte[][] userDefined = new byte[userDefinedCount][];
        for (int i = 0, k = 0; i < n; i++) {
            if (types[i] == ModelProto.USER_DEFINED) userDefined[k++] = m.pieces[i];
        }
        PrefixMatcher matcher = new PrefixMatcher(userDefined);
        normalizer = new Normalizer(m, matcher);
        model = new BpeModel(m.scores, types, vocabulary, reserved, matcher, unk, byteIds);
        model.resolve(m.pieces);
        decodeId = new int[n];
        for (int i = 0; i < n; i++) decodeId[i] = model.pieceToId(m.pieces[i], 0, m.pieces[i].length);
        unkSurface = m.unkSurface != null ? m.unkSurface : DEFAULT_UNK_SURFACE;
        stripLeadingSpace = m.addDummyPrefix || m.removeExtraWhitespaces;
        stripAllLeadingSpace = m.removeExtraWhitespaces;
        unkId = specialId(m.unkPiece, "<unk>", ModelProto.UNKNOWN);
        bosId = specialId(m.bosPiece, "<s>", ModelProto.CONTROL);
        eosId = specialId(m.eosPiece, "</s>", ModelProto.CONTROL);
        padId = specialId(m.padPiece, "<pad>", ModelProto.CONTROL);
        newlineId = id("\n");
    }

    /**
     * Reads a SentencePiece {@code tokenizer.model}.
     *
     * @throws TokenizerException if the file is missing, unreadable, truncated, not a SentencePiece
     *     model, or a model this class does not implement (only BPE with identity normalization)
     */
    public static Tokenizer load(Path file) {
        Objects.requireNonNull(file, "tokenizer model path must not be null");
        byte[] data;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw bad(file, "file is " + size + " bytes, larger than any SentencePiece model (limit " + MAX_FILE_BYTES + ")");
            }
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TokenizerException("tokenizer model " + file + " does not exist", e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read tokenizer model " + file + ": " + e, e);
        }
        ModelProto m;
        try {
            m = ModelProto.parse(data);
        } catch (ProtoReader.MalformedException e) {
            throw new TokenizerException("tokenizer model " + file
                    + " is truncated or not a SentencePiece model: " + e.getMessage(), e);
        }
        if (m.pieceCount == 0) {
            throw bad(file, "no vocabulary pieces found; not a SentencePiece model");
        }
        if (m.vocabSize < 0 || m.vocabSize > ModelProto.MAX_PIECES) {
            throw bad(file, "trainer_spec claims a vocabulary of " + m.vocabSize + " pieces, more than the "
                    + ModelProto.MAX_PIECES + " supported");
        }
        if (m.modelType != ModelProto.BPE) {
            String name = switch (m.modelType) {
                case ModelProto.UNIGRAM -> "UNIGRAM";
                case ModelProto.WORD -> "WORD";
                case ModelProto.CHAR -> "CHAR";
                default -> "#" + m.modelType;
            };
            throw bad(file, "model type " + name + " is not supported; only SentencePiece BPE models (as PaliGemma's) are implemented");
        }
        if (m.precompiledCharsmapLength > 0) {
            throw bad(file, "normalizer '" + m.normalizerName + "' uses a precompiled character map; only the identity normalization is supported");
        }
        if (m.denormalizerCharsmapLength > 0) {
            throw bad(file, "a denormalizer character map is present; it is not supported");
        }
        return new Tokenizer(file, m);
    }

    private static TokenizerException bad(Path file, String why) {
        return new TokenizerException("tokenizer model " + file + ": " + why);
    }

    /** The byte a {@code <0xHH>} piece stands for (upper-case hex, as SentencePiece writes them), else -1. */
    private static int parseBytePiece(String p) {
        if (p.length() != 6 || !p.startsWith("<0x") || p.charAt(5) != '>') return -1;
        int hi = Character.digit(p.charAt(3), 16), lo = Character.digit(p.charAt(4), 16);
        if (hi < 0 || lo < 0 || Character.isLowerCase(p.charAt(3)) || Character.isLowerCase(p.charAt(4))) return -1;
        return hi * 16 + lo;
    }

    private int specialId(String piece, String fallback, int requiredType) {
        byte[] b = (piece.isEmpty() ? fallback : piece).getBytes(StandardCharsets.UTF_8);
        int id = model.pieceToId(b, 0, b.length);
        return types[id] == requiredType ? id : -1;
    }

    /**
     * Encodes text into token ids exactly as SentencePiece does, without BOS or EOS. Unpaired UTF-16
     * surrogates are encoded as U+FFFD.
     *
     * @throws NullPointerException if {@code text} is null
     */
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text to encode must not be null");
        return model.encode(normalizer.normalize(Utf8.encode(text)));
    }

    /**
     * Turns ids back into text as SentencePiece does: {@code ▁} becomes a space, control pieces
     * (BOS, EOS, PAD) vanish, consecutive byte pieces are joined and read as UTF-8 (each byte that
     * starts no well-formed character becomes U+FFFD), the unknown id becomes the model's unknown
     * surface (" ⁇ " by default), and other pieces, including {@code <loc…>} and {@code <seg…>},
     * give their text. As in SentencePiece, a literal {@code ▁} in encoded text comes back as a space.
     *
     * @throws InvalidArgumentException naming the first id outside {@code [0, vocabSize())}
     */
    public String decode(int[] ids) {
        Objects.requireNonNull(ids, "ids to decode must not be null");
        for (int i = 0; i < ids.length; i++) checkId(ids[i], "token id at index " + i);
        StringBuilder sb = new StringBuilder(ids.length * 4);
        byte[] run = new byte[16];
        int runLen = 0;
        boolean isBosWs = true, bosWsSeen = false;
        for (int raw : ids) {
            int id = decodeId[raw];
            if (types[id] == ModelProto.BYTE) {
                if (runLen == run.length) run = java.util.Arrays.copyOf(run, runLen * 2);
                run[runLen++] = (byte) byteValue[id];
                continue;
            }
            Utf8.appendDecoded(run, 0, runLen, sb);
            runLen = 0;
            if (bosWsSeen || !sb.isEmpty()) isBosWs = false;
            bosWsSeen = false;
            switch (types[id]) {
                case ModelProto.CONTROL -> { }
                case ModelProto.UNKNOWN -> sb.append(unkSurface);
                default -> {
                    String p = pieces[raw];
                    if (isBosWs && stripLeadingSpace && p.startsWith("\u2581")) {
                        p = p.substring(1);
                        bosWsSeen = !stripAllLeadingSpace;
                    }
                    sb.append(p.replace('\u2581', ' '));
                }
            }
        }
        Utf8.appendDecoded(run, 0, runLen, sb);
        return sb.toString();
    }

    /**
     * The piece text of an id, e.g. {@code "▁cat"}, {@code "<0x3B>"} or {@code "<loc0123>"}.
     *
     * @throws InvalidArgumentException if the id is outside {@code [0, vocabSize())}
     */
    public String piece(int id) {
        checkId(id, "token id");
        return pieces[id];
    }

    /**
     * The id of the piece with exactly this text, or -1 if the vocabulary has no such piece (unlike
     * SentencePiece's PieceToId, which answers the unknown id).
     */
    public int id(String piece) {
        Objects.requireNonNull(piece, "piece must not be null");
        byte[] b = piece.getBytes(StandardCharsets.UTF_8);
        int id = reserved.get(b, 0, b.length);
        return id >= 0 ? id : vocabulary.get(b, 0, b.length);
    }

    /** Number of pieces in the model (257,152 for PaliGemma). */
    public int vocabSize() {
        return pieces.length;
    }

    /** Id of the beginning-of-sequence control piece, or -1 if the model has none. */
    public int bosId() {
        return bosId;
    }

    /** Id of the end-of-sequence control piece, or -1 if the model has none. */
    public int eosId() {
        return eosId;
    }

    /** Id of the padding control piece, or -1 if the model has none. */
    public int padId() {
        return padId;
    }

    /** Id of the unknown piece (every valid model has one). */
    public int unkId() {
        return unkId;
    }

    /** Id of the {@code "\n"} piece, or -1 if the model has none. */
    public int newlineId() {
        return newlineId;
    }

    private void checkId(int id, String what) {
        if (id < 0 || id >= pieces.length) {
            throw new InvalidArgumentException(what + " is " + id + ", outside the vocabulary [0, " + pieces.length + ")");
        }
    }

    @Override
    public String toString() {
        return "Tokenizer[" + pieces.length + " pieces]";
    }
}
