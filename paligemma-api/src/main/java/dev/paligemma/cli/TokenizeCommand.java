package dev.paligemma.cli;

import dev.paligemma.core.TokenizerException;
import dev.paligemma.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "tokenize", description = "Print the token ids of a text, space separated.")
final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "checkpoint directory (reads its tokenizer.model)")
    Path model;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "text to encode")
    String text;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Main.verbose = verbose;
        Path file = Files.isDirectory(model) ? model.resolve("tokenizer.model") : model;
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException(file + ": tokenizer.model not found");
        }
        int[] ids = Tokenizer.load(file).encode(text);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(ids[i]);
        }
        spec.commandLine().getOut().println(sb);
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }
}
