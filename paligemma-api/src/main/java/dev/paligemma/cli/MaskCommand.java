package dev.paligemma.cli;

import dev.paligemma.core.Json;
import dev.paligemma.segmentation.MaskDecoder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "mask", description = "Decode 16 <seg> codes with the VQ-VAE into the raw 64x64 mask (for checks and debugging).")
final class MaskCommand implements Callable<Integer> {
    @Option(names = "--vae", required = true, paramLabel = "FILE.npz", description = "big_vision's vae-oid.npz")
    Path vae;

    @Option(names = "--codes", required = true, arity = "16", paramLabel = "C", description = "the 16 codes, 0..127")
    List<Integer> codes;

    @Option(names = "--json", description = "print {\"mask64\": [4096 floats]} (the default output)")
    boolean json;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Main.verbose = verbose;
        int[] c = codes.stream().mapToInt(Integer::intValue).toArray();
        float[] mask = MaskDecoder.load(vae).decode(c);
        spec.commandLine().getOut().println(Json.write(Map.of("mask64", mask)));
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }
}
