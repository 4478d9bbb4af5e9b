package dev.paligemma.tokenizer;

import java.util.Random;

/** Deterministic varied test strings: vocabulary words, whitespace runs, digits, scripts, emoji, special tokens. */
final class TextGenerator {
    private static final String[] SPECIALS = {
        "<loc0000>", "<loc1023>", "<loc0512>", "<seg000>", "<seg127>", "<seg064>", "\n", "<start_of_turn>",
        "<end_of_turn>", "<mask>", "<bos>", "<eos>", "<pad>", "<unk>", "<loc12", "<loc10234>", "<seg128>",
        "<0x41>", "<unused5>", "\u2581", "\u2581\u2581x", "\r\n", "\t", "\u00A0", "\u3000", "\uFFFD"
    };
    private static final int[][] RANGES = {
        {0x20, 0x7E}, {0xA0, 0x24F}, {0x370, 0x3FF}, {0x400, 0x4FF}, {0x590, 0x6FF}, {0x900, 0x97F},
        {0xE00, 0xE7F}, {0x3040, 0x30FF}, {0x4E00, 0x4FFF}, {0xAC00, 0xAD00}, {0x2000, 0x2BFF},
        {0x1F300, 0x1F6FF}, {0x1F900, 0x1F9FF}, {0x20000, 0x200FF}, {0xE000, 0xE0FF}, {0x10000, 0x1007F},
        {0x0, 0x1F}, {0xFE00, 0xFFFF},
    };

    private final Random rnd;
    private final Tokenizer vocab;

    TextGenerator(long seed, Tokenizer vocab) {
        this.rnd = new Random(seed);
        this.vocab = vocab;
    }

    String next() {
        StringBuilder sb = new StringBuilder();
        int parts = 1 + rnd.nextInt(12);
        for (int p = 0; p < parts; p++) {
            switch (rnd.nextInt(9)) {
                case 0, 1 -> { // words made of vocabulary pieces, so merges happen
                    int k = 1 + rnd.nextInt(5);
                    for (int i = 0; i < k; i++) {
                        String piece = vocab.piece(rnd.nextInt(vocab.vocabSize()));
                        if (!piece.startsWith("<")) sb.append(piece.replace('\u2581', ' '));
                    }
                }
                case 2 -> sb.append(" ".repeat(1 + rnd.nextInt(4)));
                case 3 -> { // digit runs
                    int k = 1 + rnd.nextInt(12);
                    for (int i = 0; i < k; i++) sb.append((char) ('0' + rnd.nextInt(10)));
                }
                case 4 -> sb.append(SPECIALS[rnd.nextInt(SPECIALS.length)]);
                case 5, 6 -> { // random code points from many scripts
                    int k = 1 + rnd.nextInt(6);
                    for (int i = 0; i < k; i++) {
                        int[] r = RANGES[rnd.nextInt(RANGES.length)];
                        int cp = r[0] + rnd.nextInt(r[1] - r[0] + 1);
                        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 'x';
                        sb.appendCodePoint(cp);
                    }
                }
                case 7 -> sb.append(rnd.nextBoolean() ? " the cat" : "What is in the image? ");
                default -> sb.append(rnd.nextBoolean() ? "\n" : "  \t ");
            }
        }
        return sb.toString();
    }
}
