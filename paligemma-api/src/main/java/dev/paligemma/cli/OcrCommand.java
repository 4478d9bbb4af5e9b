package dev.paligemma.cli;

import picocli.CommandLine.Command;

@Command(name = "ocr", description = "Read the text in the image (prompt \"ocr\").")
final class OcrCommand extends GenerateCommand {
    @Override
    String prompt() {
        return "ocr";
    }
}
