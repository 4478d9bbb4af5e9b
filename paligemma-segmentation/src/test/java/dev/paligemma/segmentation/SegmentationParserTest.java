package dev.paligemma.segmentation;

import dev.paligemma.core.Box;
import dev.paligemma.core.InvalidArgumentException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SegmentationParserTest {
    private static final String SEGS = "<seg000><seg001><seg002><seg003><seg004><seg005><seg006><seg007>"
            + "<seg008><seg009><seg010><seg011><seg012><seg013><seg014><seg127>";
    private static final List<Integer> CODES = List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 127);
    // image 100 wide, 200 high: int(256/1023*200)=50, int(512/1023*100)=50, int(1023/1023*200)=200, int(767/1023*100)=74
    private static final String LOCS = "<loc0256><loc0512><loc1023><loc0767>";

    @Test
    void parsesOneObject() {
        List<ParsedSegment> got = SegmentationParser.parse(LOCS + SEGS + " car", 100, 200);
        assertEquals(1, got.size());
        ParsedSegment s = got.getFirst();
        assertEquals("car", s.label());
        assertEquals(256, s.locY1());
        assertEquals(512, s.locX1());
        assertEquals(1023, s.locY2());
        assertEquals(767, s.locX2());
        assertEquals(CODES, s.codes());
        assertEquals(new Box(50, 50, 74, 200), s.box());
    }

    @Test
    void parsesSeveralObjectsAndSkipsMalformedOnes() {
        String text = LOCS + SEGS + " red car ; "
                + LOCS + SEGS.substring(8) + " short ; "                              // 15 seg tokens
                + "<loc0000><loc0000><loc0512><loc0512>" + SEGS + "<seg001> long ; "  // 17 seg tokens
                + "<loc0000><loc0000><loc1024><loc0512>" + SEGS + " loc out of range ; "
                + "<loc0000><loc0000><loc0512><loc0512>" + SEGS.replace("<seg127>", "<seg128>") + " seg out of range ; "
                + "<loc0500><loc0000><loc0500><loc0512>" + SEGS + " flat ; "
                // x: int(1/1023*100) = 0 = int(10/1023*100): empty after the pixel mapping
                + "<loc0000><loc0001><loc0512><loc0010>" + SEGS + " thin ; "
                + "<loc0000><loc0000><loc0512><loc0512> detection only ; "
                + "<loc0000><loc0000><loc0512> three locs ; "
                + "<loc0000><loc0000><loc1023><loc1023>" + SEGS + " person";
        List<ParsedSegment> got = SegmentationParser.parse(text, 100, 200);
        assertEquals(2, got.size(), got.toString());
        assertEquals("red car", got.get(0).label());
        assertEquals("person", got.get(1).label());
        assertEquals(new Box(0, 0, 100, 200), got.get(1).box());
    }

    @Test
    void toleratesMissingSeparatorsLabelsAndNoise() {
        String text = "noise <loc12> " + LOCS + " " + SEGS + LOCS + SEGS + "  ;  " + LOCS + SEGS + "<eos>";
        List<ParsedSegment> got = SegmentationParser.parse(text, 100, 200);
        assertEquals(3, got.size());
        for (ParsedSegment s : got) {
            assertEquals("", s.label());
            assertEquals(CODES, s.codes());
        }
    }

    @Test
    void garbageGivesNothing() {
        assertTrue(SegmentationParser.parse("", 10, 10).isEmpty());
        assertTrue(SegmentationParser.parse(null, 10, 10).isEmpty());
        assertTrue(SegmentationParser.parse("a cat <loc", 10, 10).isEmpty());
        assertTrue(SegmentationParser.parse("<loc0001><loc0002><loc0003><loc00", 10, 10).isEmpty());
        assertTrue(SegmentationParser.parse("<locabcd><loc0002><loc0003><loc0004>" + SEGS, 10, 10).isEmpty());
        assertTrue(SegmentationParser.parse(LOCS + SEGS.substring(0, SEGS.length() - 1), 100, 200).isEmpty());
    }

    @Test
    void rejectsBadImageSize() {
        assertThrows(InvalidArgumentException.class, () -> SegmentationParser.parse(LOCS + SEGS, 0, 10));
    }

    @Test
    void pixelMappingMatchesGoldenJson() {
        // fixtures/segmentation/golden.json pixel boxes (y1, x1, y2, x2)
        assertEquals(new Box(12, 23, 156, 164), Box.fromLoc(100, 40, 700, 500, 320, 240).orElseThrow());
        assertEquals(new Box(563, 4, 625, 28), Box.fromLoc(10, 900, 60, 1000, 640, 480).orElseThrow());
    }
}
