package dev.paligemma.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Bad CLI invocations generated combinatorially: every command with one fault (or two of the same kind)
 * in the model directory, the image or the options. Each must end with the documented exit code (2 bad
 * arguments, 3 bad input), exactly one {@code error: } line and, without {@code --verbose}, no stack trace.
 */
class CliFuzzTest {
    private static final long SEED = 0xC11_0000L;

    /** A fault: what it does to the argument list, and the exit code it must give. */
    record Fault(String name, int code, java.util.function.Consumer<Args> apply) {
    }

    /** A mutable invocation: the command and its options in order. */
    static final class Args {
        final String command;
        final List<String> opts = new ArrayList<>();

        Args(String command) {
            this.command = command;
        }

        void set(String option, String value) {
            int i = opts.indexOf(option);
            if (i >= 0) {
                opts.set(i + 1, value);
            } else {
                opts.add(option);
                opts.add(value);
            }
        }

        void remove(String option) {
            int i = opts.indexOf(option);
            if (i >= 0) {
                opts.remove(i + 1);
                opts.remove(i);
            }
        }

        String[] toArray() {
            List<String> all = new ArrayList<>();
            all.add(command);
            all.addAll(opts);
            return all.toArray(String[]::new);
        }
    }

    private static final String[] COMMANDS = {"caption", "answer", "ocr", "detect", "segment", "generate"};

    private static Args valid(String command, Path model, Path image) {
        Args a = new Args(command);
        a.set("--model", model.toString());
        a.set("--image", image.toString());
        a.set("--max-tokens", "2");
        a.opts.add("--quiet");
        switch (command) {
            case "answer" -> a.set("--question", "what is this");
            case "detect", "segment" -> a.set("--objects", "cat ; dog");
            case "generate" -> a.set("--prompt", "caption en");
            default -> {
            }
        }
        return a;
    }

    private static void link(Path src, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (var s = Files.list(src)) {
            for (Path p : s.toList()) {
                if (!p.getFileName().toString().startsWith("golden")) {
                    Files.createLink(dir.resolve(p.getFileName()), p);
                }
            }
        }
    }

    @Test
    void badInvocationsGiveTheDocumentedCodeAndOneErrorLine(@TempDir Path tmp) throws IOException {
        Path model = MainTest.FIX.resolve("paligemma-tiny");
        Path image = MainTest.FIX.resolve("images/scene.png");
        byte[] png = Files.readAllBytes(image);

        // bad model directories
        Path emptyDir = Files.createDirectories(tmp.resolve("empty"));
        Path badTokenizer = tmp.resolve("bad-tokenizer");
        link(model, badTokenizer);
        Files.delete(badTokenizer.resolve("tokenizer.model"));
        Files.write(badTokenizer.resolve("tokenizer.model"), Arrays.copyOf(Files.readAllBytes(model.resolve("tokenizer.model")), 1000));
        Path badConfig = tmp.resolve("bad-config");
        link(model, badConfig);
        Files.delete(badConfig.resolve("config.json"));
        Files.writeString(badConfig.resolve("config.json"), Files.readString(model.resolve("config.json"))
                .replaceFirst("\"num_hidden_layers\": *\\d+", "\"num_hidden_layers\": -3"));
        Path truncatedWeights = tmp.resolve("truncated-weights");
        link(model, truncatedWeights);
        Files.delete(truncatedWeights.resolve("model.safetensors"));
        Files.write(truncatedWeights.resolve("model.safetensors"),
                Arrays.copyOf(Files.readAllBytes(model.resolve("model.safetensors")), 100_000));
        Path noTokenizer = tmp.resolve("no-tokenizer");
        link(model, noTokenizer);
        Files.delete(noTokenizer.resolve("tokenizer.model"));

        // bad images
        Path text = Files.writeString(tmp.resolve("notes.png"), "this is not an image", StandardCharsets.UTF_8);
        Path truncated = Files.write(tmp.resolve("cut.png"), Arrays.copyOf(png, png.length / 3));
        Path empty = Files.write(tmp.resolve("empty.jpg"), new byte[0]);
        Path header = Files.write(tmp.resolve("header.png"), Arrays.copyOf(png, 40));

        List<Fault> badInput = List.of(
                new Fault("missing model dir", 3, a -> a.set("--model", tmp.resolve("nope").toString())),
                new Fault("model dir is a file", 3, a -> a.set("--model", image.toString())),
                new Fault("empty model dir", 3, a -> a.set("--model", emptyDir.toString())),
                new Fault("corrupt tokenizer", 3, a -> a.set("--model", badTokenizer.toString())),
                new Fault("missing tokenizer", 3, a -> a.set("--model", noTokenizer.toString())),
                new Fault("bad config", 3, a -> a.set("--model", badConfig.toString())),
                new Fault("truncated weights", 3, a -> a.set("--model", truncatedWeights.toString())),
                new Fault("text file as image", 3, a -> a.set("--image", text.toString())),
                new Fault("truncated image", 3, a -> a.set("--image", truncated.toString())),
                new Fault("empty image", 3, a -> a.set("--image", empty.toString())),
                new Fault("image header only", 3, a -> a.set("--image", header.toString())),
                new Fault("missing image", 3, a -> a.set("--image", tmp.resolve("nope.png").toString())),
                new Fault("directory as image", 3, a -> a.set("--image", tmp.toString())));
        List<Fault> badArgs = List.of(
                new Fault("--max-tokens 0", 2, a -> a.set("--max-tokens", "0")),
                new Fault("--max-tokens -5", 2, a -> a.set("--max-tokens", "-5")),
                new Fault("--max-tokens abc", 2, a -> a.set("--max-tokens", "abc")),
                new Fault("--max-tokens beyond the context", 2, a -> a.set("--max-tokens", "2000000000")),
                new Fault("--max-tokens overflow", 2, a -> a.set("--max-tokens", "99999999999999")),
                new Fault("--temperature -1", 2, a -> a.set("--temperature", "-1")),
                new Fault("--temperature NaN", 2, a -> a.set("--temperature", "NaN")),
                new Fault("--top-p 2", 2, a -> a.set("--top-p", "2")),
                new Fault("--top-p 0", 2, a -> a.set("--top-p", "0")),
                new Fault("--top-k -1", 2, a -> a.set("--top-k", "-1")),
                new Fault("--threads -1", 2, a -> a.set("--threads", "-1")),
                new Fault("--seed x", 2, a -> a.set("--seed", "x")),
                new Fault("unknown option", 2, a -> a.opts.add("--frobnicate")),
                new Fault("unknown option with value", 2, a -> a.set("--colour", "red")),
                new Fault("missing --model", 2, a -> a.remove("--model")),
                new Fault("missing --image", 2, a -> a.remove("--image")),
                new Fault("--image and --pixel-values", 2, a -> a.set("--pixel-values", "x.safetensors")),
                new Fault("option without value", 2, a -> {
                    a.remove("--max-tokens");
                    a.opts.add("--max-tokens");
                }),
                new Fault("stray positional", 2, a -> a.opts.add("extra")),
                new Fault("bad --lang", 2, a -> {
                    if (a.command.equals("caption") || a.command.equals("answer")) {
                        a.set("--lang", "not a language!");
                    } else {
                        a.opts.add("--lang");
                        a.opts.add("en");
                    }
                }),
                new Fault("missing required task option", 2, a -> {
                    a.remove("--question");
                    a.remove("--objects");
                    a.remove("--prompt");
                    if (a.command.equals("caption") || a.command.equals("ocr")) {
                        a.set("--top-p", "1.5");
                    }
                }),
                new Fault("empty task text", 2, a -> {
                    a.set(switch (a.command) {
                        case "answer" -> "--question";
                        case "detect", "segment" -> "--objects";
                        case "generate" -> "--prompt";
                        default -> "--max-tokens";
                    }, switch (a.command) {
                        case "caption", "ocr" -> "";
                        default -> "  ";
                    });
                }));

        List<String> failures = new ArrayList<>();
        int cases = 0;
        // every command with every single fault
        for (String command : COMMANDS) {
            for (List<Fault> kind : List.of(badInput, badArgs)) {
                for (Fault f : kind) {
                    cases++;
                    Args a = valid(command, model, image);
                    f.apply().accept(a);
                    check(a, f.name(), f.code(), false, failures);
                }
            }
        }
        // two faults of the same kind, some with --verbose (which may print a trace, still one error line)
        for (int i = 0; i < 60; i++) {
            SplittableRandom rnd = new SplittableRandom(SEED + i);
            List<Fault> kind = rnd.nextBoolean() ? badInput : badArgs;
            Fault f1 = kind.get(rnd.nextInt(kind.size()));
            Fault f2 = kind.get(rnd.nextInt(kind.size()));
            Args a = valid(COMMANDS[rnd.nextInt(COMMANDS.length)], model, image);
            f1.apply().accept(a);
            f2.apply().accept(a);
            boolean verbose = rnd.nextInt(4) == 0;
            if (verbose) {
                a.opts.add("--verbose");
            }
            cases++;
            check(a, "seed " + (SEED + i) + ": " + f1.name() + " + " + f2.name(), f1.code(), verbose, failures);
        }
        System.out.println("CliFuzzTest: " + cases + " invocations, " + failures.size() + " bad");
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + cases + " invocations misbehaved:\n  "
                    + String.join("\n  ", failures.subList(0, Math.min(25, failures.size()))));
        }
    }

    private static void check(Args a, String fault, int expectedCode, boolean verbose, List<String> failures) {
        MainTest.Run r = MainTest.run(a.toArray());
        String line = String.join(" ", a.toArray()) + " [" + fault + "]";
        List<String> errors = r.errorLines();
        if (r.code() != expectedCode) {
            failures.add(line + ": exit " + r.code() + ", expected " + expectedCode + "; stderr: " + r.err().strip());
        } else if (errors.size() != 1) {
            failures.add(line + ": " + errors.size() + " error lines; stderr: " + r.err().strip());
        } else if (!verbose && r.err().contains("\tat ")) {
            failures.add(line + ": stack trace without --verbose");
        } else if (!verbose && !r.err().strip().equals(errors.get(0))) {
            failures.add(line + ": more than the error line on stderr: " + r.err().strip());
        }
    }
}
