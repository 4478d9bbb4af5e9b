package dev.paligemma.cli;

import dev.paligemma.Detection;
import dev.paligemma.Generation;
import dev.paligemma.PaliGemma;
import dev.paligemma.siglip.RgbImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "detect", description = "Find the named objects (prompt \"detect cat ; dog\") and print their boxes in pixels.")
final class DetectCommand extends GenerateCommand {
    @Option(names = "--objects", required = true, paramLabel = "\"A ; B\"", description = "objects to find, separated by ';'")
    String objects;

    @Option(names = "--overlay", paramLabel = "OUT.png", description = "draw the boxes and labels on the (first) image as a PNG")
    Path overlay;

    private List<Detection> detections = List.of();

    @Override
    String prompt() {
        return PaliGemma.detectPrompt(Prompts.labels(objects));
    }

    @Override
    void interpret(PaliGemma model, Generation generation, List<RgbImage> images, Map<String, Object> json) {
        RgbImage first = images.get(0);
        detections = PaliGemma.detections(generation, first.width(), first.height());
        List<Object> list = new ArrayList<>();
        for (Detection d : detections) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("label", d.label());
            o.put("box", Overlay.boxJson(d.box()));
            list.add(o);
        }
        json.put("detections", list);
        if (overlay != null) {
            Overlay.drawDetections(first, detections, overlay);
        }
    }

    @Override
    List<String> summary() {
        List<String> lines = new ArrayList<>();
        for (Detection d : detections) {
            lines.add(String.format("%s: x1=%d y1=%d x2=%d y2=%d", d.label(), d.box().x1(), d.box().y1(), d.box().x2(), d.box().y2()));
        }
        return lines;
    }
}
