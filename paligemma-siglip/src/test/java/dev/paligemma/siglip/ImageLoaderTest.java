package dev.paligemma.siglip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.paligemma.core.ImageException;
import dev.paligemma.core.InvalidArgumentException;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ImageLoaderTest {
    private static final ImageLoader LOADER = ImageLoader.defaults();

    private static void assertPixel(RgbImage image, int x, int y, int r, int g, int b) {
        assertArrayEquals(
                new int[] {r, g, b},
                new int[] {image.sample(x, y, 0), image.sample(x, y, 1), image.sample(x, y, 2)},
                "pixel (" + x + ", " + y + ")");
    }

    @Test
    void rgbaPngDropsAlphaWithoutBlending() {
        // transparent pixels keep their stored colour, as Pillow's convert("RGB") keeps it
        byte[] row0 = {10, 20, 30, 0, (byte) 200, 100, 50, (byte) 128};
        byte[] row1 = {(byte) 255, (byte) 255, (byte) 255, 0, 1, 2, 3, (byte) 255};
        RgbImage image = LOADER.decode(TestImages.png(2, 2, 8, 6, new byte[][] {row0, row1}, null), "rgba.png");
        assertPixel(image, 0, 0, 10, 20, 30);
        assertPixel(image, 1, 0, 200, 100, 50);
        assertPixel(image, 0, 1, 255, 255, 255);
        assertPixel(image, 1, 1, 1, 2, 3);
    }

    @Test
    void grayPngIsRepeatedWithoutColorManagement() {
        // Java's gray colour model would report 100 as roughly 170 through getRGB; Pillow keeps 100
        byte[][] rows = {{0, 100, (byte) 255}};
        RgbImage image = LOADER.decode(TestImages.png(3, 1, 8, 0, rows, null), "gray.png");
        assertPixel(image, 0, 0, 0, 0, 0);
        assertPixel(image, 1, 0, 100, 100, 100);
        assertPixel(image, 2, 0, 255, 255, 255);
    }

    @Test
    void lowBitDepthGrayIsScaledLikePillow() {
        // 4-bit gray 0, 1, 9, 15 -> Pillow's L;4 unpacking multiplies by 17
        byte[][] rows = {{0x01, (byte) 0x9F}};
        RgbImage image = LOADER.decode(TestImages.png(4, 1, 4, 0, rows, null), "gray4.png");
        assertPixel(image, 0, 0, 0, 0, 0);
        assertPixel(image, 1, 0, 17, 17, 17);
        assertPixel(image, 2, 0, 153, 153, 153);
        assertPixel(image, 3, 0, 255, 255, 255);
    }

    @Test
    void palettePngIsExpanded() {
        byte[] palette = {(byte) 255, 0, 0, 0, (byte) 128, 0, 7, 8, 9};
        byte[][] rows = {{0, 1, 2}, {2, 2, 0}};
        RgbImage image = LOADER.decode(TestImages.png(3, 2, 8, 3, rows, palette), "palette.png");
        assertPixel(image, 0, 0, 255, 0, 0);
        assertPixel(image, 1, 0, 0, 128, 0);
        assertPixel(image, 2, 0, 7, 8, 9);
        assertPixel(image, 0, 1, 7, 8, 9);
        assertPixel(image, 2, 1, 255, 0, 0);
    }

    @Test
    void paletteGifIgnoresTransparency() {
        byte[] r = {10, (byte) 200, 0, 0};
        byte[] g = {20, 100, 0, 0};
        byte[] b = {30, 50, 0, 0};
        byte[] a = {(byte) 255, 0, (byte) 255, (byte) 255};
        IndexColorModel icm = new IndexColorModel(2, 4, r, g, b, a);
        BufferedImage indexed = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_BINARY, icm);
        indexed.getRaster().setSample(0, 0, 0, 0);
        indexed.getRaster().setSample(1, 0, 0, 1);
        RgbImage image = LOADER.decode(TestImages.encode(indexed, "gif"), "palette.gif");
        assertPixel(image, 0, 0, 10, 20, 30);
        assertPixel(image, 1, 0, 200, 100, 50);
    }

    @Test
    void sixteenBitRgbPngKeepsHighByte() {
        // samples 0x1234, 0xABFF, 0x00FF -> 0x12, 0xAB, 0x00 (Pillow's RGB;16B unpacking)
        byte[][] rows = {{0x12, 0x34, (byte) 0xAB, (byte) 0xFF, 0x00, (byte) 0xFF}};
        RgbImage image = LOADER.decode(TestImages.png(1, 1, 16, 2, rows, null), "rgb16.png");
        assertPixel(image, 0, 0, 0x12, 0xAB, 0x00);
    }

    @Test
    void sixteenBitGrayPngClipsAt255LikePillow() {
        // Pillow opens 16-bit gray as I;16 and converts to RGB by saturating at 255, not scaling
        byte[][] rows = {{0, 100, 0x01, 0x2C, (byte) 0xFF, (byte) 0xFF}};
        RgbImage image = LOADER.decode(TestImages.png(3, 1, 16, 0, rows, null), "gray16.png");
        assertPixel(image, 0, 0, 100, 100, 100);
        assertPixel(image, 1, 0, 255, 255, 255);
        assertPixel(image, 2, 0, 255, 255, 255);
    }

    @Test
    void sixteenBitGrayAlphaPngKeepsHighByte() {
        byte[][] rows = {{0x40, 0x01, 0x00, 0x00}};
        RgbImage image = LOADER.decode(TestImages.png(1, 1, 16, 4, rows, null), "la16.png");
        assertPixel(image, 0, 0, 0x40, 0x40, 0x40);
    }

    @Test
    void bmpRoundTrips() {
        BufferedImage bgr = new BufferedImage(3, 2, BufferedImage.TYPE_3BYTE_BGR);
        bgr.setRGB(0, 0, 0x102030);
        bgr.setRGB(2, 1, 0xC86432);
        RgbImage image = LOADER.decode(TestImages.encode(bgr, "bmp"), "image.bmp");
        assertEquals(3, image.width());
        assertEquals(2, image.height());
        assertPixel(image, 0, 0, 0x10, 0x20, 0x30);
        assertPixel(image, 2, 1, 200, 100, 50);
        assertPixel(image, 1, 0, 0, 0, 0);
    }

    @Test
    void webpReaderIsRegistered() {
        assertTrue(ImageIO.getImageReadersByFormatName("webp").hasNext(), "TwelveMonkeys WebP reader on the class path");
    }

    @Test
    void losslessWebpDecodesExactlyAndDropsAlpha() throws IOException {
        // made with cwebp -lossless -exact from a 4x3 RGBA image whose odd pixels have alpha 0:
        // R = 60x + 10, G = 100y + 5, B = 37xy mod 256
        byte[] webp;
        try (InputStream in = getClass().getResourceAsStream("rgba_4x3_lossless.webp")) {
            webp = in.readAllBytes();
        }
        RgbImage image = LOADER.load(new ByteArrayInputStream(webp));
        assertEquals(4, image.width());
        assertEquals(3, image.height());
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 4; x++) {
                assertPixel(image, x, y, 60 * x + 10, 100 * y + 5, (37 * x * y) % 256);
            }
        }
    }

    @Test
    void bufferedImageInputsConvertFromRawSamples() {
        BufferedImage gray = new BufferedImage(1, 1, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setSample(0, 0, 0, 100);
        assertPixel(ImageLoader.fromBufferedImage(gray), 0, 0, 100, 100, 100);

        BufferedImage argb = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(0, 0, 0x00A0B0C0);
        assertPixel(ImageLoader.fromBufferedImage(argb), 0, 0, 0xA0, 0xB0, 0xC0);

        BufferedImage gray16 = new BufferedImage(2, 1, BufferedImage.TYPE_USHORT_GRAY);
        gray16.getRaster().setSample(0, 0, 0, 7);
        gray16.getRaster().setSample(1, 0, 0, 40000);
        RgbImage g16 = ImageLoader.fromBufferedImage(gray16);
        assertPixel(g16, 0, 0, 7, 7, 7);
        assertPixel(g16, 1, 0, 255, 255, 255);
    }

    @Test
    void cmykUsesPillowsNaiveFormula() {
        ComponentColorModel cm = new ComponentColorModel(
                new FakeCmyk(), false, false, Transparency.OPAQUE, DataBuffer.TYPE_BYTE);
        WritableRaster raster = cm.createCompatibleWritableRaster(3, 1);
        raster.setPixel(0, 0, new int[] {0, 0, 0, 0});
        raster.setPixel(1, 0, new int[] {255, 0, 128, 0});
        raster.setPixel(2, 0, new int[] {128, 0, 0, 64});
        RgbImage image = ImageLoader.fromBufferedImage(new BufferedImage(cm, raster, false, null));
        assertPixel(image, 0, 0, 255, 255, 255);
        // R = (255-K) - round((255-K) * C / 255): C=255 -> 0, Y=128 -> 127
        assertPixel(image, 1, 0, 0, 255, 127);
        // K=64: 191 - round(191 * 128 / 255) = 191 - 96 = 95; 0 ink -> 191
        assertPixel(image, 2, 0, 95, 191, 191);
    }

    @Test
    void adobeCmykJpegDecodesCloseToPillow() {
        // ink C=128, M=0, Y=0, K=64 stored inverted; Pillow's naive formula gives (95, 191, 191).
        // TwelveMonkeys converts CMYK itself (no embedded profile here) and lands within a level.
        RgbImage image = LOADER.decode(TestImages.adobeCmykJpeg(16, 16, new int[] {127, 255, 255, 191}), "cmyk.jpg");
        int[] pillow = {95, 191, 191};
        for (int c = 0; c < 3; c++) {
            int v = image.sample(8, 8, c);
            assertTrue(Math.abs(v - pillow[c]) <= 2, "channel " + c + ": " + v + " vs Pillow " + pillow[c]);
        }
    }

    /** A CMYK colour space only for its type: the conversion under test never calls toRGB. */
    private static final class FakeCmyk extends ColorSpace {
        FakeCmyk() {
            super(ColorSpace.TYPE_CMYK, 4);
        }

        @Override
        public float[] toRGB(float[] v) {
            return new float[] {(1 - v[0]) * (1 - v[3]), (1 - v[1]) * (1 - v[3]), (1 - v[2]) * (1 - v[3])};
        }

        @Override
        public float[] fromRGB(float[] rgb) {
            throw new UnsupportedOperationException();
        }

        @Override
        public float[] toCIEXYZ(float[] v) {
            throw new UnsupportedOperationException();
        }

        @Override
        public float[] fromCIEXYZ(float[] v) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void rawRgbBytesWithWrongLengthAreRejected() {
        InvalidArgumentException e =
                assertThrows(InvalidArgumentException.class, () -> RgbImage.of(2, 2, new byte[11]));
        assertTrue(e.getMessage().contains("12"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> RgbImage.of(0, 2, new byte[0]));
        assertThrows(InvalidArgumentException.class, () -> RgbImage.of(2, 2, null));
        RgbImage ok = RgbImage.of(2, 1, new byte[] {1, 2, 3, 4, 5, (byte) 250});
        assertPixel(ok, 1, 0, 4, 5, 250);
    }

    @Test
    void rgbImageIsImmutable() {
        byte[] bytes = {1, 2, 3};
        RgbImage image = RgbImage.of(1, 1, bytes);
        bytes[0] = 99;
        image.rgb()[1] = 99;
        assertPixel(image, 0, 0, 1, 2, 3);
    }

    @Test
    void oversizedHeaderIsRefusedBeforeDecoding() {
        byte[] crafted = TestImages.pngHeaderOnly(20000, 20000);
        ImageException e = assertTimeoutPreemptively(
                Duration.ofSeconds(5), () -> assertThrows(ImageException.class, () -> LOADER.decode(crafted, "huge.png")));
        assertTrue(e.getMessage().contains("huge.png") && e.getMessage().contains("20000x20000"), e.getMessage());
        assertTrue(e.getMessage().contains("budget"), e.getMessage());
    }

    @Test
    void pixelBudgetIsConfigurable() {
        byte[][] rows = {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
        byte[] png = TestImages.png(3, 2, 8, 2, rows, null);
        assertEquals(3, LOADER.withMaxPixels(6).decode(png, "six.png").width());
        ImageException e = assertThrows(ImageException.class, () -> LOADER.withMaxPixels(5).decode(png, "six.png"));
        assertTrue(e.getMessage().contains("six.png"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> LOADER.withMaxPixels(0));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void zeroSizedHeaderIsRefused(int zeroDimension) {
        byte[] crafted = zeroDimension == 0 ? TestImages.pngHeaderOnly(0, 10) : TestImages.pngHeaderOnly(10, 0);
        ImageException e = assertThrows(ImageException.class, () -> LOADER.decode(crafted, "empty.png"));
        assertTrue(e.getMessage().contains("empty.png"), e.getMessage());
    }

    @Test
    void garbageIsAnImageExceptionNamingTheSource(@TempDir Path dir) throws IOException {
        byte[] garbage = "this is not an image at all, just text".getBytes();
        ImageException fromStream =
                assertThrows(ImageException.class, () -> LOADER.load(new ByteArrayInputStream(garbage)));
        assertTrue(fromStream.getMessage().startsWith("<stream>"), fromStream.getMessage());

        Path file = dir.resolve("garbage.png");
        Files.write(file, garbage);
        ImageException fromFile = assertThrows(ImageException.class, () -> LOADER.load(file));
        assertTrue(fromFile.getMessage().contains(file.toString()), fromFile.getMessage());

        ImageException empty = assertThrows(ImageException.class, () -> LOADER.load(new ByteArrayInputStream(new byte[0])));
        assertTrue(empty.getMessage().startsWith("<stream>"), empty.getMessage());

        Path missing = dir.resolve("missing.jpg");
        ImageException notFound = assertThrows(ImageException.class, () -> LOADER.load(missing));
        assertTrue(notFound.getMessage().contains(missing.toString()), notFound.getMessage());
    }

    @Test
    void truncatedImagesAreImageExceptions() throws IOException {
        Path images = Path.of(System.getProperty("paligemma.fixtures")).resolve("images");
        for (String name : new String[] {"scene.png", "scene.jpg"}) {
            byte[] full = Files.readAllBytes(images.resolve(name));
            for (int cut : new int[] {20, 200, full.length / 2}) {
                byte[] part = Arrays.copyOf(full, cut);
                try {
                    LOADER.decode(part, name);
                } catch (ImageException e) {
                    assertTrue(e.getMessage().contains(name), e.getMessage());
                }
                // a decoder may also fill a truncated JPEG's tail with grey; either outcome is fine,
                // anything other than ImageException fails the test
            }
        }
    }
}
