package dev.paligemma;

import dev.paligemma.core.Box;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DetectionParserTest {

    @Test
    void parsesOneObjectIntoPixelsOfTheOriginalImage() {
        // 640x480: y = int(v/1023*480), x = int(v/1023*640); worked by hand:
        // 100/1023*480 = 46.92 -> 46; 200/1023*640 = 125.12 -> 125; 900/1023*480 = 422.28 -> 422; 1000/1023*640 = 625.61 -> 625
        List<Detection> d = DetectionParser.parse("<loc0100><loc0200><loc0900><loc1000> cat", 640, 480);
        assertEquals(1, d.size());
        assertEquals("cat", d.get(0).label());
        assertEquals(new Box(125, 46, 625, 422), d.get(0).box());
        assertTrue(d.get(0).score().isEmpty());
    }

    @Test
    void parsesSeveralObjectsSeparatedBySemicolons() {
        String text = "<loc0000><loc0000><loc1023><loc1023> dog ; <loc0512><loc0256><loc0768><loc0511> traffic light";
        List<Detection> d = DetectionParser.parse(text, 1023, 1023);
        assertEquals(2, d.size());
        assertEquals(new Box(0, 0, 1023, 1023), d.get(0).box());
        assertEquals("dog", d.get(0).label());
        assertEquals(new Box(256, 512, 511, 768), d.get(1).box());
        assertEquals("traffic light", d.get(1).label());
    }

    @Test
    void skipsMalformedGroupsAndKeepsTheRest() {
        String text = String.join(" ; ",
                "<loc0100><loc0200><loc0900> missing one",           // three locs
                "<loc0900><loc0200><loc0100><loc1000> upside down", // y2 <= y1
                "<loc0100><loc0900><loc0900><loc0200> mirrored",    // x2 <= x1
                "<loc0100><loc0100><loc0100><loc0900> flat",        // y2 == y1
                "<loc0100><loc0200><loc0900><loc1500> out of range",
                "<loc0100><loc0200><loc0900><loc0950><loc0001> five locs",
                "no box at all",
                "",
                "<loc0010><loc0020><loc0030><loc0040> ok");
        List<Detection> d = DetectionParser.parse(text, 1023, 1023);
        assertEquals(1, d.size());
        assertEquals("ok", d.get(0).label());
        assertEquals(new Box(20, 10, 40, 30), d.get(0).box());
    }

    @Test
    void boxesThatCollapseOnASmallImageAreSkipped() {
        // on a 2-pixel-high image 100 and 300 both map to row 0
        assertTrue(DetectionParser.parse("<loc0100><loc0000><loc0300><loc1023> thin", 100, 2).isEmpty());
    }

    @Test
    void toleratesNullAndGarbage() {
        assertTrue(DetectionParser.parse(null, 10, 10).isEmpty());
        assertTrue(DetectionParser.parse("<loc<loc>>;;;<seg012>", 10, 10).isEmpty());
        assertTrue(DetectionParser.parse("<loc0001><loc0002><loc0900><loc0900> x", 0, 10).isEmpty());
    }
}
