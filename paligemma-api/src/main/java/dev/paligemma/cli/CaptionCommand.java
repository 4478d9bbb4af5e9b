package dev.paligemma.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "caption", description = "Describe the image (prompt \"caption <lang>\").")
final class CaptionCommand extends GenerateCommand {
    @Option(names = "--lang", defaultValue = "en", description = "output language code (default ${DEFAULT-VALUE})")
    String lang;

    @Override
    String prompt() {
        return "caption " + Prompts.lang(lang);
    }
}
