package dev.paligemma.segmentation;

import dev.paligemma.core.Box;
import dev.paligemma.core.InvalidArgumentException;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads the object groups of a segmentation answer such as
 * {@code <loc0123><loc0456><loc0789><loc1000><seg012>...<seg099> car ; <loc...>...}.
 *
 * <p>A group is four {@code <locNNNN>} tokens (y1, x1, y2, x2, each 0..1023), exactly sixteen
 * {@code <segNNN>} tokens (each 0..127) and a label running to the next {@code ;} or token. Groups that
 * fall short (fewer or more seg tokens, values out of range, an empty pixel box after the mapping
 * {@code int(loc / 1023 * size)}) are skipped, never reported as errors: model output is not input
 * validation. Stray text between groups is ignored.
 */
public final class SegmentationParser {
    /** Largest {@code <locNNNN>} value. */
    public static final int MAX_LOC = 1023;
    /** Largest {@code <segNNN>} value. */
    public static final int MAX_SEG = 127;

    private SegmentationParser() {
    }

    /**
     * The well-formed groups of {@code text}, in order.
     *
     * @param imageWidth  width of the original image in pixels (boxes are mapped to it)
     * @param imageHeight height of the original image in pixels
     */
    public static List<ParsedSegment> parse(String text, int imageWidth, int imageHeight) {
        if (imageWidth < 1 || imageHeight < 1) {
            throw new InvalidArgumentException("image size " + imageWidth + "x" + imageHeight + " must be positive");
        }
        List<ParsedSegment> out = new ArrayList<>();
        if (text == null) {
            return out;
        }
        int pos = 0;
        while (true) {
            int start = text.indexOf("<loc", pos);
            if (start < 0) {
                return out;
            }
            pos = start;
            int[] locs = new int[4];
            int n = 0;
            int p = start;
            while (n < 4) {
                int end = token(text, p, "<loc", 4);
                if (end < 0) {
                    break;
                }
                locs[n++] = Integer.parseInt(text, p + 4, p + 8, 10);
                p = end;
            }
            if (n < 4) {
                // not a group start: resume after this "<loc" so a following group is still found
                pos = n == 0 ? start + 4 : p;
                continue;
            }
            p = skipSpaces(text, p);
            List<Integer> codes = new ArrayList<>();
            while (true) {
                int end = token(text, p, "<seg", 3);
                if (end < 0) {
                    break;
                }
                codes.add(Integer.parseInt(text, p + 4, p + 7, 10));
                p = end;
            }
            int labelEnd = p;
            while (labelEnd < text.length() && text.charAt(labelEnd) != ';' && text.charAt(labelEnd) != '<') {
                labelEnd++;
            }
            String label = text.substring(p, labelEnd).strip();
            pos = labelEnd < text.length() && text.charAt(labelEnd) == ';' ? labelEnd + 1 : labelEnd;
            ParsedSegment seg = group(label, locs, codes, imageWidth, imageHeight);
            if (seg != null) {
                out.add(seg);
            }
        }
    }

    /** The group, or null if it is malformed. */
    private static ParsedSegment group(String label, int[] locs, List<Integer> codes, int width, int height) {
        if (codes.size() != MaskDecoder.CODES) {
            return null;
        }
        for (int l : locs) {
            if (l > MAX_LOC) {
                return null;
            }
        }
        for (int c : codes) {
            if (c > MAX_SEG) {
                return null;
            }
        }
        Box box = Box.fromLoc(locs[0], locs[1], locs[2], locs[3], width, height).orElse(null);
        if (box == null) {
            return null;
        }
        return new ParsedSegment(label, locs[0], locs[1], locs[2], locs[3], codes, box);
    }

    /** End of a {@code prefix + digits + '>'} token at {@code p}, or -1. */
    private static int token(String s, int p, String prefix, int digits) {
        if (!s.startsWith(prefix, p) || p + prefix.length() + digits >= s.length()) {
            return -1;
        }
        for (int i = 0; i < digits; i++) {
            char c = s.charAt(p + prefix.length() + i);
            if (c < '0' || c > '9') {
                return -1;
            }
        }
        int close = p + prefix.length() + digits;
        return s.charAt(close) == '>' ? close + 1 : -1;
    }

    private static int skipSpaces(String s, int p) {
        while (p < s.length() && Character.isWhitespace(s.charAt(p))) {
            p++;
        }
        return p;
    }
}
