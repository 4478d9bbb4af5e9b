package dev.paligemma.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "answer", description = "Answer a question about the image (prompt \"answer <lang> <question>\").")
final class AnswerCommand extends GenerateCommand {
    @Option(names = "--question", required = true, paramLabel = "TEXT", description = "the question")
    String question;

    @Option(names = "--lang", defaultValue = "en", description = "language code (default ${DEFAULT-VALUE})")
    String lang;

    @Override
    String prompt() {
        return "answer " + Prompts.lang(lang) + " " + Prompts.text("--question", question);
    }
}
