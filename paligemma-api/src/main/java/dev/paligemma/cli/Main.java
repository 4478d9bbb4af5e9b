package dev.paligemma.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The {@code paligemma} command. Exit codes: 0 success, 2 bad arguments, 3 bad input (missing or
 * corrupt checkpoint, tokenizer, image, config), 1 anything else. Errors are one {@code error: } line
 * on stderr naming what is at fault; stack traces only with {@code --verbose}.
 */
@Command(name = "paligemma", mixinStandardHelpOptions = true, version = "paligemma-java 0.1.0",
        description = "PaliGemma vision-language models on the CPU, in pure Java.",
        subcommands = {CaptionCommand.class, AnswerCommand.class, OcrCommand.class, DetectCommand.class,
                SegmentCommand.class, FreePromptCommand.class, TokenizeCommand.class, InfoCommand.class,
                MaskCommand.class, BenchCommand.class})
public final class Main implements Runnable {
    /** Set by the running command from its {@code --verbose} flag. */
    static volatile boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI in-process (as the tests do) and returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        verbose = false;
        for (String a : args) {
            if (a.equals("--verbose")) {
                verbose = true;
            }
        }
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("error: " + oneLine(ex.getMessage()));
            err.flush();
            return ExitCodes.BAD_ARGUMENTS;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Throwable e = ex;
            err.println("error: " + oneLine(e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
            if (verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            return e instanceof CommandLine.ParameterException ? ExitCodes.BAD_ARGUMENTS : ExitCodes.of(e);
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            err.println("error: out of memory (" + e.getMessage() + "); give the JVM more heap with PALIGEMMA_JAVA_OPTS=-Xmx...");
            return ExitCodes.FAILURE;
        }
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").strip();
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "missing command; see --help");
    }
}
