package dev.paligemma;

import dev.paligemma.core.Box;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads PaliGemma's detection output as big_vision does: objects separated by {@code " ; "}, each
 * {@code <locY1><locX1><locY2><locX2> label}. A malformed group (missing or out-of-range loc tokens,
 * an empty box) is skipped, never an exception: model output is data, not a contract.
 */
final class DetectionParser {
    private static final Pattern GROUP = Pattern.compile(
            "^\\s*<loc(\\d{4})><loc(\\d{4})><loc(\\d{4})><loc(\\d{4})>(?!<loc)\\s*([^<]*?)\\s*$");

    private DetectionParser() {
    }

    static List<Detection> parse(String text, int imageWidth, int imageHeight) {
        List<Detection> out = new ArrayList<>();
        if (text == null || imageWidth <= 0 || imageHeight <= 0) {
            return out;
        }
        for (String group : text.split(";")) {
            Matcher m = GROUP.matcher(group);
            if (!m.matches()) {
                continue;
            }
            Box.fromLoc(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                    Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)), imageWidth, imageHeight)
                    .ifPresent(box -> out.add(new Detection(m.group(5), box, OptionalDouble.empty())));
        }
        return out;
    }
}
