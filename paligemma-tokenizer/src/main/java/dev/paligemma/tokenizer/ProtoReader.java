package dev.paligemma.tokenizer;

/**
 * Minimal protobuf wire-format reader over a byte array. Every length is checked against the bytes
 * that remain before anything is sliced or allocated, so a corrupt or hostile length cannot make the
 * loader allocate more than the file holds. Errors are reported as {@link MalformedException} with
 * the byte offset; the caller turns them into a TokenizerException naming the file.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    /** The bytes are not well-formed protobuf. */
    static final class MalformedException extends Exception {
        MalformedException(String message) {
            super(message);
        }
    }

    private final byte[] buf;
    private int pos;
    private final int limit;

    ProtoReader(byte[] buf, int offset, int limit) {
        this.buf = buf;
        this.pos = offset;
        this.limit = limit;
    }

    boolean hasMore() {
        return pos < limit;
    }

    int position() {
        return pos;
    }

    /** Reads a field key; returns {@code fieldNumber << 3 | wireType}. */
    int readTag() throws MalformedException {
        long key = readVarint();
        if (key == 0 || key > 0xFFFFFFFFL || (key >>> 3) == 0) {
            throw new MalformedException("invalid field key " + key + " at byte " + pos);
        }
        return (int) key;
    }

    long readVarint() throws MalformedException {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= limit) throw new MalformedException("truncated varint at byte " + pos);
            byte b = buf[pos++];
            result |= (long) (b & 0x7F) << shift;
            if (b >= 0) return result;
        }
        throw new MalformedException("varint longer than 10 bytes at byte " + pos);
    }

    int readFixed32() throws MalformedException {
        if (limit - pos < 4) throw new MalformedException("truncated fixed32 at byte " + pos);
        int v = (buf[pos] & 0xFF) | (buf[pos + 1] & 0xFF) << 8 | (buf[pos + 2] & 0xFF) << 16
                | (buf[pos + 3] & 0xFF) << 24;
        pos += 4;
        return v;
    }

    /** Reads a length prefix and returns a reader over exactly that many following bytes. */
    ProtoReader readMessage() throws MalformedException {
        int len = readLength();
        ProtoReader sub = new ProtoReader(buf, pos, pos + len);
        pos += len;
        return sub;
    }

    byte[] readBytes() throws MalformedException {
        int len = readLength();
        byte[] out = java.util.Arrays.copyOfRange(buf, pos, pos + len);
        pos += len;
        return out;
    }

    private int readLength() throws MalformedException {
        int at = pos;
        long len = readVarint();
        if (len < 0 || len > limit - pos) {
            throw new MalformedException("length " + len + " at byte " + at + " exceeds the " + (limit - pos)
                    + " bytes that remain (truncated or not protobuf)");
        }
        return (int) len;
    }

    void skip(int wireType) throws MalformedException {
        switch (wireType) {
            case VARINT -> readVarint();
            case FIXED64 -> {
                if (limit - pos < 8) throw new MalformedException("truncated fixed64 at byte " + pos);
                pos += 8;
            }
            case LENGTH_DELIMITED -> {
                int len = readLength(); // before touching pos: readLength advances it
                pos += len;
            }
            case FIXED32 -> readFixed32();
            default -> throw new MalformedException("unsupported wire type " + wireType + " at byte " + pos);
        }
    }

    static void expect(int tag, int wireType) throws MalformedException {
        if ((tag & 7) != wireType) {
            throw new MalformedException("field " + (tag >>> 3) + " has wire type " + (tag & 7)
                    + ", expected " + wireType);
        }
    }
}
