package dev.paligemma.cli;

import dev.paligemma.bench.BenchOptions;
import dev.paligemma.bench.BenchReport;
import dev.paligemma.bench.BenchmarkRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "bench", description = {
        "Measure load, vision encoding, prefill and decoding on a synthetic checkpoint of the real shapes",
        "(written once to a cache folder) or a real one, against the machine's memory bandwidth and FMA peak."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--synthetic", paramLabel = "NAME", defaultValue = "paligemma-3b-224",
            description = "paligemma-3b-224, paligemma2-3b-224 or paligemma2-3b-448 (default ${DEFAULT-VALUE})")
    String synthetic;

    @Option(names = "--checkpoint", paramLabel = "DIR", description = "measure this real checkpoint instead of a synthetic one")
    Path checkpoint;

    @Option(names = "--dtype", paramLabel = "f32|bf16|q8", defaultValue = "bf16", description = "weight type (default ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0", description = "worker threads (0 = one per core)")
    int threads;

    @Option(names = "--quick", description = "fewer repetitions and 8 decode tokens instead of 32")
    boolean quick;

    @Option(names = "--json", description = "print one JSON object instead of a table")
    boolean json;

    @Option(names = "--cache", paramLabel = "DIR", description = "where synthetic checkpoints are kept (default ~/.cache/paligemma-java/synthetic)")
    Path cache;

    @Option(names = "--quiet", description = "no progress on stderr")
    boolean quiet;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Main.verbose = verbose;
        BenchOptions options = new BenchOptions(synthetic, dtype, threads, quick, cache, checkpoint);
        Progress progress = new Progress(spec.commandLine().getErr(), quiet);
        BenchReport report = BenchmarkRunner.run(options, progress::say);
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? report.toJson() : report.toTable());
        out.flush();
        return ExitCodes.OK;
    }
}
