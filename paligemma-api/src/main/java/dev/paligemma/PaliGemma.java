package dev.paligemma;

import dev.paligemma.core.Checkpoint;
import dev.paligemma.core.ConfigException;
import dev.paligemma.core.InvalidArgumentException;
import dev.paligemma.core.PaliGemmaException;
import dev.paligemma.core.TokenizerException;
import dev.paligemma.core.config.PaliGemmaConfig;
import dev.paligemma.core.config.PreprocessorConfig;
import dev.paligemma.core.ops.Parallel;
import dev.paligemma.gemma.CancellationToken;
import dev.paligemma.gemma.DecoderInput;
import dev.paligemma.gemma.GemmaModel;
import dev.paligemma.gemma.GenerationOptions;
import dev.paligemma.gemma.GenerationResult;
import dev.paligemma.segmentation.MaskDecoder;
import dev.paligemma.segmentation.Segmentation;
import dev.paligemma.segmentation.Segmenter;
import dev.paligemma.siglip.ImageLoader;
import dev.paligemma.siglip.ImagePreprocessor;
import dev.paligemma.siglip.Resample;
import dev.paligemma.siglip.RgbImage;
import dev.paligemma.siglip.VisionTower;
import dev.paligemma.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loaded PaliGemma checkpoint (PaliGemma 1 or 2, 224/448/896 px, F32/BF16/F16 weights) and the
 * tasks it was trained for: {@link #caption}, {@link #answer}, {@link #ocr}, {@link #detect}, and
 * free prompts through {@link #generate}.
 *
 * <p>Weights stay memory-mapped until {@link #close()}. Thread-safe: several threads may generate at
 * once; each call keeps its own state (KV cache, buffers).
 */
public final class PaliGemma implements AutoCloseable {
    /** Default number of tokens the task methods generate at most. */
    public static final int DEFAULT_MAX_TOKENS = 64;

    private final Path directory;
    private final Checkpoint checkpoint;
    private final PaliGemmaConfig config;
    private final Tokenizer tokenizer;
    private final VisionTower vision;
    private final GemmaModel decoder;
    private final ImagePreprocessor preprocessor;
    private final ImageLoader imageLoader;
    private final long loadNanos;
    /** Longest {@link #close()} waits for running calls to notice cancellation before unmapping anyway. */
    private static final long CLOSE_WAIT_NANOS = 60_000_000_000L;

    private final AtomicInteger active = new AtomicInteger();
    private final java.util.Set<CancellationToken> running = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private PaliGemma(Path directory, Checkpoint checkpoint, PaliGemmaConfig config, Tokenizer tokenizer, VisionTower vision,
                      GemmaModel decoder, ImagePreprocessor preprocessor, ImageLoader imageLoader, long loadNanos) {
        this.directory = directory;
        this.checkpoint = checkpoint;
        this.config = config;
        this.tokenizer = tokenizer;
        this.vision = vision;
        this.decoder = decoder;
        this.preprocessor = preprocessor;
        this.imageLoader = imageLoader;
        this.loadNanos = loadNanos;
    }

    /** Loads a checkpoint directory as downloaded from the hub, with {@link LoadOptions#defaults()}. */
    public static PaliGemma load(Path checkpointDir) {
        return load(checkpointDir, LoadOptions.defaults());
    }

    /**
     * Loads {@code config.json}, {@code preprocessor_config.json}, {@code tokenizer.model} and the
     * (possibly sharded) safetensors weights of {@code checkpointDir}.
     *
     * @throws ConfigException, CheckpointException, TokenizerException naming the file at fault
     */
    public static PaliGemma load(Path checkpointDir, LoadOptions options) {
        Objects.requireNonNull(checkpointDir, "checkpointDir");
        Objects.requireNonNull(options, "options");
        long t0 = System.nanoTime();
        if (!Files.isDirectory(checkpointDir)) {
            throw new ConfigException(checkpointDir + ": model directory not found");
        }
        if (options.threads() > 0) {
            Parallel.setThreads(options.threads());
        }
        PaliGemmaConfig config = PaliGemmaConfig.load(checkpointDir);
        PreprocessorConfig pre = PreprocessorConfig.load(checkpointDir, config.vision().imageSize());
        if (pre.height() != config.vision().imageSize()) {
            throw new ConfigException(checkpointDir.resolve(PreprocessorConfig.FILE) + ": key 'size' is " + pre.height()
                    + " but config.json's vision_config.image_size is " + config.vision().imageSize());
        }
        Path tokenizerFile = checkpointDir.resolve("tokenizer.model");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new TokenizerException(tokenizerFile + ": file not found (PaliGemma checkpoints ship tokenizer.model)");
        }
        Tokenizer tokenizer = Tokenizer.load(tokenizerFile);
        Resample resample = options.resample() != null ? options.resample() : Resample.fromPil(pre.resample());
        float[] mean = pre.imageMean();
        float[] std = pre.imageStd();
        ImagePreprocessor preprocessor = new ImagePreprocessor(pre.height(), pre.width(), resample,
                pre.doRescale() ? pre.rescaleFactor() : 1.0,
                pre.doNormalize() ? new double[] {mean[0], mean[1], mean[2]} : new double[] {0, 0, 0},
                pre.doNormalize() ? new double[] {std[0], std[1], std[2]} : new double[] {1, 1, 1});
        Checkpoint checkpoint = Checkpoint.open(checkpointDir);
        try {
            checkpoint = options.weights().view(checkpoint, options.effectiveQ8CacheDir());
            VisionTower vision = VisionTower.load(checkpoint, config.vision(), config.text().hiddenSize());
            GemmaModel decoder = GemmaModel.load(checkpoint, config).withSlidingWindow(options.slidingWindow());
            if (tokenizer.vocabSize() > config.text().vocabSize()) {
                throw new TokenizerException(tokenizerFile + ": " + tokenizer.vocabSize() + " pieces, more than the "
                        + config.text().vocabSize() + " embedding rows of the model");
            }
            return new PaliGemma(checkpointDir, checkpoint, config, tokenizer, vision, decoder, preprocessor,
                    ImageLoader.defaults().withMaxPixels(options.maxImagePixels()), System.nanoTime() - t0);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public Path directory() {
        return directory;
    }

    public PaliGemmaConfig config() {
        return config;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The mapped weights (for inspection: names, dtypes, sizes). */
    public Checkpoint checkpoint() {
        return checkpoint;
    }

    /** Time {@link #load} took, in nanoseconds. */
    public long loadNanos() {
        return loadNanos;
    }

    /** Reads an image file with this model's pixel budget (PNG, JPEG, BMP, GIF, WebP). */
    public RgbImage readImage(Path file) {
        return imageLoader.load(file);
    }

    /** Runs the vision tower once over {@code images} so several prompts can reuse the result. */
    public ImageEmbedding embed(List<RgbImage> images) {
        if (images == null || images.isEmpty()) {
            throw new InvalidArgumentException("images: at least one image is required");
        }
        return withModel(() -> {
            long t0 = System.nanoTime();
            List<ImageEmbedding.ImageSize> sizes = new ArrayList<>();
            for (RgbImage im : images) {
                Objects.requireNonNull(im, "images contains null");
                sizes.add(new ImageEmbedding.ImageSize(im.width(), im.height()));
            }
            float[] pixels = preprocessor.preprocess(images);
            float[] rows = vision.imageFeatures(pixels, images.size());
            return new ImageEmbedding(rows, images.size(), config.imageTokens(), config.text().hiddenSize(), sizes,
                    System.nanoTime() - t0);
        });
    }

    /**
     * Runs the vision tower on pixel values that are already preprocessed ({@code [batch, 3, S, S]},
     * values in [-1, 1]), e.g. made by another pipeline or taken from a reference run. Detections are
     * then mapped onto an image of {@code S x S} pixels.
     */
    public ImageEmbedding embedPixels(float[] pixelValues, int batch) {
        int side = config.vision().imageSize();
        long expected = (long) batch * 3 * side * side;
        if (pixelValues == null || batch < 1 || pixelValues.length != expected) {
            throw new InvalidArgumentException("pixelValues: expected [" + batch + ", 3, " + side + ", " + side + "] = "
                    + expected + " floats, got " + (pixelValues == null ? "null" : pixelValues.length));
        }
        return withModel(() -> {
            long t0 = System.nanoTime();
            float[] rows = vision.imageFeatures(pixelValues, batch);
            List<ImageEmbedding.ImageSize> sizes = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                sizes.add(new ImageEmbedding.ImageSize(side, side));
            }
            return new ImageEmbedding(rows, batch, config.imageTokens(), config.text().hiddenSize(), sizes, System.nanoTime() - t0);
        });
    }

    /** {@link #embed(List)} of one image. */
    public ImageEmbedding embed(RgbImage image) {
        return embed(List.of(Objects.requireNonNull(image, "image")));
    }

    /** {@code "caption <lang>"}: a short description of the image. */
    public Generation caption(RgbImage image, String lang) {
        return generate(embed(image), "caption " + lang(lang), GenerationOptions.greedy(DEFAULT_MAX_TOKENS));
    }

    /** {@code "answer <lang> <question>"}: visual question answering. */
    public Generation answer(RgbImage image, String question, String lang) {
        requireText("question", question);
        return generate(embed(image), "answer " + lang(lang) + " " + question, GenerationOptions.greedy(DEFAULT_MAX_TOKENS));
    }

    /** {@code "ocr"}: the text in the image. */
    public Generation ocr(RgbImage image) {
        return generate(embed(image), "ocr", GenerationOptions.greedy(DEFAULT_MAX_TOKENS));
    }

    /**
     * {@code "detect cat ; dog"}: boxes of the named objects, in pixels of the original image.
     * Malformed groups in the model's output are skipped.
     */
    public List<Detection> detect(RgbImage image, List<String> labels) {
        return detections(generate(embed(image), detectPrompt(labels), GenerationOptions.greedy(DEFAULT_MAX_TOKENS)),
                image.width(), image.height());
    }

    /** Name of the VQ-VAE mask decoder file {@link #segment(RgbImage, String)} looks for beside the checkpoint. */
    public static final String VAE_FILE = "vae-oid.npz";

    /**
     * {@code "segment <label>"}: every segmented object, its box and its mask over the whole image,
     * using {@code vae-oid.npz} from the checkpoint directory.
     *
     * @throws CheckpointException if the file is absent (it says where to get it)
     */
    public List<Segmentation> segment(RgbImage image, String label) {
        return segment(image, label, maskDecoder());
    }

    /** {@code "segment <label>"} with an explicitly loaded mask decoder ({@link MaskDecoder#load}). */
    public List<Segmentation> segment(RgbImage image, String label, MaskDecoder vae) {
        Objects.requireNonNull(vae, "vae");
        requireText("label", label);
        Generation g = generate(embed(image), "segment " + label.strip(), GenerationOptions.greedy(DEFAULT_MAX_TOKENS));
        return new Segmenter(vae).segment(g.text(), image.width(), image.height());
    }

    private volatile MaskDecoder defaultVae;

    private MaskDecoder maskDecoder() {
        MaskDecoder vae = defaultVae;
        if (vae == null) {
            synchronized (this) {
                if (defaultVae == null) {
                    defaultVae = MaskDecoder.load(locateVae(directory));
                }
                vae = defaultVae;
            }
        }
        return vae;
    }

    /** {@code vae-oid.npz} beside the checkpoint, or an error that says where to get it. */
    public static Path locateVae(Path checkpointDir) {
        Path p = checkpointDir.resolve(VAE_FILE);
        if (!Files.isRegularFile(p)) {
            throw new dev.paligemma.core.CheckpointException(p + ": mask decoder not found; segmentation needs big_vision's "
                    + VAE_FILE + " (download https://storage.googleapis.com/big_vision/paligemma/vae-oid.npz into the "
                    + "checkpoint directory, or pass its path)");
        }
        return p;
    }

    /** Parses a detection answer into boxes on an image of the given size. */
    public static List<Detection> detections(Generation generation, int imageWidth, int imageHeight) {
        return DetectionParser.parse(generation.text(), imageWidth, imageHeight);
    }

    /** The prompt {@link #detect} sends: {@code "detect a ; b"}. */
    public static String detectPrompt(List<String> labels) {
        if (labels == null || labels.isEmpty()) {
            throw new InvalidArgumentException("labels: at least one object label is required");
        }
        List<String> clean = new ArrayList<>();
        for (String l : labels) {
            requireText("labels", l);
            clean.add(l.strip());
        }
        return "detect " + String.join(" ; ", clean);
    }

    /** A free prompt about one image. */
    public Generation generate(RgbImage image, String prompt, GenerationOptions options) {
        return generate(embed(image), prompt, options);
    }

    /** A free prompt about already-embedded images. */
    public Generation generate(ImageEmbedding images, String prompt, GenerationOptions options) {
        return generate(images, prompt, options, null, null);
    }

    /**
     * A free prompt, streaming text to {@code stream} as it is produced; {@code cancel} (may be null)
     * stops it from another thread.
     */
    public Generation generate(ImageEmbedding images, String prompt, GenerationOptions options, TextStream stream,
                               CancellationToken cancel) {
        return generate(images, prompt, options, stream, cancel, null);
    }

    /** As above, also handing each step's logits to {@code logits} (for debugging and checks). */
    public Generation generate(ImageEmbedding images, String prompt, GenerationOptions options, TextStream stream,
                               CancellationToken cancel, StepLogits logits) {
        Objects.requireNonNull(images, "images");
        requireText("prompt", prompt);
        Objects.requireNonNull(options, "options");
        if (images.hiddenSize() != config.text().hiddenSize() || images.tokensPerImage() != config.imageTokens()) {
            throw new InvalidArgumentException("images: embedding was made by a different model ("
                    + images.tokensPerImage() + " x " + images.hiddenSize() + " per image)");
        }
        return withModel(() -> {
            int[] text = promptTokens(prompt);
            DecoderInput input = decoder.input(images.rowsShared(), images.rowCount(), text);
            StreamingDecoder streaming = stream == null ? null : new StreamingDecoder(tokenizer, stream);
            CancellationToken call = CancellationToken.childOf(cancel);
            running.add(call);
            GenerationResult r;
            try {
                r = decoder.generate(input, options,
                        streaming == null ? (i, id) -> { } : streaming, call, logits == null ? null : logits::onStep);
            } finally {
                running.remove(call);
            }
            if (closed) {
                throw new PaliGemmaException("model " + directory + " was closed during generation");
            }
            int[] ids = r.tokenArray();
            return new Generation(tokenizer.decode(ids), r.tokens(), r.stopReason(), r.prefixLength(),
                    Duration.ofNanos(images.encodeNanos()), r.prefillTime(), r.decodeTime());
        });
    }

    /** {@code <bos> prompt "\n"} as token ids (the image tokens are added by the decoder input). */
    public int[] promptTokens(String prompt) {
        int[] body = tokenizer.encode(prompt + "\n");
        int[] ids = new int[body.length + 1];
        ids[0] = config.bosTokenId();
        System.arraycopy(body, 0, ids, 1, body.length);
        return ids;
    }

    private static String lang(String lang) {
        if (lang == null || lang.isBlank()) {
            return "en";
        }
        if (!lang.strip().matches("[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*")) {
            throw new InvalidArgumentException("lang: '" + lang + "' is not a language code such as en, de, zh");
        }
        return lang.strip();
    }

    private static void requireText(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidArgumentException(name + ": must not be empty");
        }
    }

    /**
     * Runs one model call: refuses it once closed, checks that no weight file changed since loading
     * (a read from a truncated mapping can kill the JVM inside vectorised code), and turns a fault on
     * the mapping into a {@link dev.paligemma.core.CheckpointException} naming the file.
     */
    private <T> T withModel(java.util.function.Supplier<T> body) {
        active.incrementAndGet();
        try {
            if (closed) {
                throw new PaliGemmaException("model " + directory + " is closed");
            }
            return checkpoint.guard(body);
        } finally {
            active.decrementAndGet();
        }
    }

    /**
     * Unmaps the weights. Generations still running are cancelled and fail with a
     * {@link PaliGemmaException}; close waits for them to stop before unmapping. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (CancellationToken t : running) {
            t.cancel();
        }
        long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
        while (active.get() > 0 && System.nanoTime() - deadline < 0) {
            for (CancellationToken t : running) {
                t.cancel();
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        checkpoint.close();
    }
}
