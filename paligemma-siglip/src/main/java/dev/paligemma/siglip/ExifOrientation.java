package dev.paligemma.siglip;

/**
 * Reads the Exif orientation tag (0x0112) of a JPEG and turns pixels the way Pillow's
 * {@code ImageOps.exif_transpose} does, so a photo taken with the camera on its side reaches the
 * model upright. The parser only walks marker segments before the first scan and reads the first
 * IFD of the first Exif APP1 segment, with every offset checked against the segment's bounds, so a
 * malformed header can neither throw nor loop: it simply yields orientation 1.
 */
final class ExifOrientation {
    static final int TAG_ORIENTATION = 0x0112;

    private ExifOrientation() {}

    /** The orientation 1..8 of a JPEG, or 1 when the data is not JPEG or carries no valid tag. */
    static int of(byte[] data) {
        int n = data.length;
        if (n < 4 || (data[0] & 0xFF) != 0xFF || (data[1] & 0xFF) != 0xD8) {
            return 1;
        }
        int pos = 2;
        while (pos + 4 <= n) {
            if ((data[pos] & 0xFF) != 0xFF) {
                return 1;
            }
            int marker = data[pos + 1] & 0xFF;
            if (marker == 0xFF) { // fill byte
                pos++;
                continue;
            }
            if (marker == 0xDA || marker == 0xD9) { // start of scan / end of image: no more headers
                return 1;
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { // markers without length
                pos += 2;
                continue;
            }
            int length = u16(data, pos + 2, false);
            if (length < 2 || pos + 2 + length > n) {
                return 1;
            }
            int body = pos + 4;
            int bodyLength = length - 2;
            if (marker == 0xE1 && bodyLength >= 6 && isExifHeader(data, body)) {
                return fromTiff(data, body + 6, bodyLength - 6);
            }
            pos += 2 + length;
        }
        return 1;
    }

    private static boolean isExifHeader(byte[] d, int p) {
        return d[p] == 'E' && d[p + 1] == 'x' && d[p + 2] == 'i' && d[p + 3] == 'f' && d[p + 4] == 0 && d[p + 5] == 0;
    }

    private static int fromTiff(byte[] d, int tiff, int length) {
        if (length < 8) {
            return 1;
        }
        boolean little;
        if (d[tiff] == 'I' && d[tiff + 1] == 'I') {
            little = true;
        } else if (d[tiff] == 'M' && d[tiff + 1] == 'M') {
            little = false;
        } else {
            return 1;
        }
        if (u16(d, tiff + 2, little) != 42) {
            return 1;
        }
        long ifd = u32(d, tiff + 4, little);
        if (ifd < 8 || ifd + 2 > length) {
            return 1;
        }
        int count = u16(d, tiff + (int) ifd, little);
        for (int i = 0; i < count; i++) {
            long entry = ifd + 2 + 12L * i;
            if (entry + 12 > length) {
                return 1;
            }
            int e = tiff + (int) entry;
            if (u16(d, e, little) == TAG_ORIENTATION) {
                int type = u16(d, e + 2, little);
                long n = u32(d, e + 4, little);
                if (type != 3 || n < 1) { // SHORT
                    return 1;
                }
                int value = u16(d, e + 8, little);
                return value >= 1 && value <= 8 ? value : 1;
            }
        }
        return 1;
    }

    private static int u16(byte[] d, int p, boolean little) {
        int a = d[p] & 0xFF;
        int b = d[p + 1] & 0xFF;
        return little ? a | (b << 8) : (a << 8) | b;
    }

    private static long u32(byte[] d, int p, boolean little) {
        long hi = u16(d, little ? p + 2 : p, little);
        long lo = u16(d, little ? p : p + 2, little);
        return (hi << 16) | lo;
    }

    /** The image displayed upright for an Exif orientation 1..8 (1 returns it unchanged). */
    static RgbImage apply(RgbImage image, int orientation) {
        if (orientation <= 1 || orientation > 8) {
            return image;
        }
        int w = image.width();
        int h = image.height();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        byte[] src = image.data();
        byte[] out = new byte[src.length];
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                int sx, sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - ox; sy = oy; }           // mirror left-right
                    case 3 -> { sx = w - 1 - ox; sy = h - 1 - oy; }   // rotate 180
                    case 4 -> { sx = ox; sy = h - 1 - oy; }           // mirror top-bottom
                    case 5 -> { sx = oy; sy = ox; }                   // transpose
                    case 6 -> { sx = oy; sy = h - 1 - ox; }           // rotate 90 clockwise
                    case 7 -> { sx = w - 1 - oy; sy = h - 1 - ox; }   // transverse
                    default -> { sx = w - 1 - oy; sy = ox; }          // 8: rotate 90 counter-clockwise
                }
                int s = (sy * w + sx) * 3;
                int o = (oy * ow + ox) * 3;
                out[o] = src[s];
                out[o + 1] = src[s + 1];
                out[o + 2] = src[s + 2];
            }
        }
        return new RgbImage(ow, oh, out, true);
    }
}
