package dev.paligemma.tokenizer;

import java.util.Arrays;

/**
 * SentencePiece's BPE encoder ({@code bpe::Model::Encode}) followed by the processor's handling of
 * unknown pieces. The normalized text is split into characters (user-defined pieces whole and
 * frozen), then the adjacent pair whose concatenation is the highest-scoring vocabulary piece is
 * merged, leftmost first on ties, until no pair is in the vocabulary. Candidate pairs sit in a binary
 * heap and are checked for staleness when popped, so a text of n characters costs O(n log n).
 * Merges that produce an UNUSED piece are undone at the end (resegmented into the two parts last
 * recorded for that piece), unknown pieces become their UTF-8 bytes when byte fallback is on, and
 * otherwise runs of unknown pieces collapse into one unknown id.
 */
final class BpeModel {
    private final PieceTable pieces;   // NORMAL, USER_DEFINED, UNUSED: the merge vocabulary
    private final PieceTable reserved; // CONTROL, UNKNOWN, BYTE: looked up first by PieceToId
    private final float[] scores;
    private final byte[] types;
    private final PrefixMatcher matcher;
    private final int unkId;
    private final int[] byteIds; // byte value -> id of its <0xHH> piece, when byte fallback is on
    private final int[] resolved; // vocabulary id -> PieceToId of its text (a reserved piece may shadow it)

    BpeModel(float[] scores, byte[] types, PieceTable pieces, PieceTable reserved,
            PrefixMatcher matcher, int unkId, int[] byteIds) {
        this.scores = scores;
        this.types = types;
        this.pieces = pieces;
        this.reserved = reserved;
        this.matcher = matcher;
        this.unkId = unkId;
        this.byteIds = byteIds;
        this.resolved = new int[types.length];
    }

    /** Called once by the constructor's owner after all pieces are known. */
    void resolve(byte[][] pieceBytes) {
        for (int i = 0; i < pieceBytes.length; i++) resolved[i] = pieceToId(pieceBytes[i], 0, pieceBytes[i].length);
    }

    /** SentencePiece's PieceToId: reserved pieces first, then the vocabulary, else the unknown id. */
    int pieceToId(byte[] b, int off, int len) {
        int id = reserved.get(b, off, len);
        if (id >= 0) return id;
        id = pieces.get(b, off, len);
        return id >= 0 ? id : unkId;
    }

    int[] encode(byte[] text) {
        int n = text.length;
        if (n == 0) return new int[0];
        State s = new State(n);

        // Split into characters; user-defined pieces stay whole and never merge.
        int count = 0;
        for (int pos = 0; pos < n; ) {
            int m = matcher.match(text, pos, n);
            int len = Math.abs(m);
            s.start[count] = pos;
            s.len[count] = len;
            s.frozen[count] = m < 0;
            s.id[count] = -1;
            s.prev[count] = count - 1;
            pos += len;
            s.next[count] = pos < n ? count + 1 : -1;
            count++;
        }
        for (int i = 1; i < count; i++) maybeAddPair(s, text, i - 1, i);

        while (s.heapSize > 0) {
            int e = s.pop();
            int left = s.eLeft[e], right = s.eRight[e];
            if (s.len[left] == 0 || s.len[right] == 0 || s.len[left] + s.len[right] != s.eSize[e]) continue;
            s.len[left] += s.len[right];
            s.id[left] = s.eId[e];
            s.next[left] = s.next[right];
            if (s.next[right] >= 0) s.prev[s.next[right]] = left;
            s.len[right] = 0;
            maybeAddPair(s, text, s.prev[left], left);
            maybeAddPair(s, text, left, s.next[left]);
        }

        IntList out = new IntList(count);
        boolean prevUnk = false;
        for (int i = 0; i != -1; i = s.next[i]) {
            prevUnk = emit(s, text, s.start[i], s.len[i], s.id[i], out, prevUnk);
        }
        return out.toArray();
    }

    /** Resegments unused pieces, then applies byte fallback or unknown merging; returns is-unknown. */
    private boolean emit(State s, byte[] text, int off, int len, int knownId, IntList out, boolean prevUnk) {
        // a merged symbol's vocabulary id is known; resolve it as PieceToId would (reserved first)
        int id = knownId >= 0 ? resolved[knownId] : pieceToId(text, off, len);
        if (types[id] == ModelProto.UNUSED && s.revMerge != null) {
            Integer leftLen = s.revMerge.get(id);
            if (leftLen != null) {
                prevUnk = emit(s, text, off, leftLen, -1, out, prevUnk);
                return emit(s, text, off + leftLen, len - leftLen, -1, out, prevUnk);
            }
        }
        boolean unk = types[id] == ModelProto.UNKNOWN;
        if (unk && byteIds != null) {
            for (int i = off; i < off + len; i++) out.add(byteIds[text[i] & 0xFF]);
        } else if (!(unk && prevUnk)) {
            out.add(id);
        }
        return unk;
    }

    private void maybeAddPair(State s, byte[] text, int left, int right) {
        if (left == -1 || right == -1 || s.frozen[left] || s.frozen[right]) return;
        int size = s.len[left] + s.len[right];
        int id = pieces.get(text, s.start[left], size);
        if (id < 0) return;
        s.push(left, right, size, id, scores[id]);
        if (types[id] == ModelProto.UNUSED) {
            if (s.revMerge == null) s.revMerge = new java.util.HashMap<>();
            s.revMerge.put(id, s.len[left]);
        }
    }

    /** Per-call scratch: symbols as parallel arrays, candidate pairs in a max-heap. */
    private static final class State {
        final int[] start, len, prev, next, id;
        final boolean[] frozen;
        int[] eLeft, eRight, eSize, eId;
        int entries;
        // The heap holds packed priorities: sortable score bits above, ~left below, so one signed long
        // comparison orders by score and then leftmost first, as SentencePiece's comparator does.
        long[] heapKey;
        int[] heapEntry;
        int heapSize;
        java.util.HashMap<Integer, Integer> revMerge;

        State(int n) {
            start = new int[n];
            len = new int[n];
            prev = new int[n];
            next = new int[n];
            id = new int[n];
            frozen = new boolean[n];
            int cap = Math.max(16, n);
            eLeft = new int[cap];
            eRight = new int[cap];
            eSize = new int[cap];
            eId = new int[cap];
            heapKey = new long[cap];
            heapEntry = new int[cap];
        }

        static long priority(float score, int left) {
            int bits = Float.floatToRawIntBits(score);
            int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF);
            return ((long) sortable << 32) | (~left & 0xFFFFFFFFL);
        }

        void push(int left, int right, int size, int pieceId, float score) {
            if (entries == eLeft.length) {
                int cap = entries * 2;
                eLeft = Arrays.copyOf(eLeft, cap);
                eRight = Arrays.copyOf(eRight, cap);
                eSize = Arrays.copyOf(eSize, cap);
                eId = Arrays.copyOf(eId, cap);
            }
            int e = entries++;
            eLeft[e] = left;
            eRight[e] = right;
            eSize[e] = size;
            eId[e] = pieceId;
            long key = priority(score, left);
            if (heapSize == heapKey.length) {
                heapKey = Arrays.copyOf(heapKey, heapSize * 2);
                heapEntry = Arrays.copyOf(heapEntry, heapSize * 2);
            }
            int i = heapSize++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (key <= heapKey[parent]) break;
                heapKey[i] = heapKey[parent];
                heapEntry[i] = heapEntry[parent];
                i = parent;
            }
            heapKey[i] = key;
            heapEntry[i] = e;
        }

        int pop() {
            int top = heapEntry[0];
            int n = --heapSize;
            long key = heapKey[n];
            int entry = heapEntry[n];
            int i = 0;
            int half = n >>> 1;
            while (i < half) {
                int child = 2 * i + 1;
                int r = child + 1;
                if (r < n && heapKey[r] > heapKey[child]) child = r;
                if (heapKey[child] <= key) break;
                heapKey[i] = heapKey[child];
                heapEntry[i] = heapEntry[child];
                i = child;
            }
            if (n > 0) {
                heapKey[i] = key;
                heapEntry[i] = entry;
            }
            return top;
        }
    }

    /** Growable int array. */
    static final class IntList {
        int[] a;
        int size;

        IntList(int cap) {
            a = new int[Math.max(4, cap)];
        }

        void add(int v) {
            if (size == a.length) a = Arrays.copyOf(a, size * 2);
            a[size++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
