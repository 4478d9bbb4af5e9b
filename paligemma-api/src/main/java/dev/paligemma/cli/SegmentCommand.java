package dev.paligemma.cli;

import dev.paligemma.Generation;
import dev.paligemma.PaliGemma;
import dev.paligemma.segmentation.MaskDecoder;
import dev.paligemma.segmentation.Segmentation;
import dev.paligemma.segmentation.Segmenter;
import dev.paligemma.siglip.RgbImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "segment", description = "Segment the named objects (prompt \"segment car\"): boxes and masks.")
final class SegmentCommand extends GenerateCommand {
    @Option(names = "--objects", required = true, paramLabel = "\"A ; B\"", description = "objects to segment, separated by ';'")
    String objects;

    @Option(names = "--vae", paramLabel = "FILE.npz", description = "big_vision's vae-oid.npz (default: beside the checkpoint)")
    Path vae;

    @Option(names = "--overlay", paramLabel = "OUT.png", description = "paint the masks, boxes and labels on the image as a PNG")
    Path overlay;

    private List<Segmentation> segments = List.of();

    @Override
    String prompt() {
        return "segment " + String.join(" ; ", Prompts.labels(objects));
    }

    @Override
    void interpret(PaliGemma model, Generation generation, List<RgbImage> images, Map<String, Object> json) {
        MaskDecoder decoder = MaskDecoder.load(vae != null ? vae : PaliGemma.locateVae(common.model));
        RgbImage first = images.get(0);
        segments = new Segmenter(decoder).segment(generation.text(), first.width(), first.height());
        List<Object> list = new ArrayList<>();
        for (Segmentation s : segments) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("label", s.label());
            o.put("box", Overlay.boxJson(s.box()));
            o.put("area", s.mask().area());
            Map<String, Object> rle = new LinkedHashMap<>();
            rle.put("size", List.of(s.mask().height(), s.mask().width()));
            rle.put("counts", s.mask().toRle());
            rle.put("order", "column-major (COCO), first run is background");
            o.put("mask_rle", rle);
            list.add(o);
        }
        json.put("segments", list);
        if (overlay != null) {
            Overlay.drawSegments(first, segments, overlay);
        }
    }

    @Override
    List<String> summary() {
        List<String> lines = new ArrayList<>();
        for (Segmentation s : segments) {
            lines.add(String.format("%s: x1=%d y1=%d x2=%d y2=%d, mask %d px", s.label(), s.box().x1(), s.box().y1(),
                    s.box().x2(), s.box().y2(), s.mask().area()));
        }
        return lines;
    }
}
