package dev.paligemma.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "generate", description = "Run a free prompt (mix checkpoints take them).")
final class FreePromptCommand extends GenerateCommand {
    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the prompt")
    String prompt;

    @Override
    String prompt() {
        return Prompts.text("--prompt", prompt);
    }
}
