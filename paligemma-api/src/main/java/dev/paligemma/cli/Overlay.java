package dev.paligemma.cli;

import dev.paligemma.Detection;
import dev.paligemma.core.Box;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.segmentation.Segmentation;
import dev.paligemma.siglip.RgbImage;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Draws detections and masks over the input image for {@code --overlay}. */
final class Overlay {
    private static final Color[] PALETTE = {
            new Color(230, 25, 75), new Color(60, 180, 75), new Color(0, 130, 200), new Color(245, 130, 48),
            new Color(145, 30, 180), new Color(70, 240, 240), new Color(240, 50, 230), new Color(210, 245, 60)};

    private Overlay() {
    }

    static Map<String, Object> boxJson(Box b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("x1", b.x1());
        m.put("y1", b.y1());
        m.put("x2", b.x2());
        m.put("y2", b.y2());
        return m;
    }

    static void drawDetections(RgbImage image, List<Detection> detections, Path out) {
        BufferedImage canvas = toBuffered(image);
        Graphics2D g = canvas.createGraphics();
        try {
            for (int i = 0; i < detections.size(); i++) {
                box(g, detections.get(i).box(), detections.get(i).label(), PALETTE[i % PALETTE.length], image);
            }
        } finally {
            g.dispose();
        }
        write(canvas, out);
    }

    static void drawSegments(RgbImage image, List<Segmentation> segments, Path out) {
        BufferedImage canvas = toBuffered(image);
        for (int i = 0; i < segments.size(); i++) {
            Color c = PALETTE[i % PALETTE.length];
            var mask = segments.get(i).mask();
            for (int y = 0; y < canvas.getHeight(); y++) {
                for (int x = 0; x < canvas.getWidth(); x++) {
                    if (mask.contains(x, y)) {
                        int rgb = canvas.getRGB(x, y);
                        int r = ((rgb >> 16 & 0xFF) + c.getRed()) / 2;
                        int gr = ((rgb >> 8 & 0xFF) + c.getGreen()) / 2;
                        int b = ((rgb & 0xFF) + c.getBlue()) / 2;
                        canvas.setRGB(x, y, r << 16 | gr << 8 | b);
                    }
                }
            }
        }
        Graphics2D g = canvas.createGraphics();
        try {
            for (int i = 0; i < segments.size(); i++) {
                box(g, segments.get(i).box(), segments.get(i).label(), PALETTE[i % PALETTE.length], image);
            }
        } finally {
            g.dispose();
        }
        write(canvas, out);
    }

    private static void box(Graphics2D g, Box b, String label, Color c, RgbImage image) {
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        float stroke = Math.max(2f, Math.min(image.width(), image.height()) / 200f);
        g.setColor(c);
        g.setStroke(new BasicStroke(stroke));
        g.drawRect(b.x1(), b.y1(), Math.max(1, b.width() - 1), Math.max(1, b.height() - 1));
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, Math.max(12, Math.round(stroke * 6))));
        int th = g.getFontMetrics().getHeight();
        int tw = g.getFontMetrics().stringWidth(label) + 6;
        int ty = b.y1() >= th ? b.y1() - th : b.y1();
        g.fillRect(b.x1(), ty, tw, th);
        g.setColor(Color.WHITE);
        g.drawString(label, b.x1() + 3, ty + g.getFontMetrics().getAscent());
    }

    private static BufferedImage toBuffered(RgbImage image) {
        BufferedImage bi = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_INT_RGB);
        byte[] rgb = image.rgb();
        for (int y = 0, p = 0; y < image.height(); y++) {
            for (int x = 0; x < image.width(); x++, p += 3) {
                bi.setRGB(x, y, (rgb[p] & 0xFF) << 16 | (rgb[p + 1] & 0xFF) << 8 | (rgb[p + 2] & 0xFF));
            }
        }
        return bi;
    }

    private static void write(BufferedImage image, Path out) {
        try {
            if (!ImageIO.write(image, "png", out.toFile())) {
                throw new IOException("no PNG writer");
            }
        } catch (IOException e) {
            throw new InvalidArgumentException("--overlay: cannot write " + out + ": " + e.getMessage(), e);
        }
    }
}
