package dev.paligemma.siglip;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;

/**
 * Brings a decoded {@link BufferedImage} to 8-bit RGB the way Pillow's {@code convert("RGB")} does
 * for the image Pillow itself would have decoded. The raw samples are read from the raster, never
 * through {@code getRGB}, because Java's gray and ICC color models apply color management that
 * Pillow does not (an 8-bit gray 100 would come back as about 170).
 *
 * <ul>
 *   <li>alpha is dropped, never blended against a background;
 *   <li>gray is repeated into R, G and B; 1/2/4-bit gray is scaled to 0..255 (Pillow's L;2, L;4);
 *   <li>a palette is expanded through its colour table, its transparency ignored;
 *   <li>16-bit RGB(A) and gray+alpha keep the high byte (Pillow decodes them to 8 bits that way);
 *   <li>16-bit gray without alpha is clipped at 255: Pillow loads it as mode I;16 and its
 *       I;16-to-RGB conversion saturates values above 255 rather than scaling them;
 *   <li>a CMYK raster uses Pillow's naive formula {@code R = (255 - K) - (255 - K) * C / 255}, no
 *       profile (CMYK JPEGs do not reach this: TwelveMonkeys converts them while decoding);
 *   <li>anything else (YCbCr rasters, premultiplied or float samples) goes through Java's color
 *       model to sRGB.
 * </ul>
 */
final class RgbConversion {
    private RgbConversion() {}

    static RgbImage toRgb(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        if (cm instanceof IndexColorModel icm && raster.getNumBands() == 1) {
            palette(icm, raster, w, h, out);
        } else if (!cm.isAlphaPremultiplied()
                && isIntegral(raster.getTransferType())
                && (cm instanceof ComponentColorModel || cm instanceof DirectColorModel)
                && components(cm, raster, w, h, out)) {
            // done from raw samples
        } else {
            viaColorModel(image, w, h, out);
        }
        return new RgbImage(w, h, out, true);
    }

    private static boolean isIntegral(int transferType) {
        return transferType == DataBuffer.TYPE_BYTE
                || transferType == DataBuffer.TYPE_USHORT
                || transferType == DataBuffer.TYPE_INT;
    }

    private static void palette(IndexColorModel icm, Raster raster, int w, int h, byte[] out) {
        int entries = 1 << Math.min(16, Math.max(1, icm.getPixelSize()));
        int size = Math.max(entries, icm.getMapSize());
        byte[] r = new byte[size];
        byte[] g = new byte[size];
        byte[] b = new byte[size];
        // indices past the table's end read black, as Pillow's zero-filled 256-entry palette does
        icm.getReds(r);
        icm.getGreens(g);
        icm.getBlues(b);
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            raster.getSamples(0, y, w, 1, 0, row);
            int o = y * w * 3;
            for (int x = 0; x < w; x++) {
                int i = row[x];
                if (i < 0 || i >= size) {
                    o += 3;
                    continue;
                }
                out[o++] = r[i];
                out[o++] = g[i];
                out[o++] = b[i];
            }
        }
    }

    /** Returns false when the layout is not one handled here, leaving {@code out} to the fallback. */
    private static boolean components(ColorModel cm, Raster raster, int w, int h, byte[] out) {
        int csType = cm.getColorSpace().getType();
        int colorBands = cm.getNumColorComponents();
        int bands = raster.getNumBands();
        if (bands != cm.getNumComponents()) {
            return false;
        }
        int[] bits = cm.getComponentSize();
        int[] pixels = new int[w * bands];
        switch (csType) {
            case ColorSpace.TYPE_GRAY -> {
                if (colorBands != 1) {
                    return false;
                }
                int depth = bits[0];
                boolean alpha = cm.hasAlpha();
                for (int y = 0; y < h; y++) {
                    raster.getPixels(0, y, w, 1, pixels);
                    int o = y * w * 3;
                    for (int x = 0; x < w; x++) {
                        int v = gray(pixels[x * bands], depth, alpha);
                        out[o++] = (byte) v;
                        out[o++] = (byte) v;
                        out[o++] = (byte) v;
                    }
                }
                return true;
            }
            case ColorSpace.TYPE_RGB -> {
                if (colorBands != 3) {
                    return false;
                }
                for (int y = 0; y < h; y++) {
                    raster.getPixels(0, y, w, 1, pixels);
                    int o = y * w * 3;
                    for (int x = 0; x < w; x++) {
                        int p = x * bands;
                        out[o++] = (byte) scale(pixels[p], bits[0]);
                        out[o++] = (byte) scale(pixels[p + 1], bits[1]);
                        out[o++] = (byte) scale(pixels[p + 2], bits[2]);
                    }
                }
                return true;
            }
            case ColorSpace.TYPE_CMYK -> {
                if (colorBands != 4) {
                    return false;
                }
                for (int y = 0; y < h; y++) {
                    raster.getPixels(0, y, w, 1, pixels);
                    int o = y * w * 3;
                    for (int x = 0; x < w; x++) {
                        int p = x * bands;
                        int nk = 255 - scale(pixels[p + 3], bits[3]);
                        out[o++] = (byte) cmyk(scale(pixels[p], bits[0]), nk);
                        out[o++] = (byte) cmyk(scale(pixels[p + 1], bits[1]), nk);
                        out[o++] = (byte) cmyk(scale(pixels[p + 2], bits[2]), nk);
                    }
                }
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    private static int gray(int v, int depth, boolean alpha) {
        if (depth == 16 && !alpha) {
            return Math.min(v, 255);
        }
        return scale(v, depth);
    }

    /** An n-bit sample to 8 bits: the high byte when wider, Pillow's integer rescale when narrower. */
    private static int scale(int v, int depth) {
        if (depth == 8) {
            return v & 0xFF;
        }
        if (depth > 8) {
            return (v >>> (depth - 8)) & 0xFF;
        }
        int max = (1 << depth) - 1;
        return Math.min(v, max) * 255 / max;
    }

    /** Pillow's cmyk2rgb channel: nk - nk * c / 255, with its rounded divide by 255. */
    private static int cmyk(int c, int nk) {
        int t = c * nk + 128;
        int prod = ((t >> 8) + t) >> 8;
        int v = nk - prod;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    private static void viaColorModel(BufferedImage image, int w, int h, byte[] out) {
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            int o = y * w * 3;
            for (int x = 0; x < w; x++) {
                int argb = row[x];
                out[o++] = (byte) (argb >> 16);
                out[o++] = (byte) (argb >> 8);
                out[o++] = (byte) argb;
            }
        }
    }
}
