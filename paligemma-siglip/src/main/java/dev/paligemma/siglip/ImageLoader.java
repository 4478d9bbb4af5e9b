package dev.paligemma.siglip;

import dev.paligemma.core.ImageException;
import dev.paligemma.core.InvalidArgumentException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes PNG, JPEG, BMP, GIF (first frame) and WebP into an {@link RgbImage}, converted as
 * Pillow's {@code convert("RGB")} would (see the conversion rules on {@link #fromBufferedImage}).
 *
 * <p>Before any pixel is decoded, the image's dimensions are read from its header and the image
 * is refused if either is zero or if it holds more than {@code maxPixels} pixels, so a crafted
 * header cannot make the decoder allocate gigabytes. When {@code applyExifOrientation} is set, a
 * JPEG's Exif orientation is applied, as transformers' {@code load_image} does through
 * {@code ImageOps.exif_transpose}.
 *
 * <p>Known differences from Pillow: CMYK/YCCK JPEGs are converted to RGB by the TwelveMonkeys
 * reader (through an embedded ICC profile when there is one), not by Pillow's naive formula, so
 * they can differ slightly (one level in the tested profile-less case, more with a profile); a GIF
 * yields its first frame at the frame's own size; Exif orientation is read from JPEGs only.
 *
 * @param maxPixels largest accepted {@code width * height}; {@link #DEFAULT_MAX_PIXELS} by default
 * @param applyExifOrientation whether to turn JPEGs upright from their Exif orientation tag
 */
public record ImageLoader(long maxPixels, boolean applyExifOrientation) {
    /** 100 megapixels, about 400 MB while decoding: far above any input the model takes. */
    public static final long DEFAULT_MAX_PIXELS = 100_000_000L;

    /** Encoded inputs are read into one array, so they cannot exceed what an array holds. */
    private static final long MAX_ENCODED_BYTES = Integer.MAX_VALUE - 16;

    private static final String STREAM_NAME = "<stream>";

    static {
        // registers plugins (TwelveMonkeys WebP/JPEG) visible to the context class loader too
        ImageIO.scanForPlugins();
    }

    public ImageLoader {
        if (maxPixels <= 0) {
            throw new InvalidArgumentException("maxPixels must be positive, got " + maxPixels);
        }
    }

    /** A loader with a 100-megapixel budget that applies Exif orientation. */
    public static ImageLoader defaults() {
        return new ImageLoader(DEFAULT_MAX_PIXELS, true);
    }

    /** A copy of this loader with another pixel budget. */
    public ImageLoader withMaxPixels(long pixels) {
        return new ImageLoader(pixels, applyExifOrientation);
    }

    /**
     * Reads and decodes an image file.
     *
     * @throws ImageException naming the file if it cannot be read, is not a supported image, or is
     *     empty or larger than the pixel budget
     */
    public RgbImage load(Path file) {
        if (file == null) {
            throw new InvalidArgumentException("image path must not be null");
        }
        String name = file.toString();
        byte[] data;
        try {
            long size = Files.size(file);
            if (size > MAX_ENCODED_BYTES) {
                throw new ImageException(name + ": file of " + size + " bytes is too large to decode");
            }
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ImageException(name + ": no such file", e);
        } catch (IOException e) {
            throw new ImageException(name + ": cannot read file: " + e.getMessage(), e);
        }
        return decode(data, name);
    }

    /**
     * Reads an encoded image from a stream to its end (the stream is not closed) and decodes it;
     * errors name the source {@code <stream>}.
     */
    public RgbImage load(InputStream in) {
        if (in == null) {
            throw new InvalidArgumentException("image stream must not be null");
        }
        byte[] data;
        try {
            data = in.readNBytes((int) MAX_ENCODED_BYTES);
            if (data.length == MAX_ENCODED_BYTES && in.read() != -1) {
                throw new ImageException(STREAM_NAME + ": encoded image is too large to decode");
            }
        } catch (IOException e) {
            throw new ImageException(STREAM_NAME + ": cannot read stream: " + e.getMessage(), e);
        }
        return decode(data, STREAM_NAME);
    }

    /** Decodes an encoded image held in memory; {@code name} is used in error messages. */
    public RgbImage decode(byte[] encoded, String name) {
        String source = name == null ? STREAM_NAME : name;
        if (encoded == null) {
            throw new InvalidArgumentException("encoded image bytes must not be null");
        }
        if (encoded.length == 0) {
            throw new ImageException(source + ": empty, not an image");
        }
        RgbImage image = decodePixels(encoded, source);
        if (applyExifOrientation) {
            image = ExifOrientation.apply(image, ExifOrientation.of(encoded));
        }
        return image;
    }

    /**
     * Converts an image already in memory, with Pillow's {@code convert("RGB")} rules: alpha
     * dropped (not blended), gray repeated, palettes expanded, 16-bit RGB reduced to its high byte,
     * 16-bit gray clipped at 255 (Pillow's I;16 behaviour), CMYK by Pillow's naive formula. No
     * color management is applied. The pixel budget does not apply: the pixels already exist.
     */
    public static RgbImage fromBufferedImage(BufferedImage image) {
        if (image == null) {
            throw new InvalidArgumentException("image must not be null");
        }
        return RgbConversion.toRgb(image);
    }

    private RgbImage decodePixels(byte[] encoded, String source) {
        try (ImageInputStream input = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
            if (!readers.hasNext()) {
                throw new ImageException(
                        source + ": not an image in a supported format (PNG, JPEG, BMP, GIF, WebP)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(input, true, true);
                String format = reader.getFormatName();
                int width = reader.getWidth(0);
                int height = reader.getHeight(0);
                checkBudget(source, format, width, height);
                BufferedImage decoded = reader.read(0);
                if (decoded.getWidth() != width || decoded.getHeight() != height) {
                    checkBudget(source, format, decoded.getWidth(), decoded.getHeight());
                }
                return RgbConversion.toRgb(decoded);
            } finally {
                reader.dispose();
            }
        } catch (ImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // decoders signal corrupt data with IIOException and sometimes with runtime exceptions
            throw new ImageException(source + ": cannot decode image: " + e, e);
        }
    }

    private void checkBudget(String source, String format, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new ImageException(
                    source + ": " + format + " image has size " + width + "x" + height + ", nothing to decode");
        }
        long pixels = (long) width * height;
        if (pixels > maxPixels) {
            throw new ImageException(
                    source + ": " + format + " image of " + width + "x" + height + " = " + pixels
                            + " pixels exceeds the budget of " + maxPixels + " pixels");
        }
    }
}
