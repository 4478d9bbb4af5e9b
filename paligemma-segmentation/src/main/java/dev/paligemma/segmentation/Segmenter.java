package dev.paligemma.segmentation;

import dev.paligemma.core.Box;
import dev.paligemma.core.InvalidArgumentException;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Turns a segmentation answer into full-image masks: {@link SegmentationParser} for the groups,
 * {@link MaskDecoder} for each 64x64 mask, then {@link #paste} as big_vision's evaluator does it.
 * Thread-safe.
 */
public final class Segmenter {
    private final MaskDecoder decoder;

    /** Uses {@code decoder} for every object. */
    public Segmenter(MaskDecoder decoder) {
        this.decoder = Objects.requireNonNull(decoder, "decoder");
    }

    /** Every well-formed object of {@code text}, with its mask in an image of the given size. */
    public List<Segmentation> segment(String text, int imageWidth, int imageHeight) {
        List<Segmentation> out = new ArrayList<>();
        for (ParsedSegment s : SegmentationParser.parse(text, imageWidth, imageHeight)) {
            float[] mask64 = decoder.decode(s.codeArray());
            out.add(new Segmentation(s.label(), s.box(), paste(mask64, s.box(), imageWidth, imageHeight)));
        }
        return out;
    }

    /**
     * Resizes the {@value MaskDecoder#MASK_SIZE}x{@value MaskDecoder#MASK_SIZE} mask logits to the box with
     * Pillow's bilinear filter (mode F), keeps values {@code > 0} and places them at
     * {@code [y1:y2, x1:x2]} of an otherwise empty image-sized mask.
     */
    public static Mask paste(float[] mask64, Box box, int imageWidth, int imageHeight) {
        int s = MaskDecoder.MASK_SIZE;
        if (mask64 == null || mask64.length != s * s) {
            throw new InvalidArgumentException("mask logits: expected " + s * s + " values, got "
                    + (mask64 == null ? "null" : mask64.length));
        }
        if (imageWidth < 1 || imageHeight < 1 || box.x2() > imageWidth || box.y2() > imageHeight) {
            throw new InvalidArgumentException("box " + box + " does not fit an image of " + imageWidth + "x" + imageHeight);
        }
        if ((long) imageWidth * imageHeight > Integer.MAX_VALUE) {
            throw new InvalidArgumentException("image of " + imageWidth + "x" + imageHeight + " is too large for a mask");
        }
        long[] bits = new long[(int) (((long) imageWidth * imageHeight + 63) >>> 6)];
        int bw = box.width();
        int bh = box.height();
        if (bw > 0 && bh > 0) {
            float[] resized = PilBilinear.resize(mask64, s, s, bw, bh);
            for (int y = 0; y < bh; y++) {
                for (int x = 0; x < bw; x++) {
                    if (resized[y * bw + x] > 0f) {
                        int i = (box.y1() + y) * imageWidth + box.x1() + x;
                        bits[i >>> 6] |= 1L << i;
                    }
                }
            }
        }
        return new Mask(imageWidth, imageHeight, bits);
    }
}
