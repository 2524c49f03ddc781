package dev.cm3leon;

import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.engine.DecoderWeights;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCacheBudget;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.engine.cpu.CpuEngine;
import dev.cm3leon.testing.Fixtures;
import dev.cm3leon.tokenizer.TextTokenizer;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The chameleon fixture model with a character-level tokenizer over its text ids (40–127) and a stand-in image codec
 * (8×8 grid, 32 codes), so request mechanics can be tested on real weights before a full checkpoint is at hand.
 */
final class FixtureModels {
    static final String CHARS = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,?!'-:;";

    private FixtureModels() {
    }

    /** Counts caches alive, to prove requests return their KV memory. */
    static final class CountingEngine implements Engine {
        final Engine inner;
        final AtomicInteger openCaches = new AtomicInteger();

        CountingEngine(Engine inner) {
            this.inner = inner;
        }

        public dev.cm3leon.checkpoint.ModelConfig config() {
            return inner.config();
        }

        public KvCache newCache(int capacity) {
            return newCaches(capacity).getFirst();
        }

        @Override
        public List<KvCache> newCaches(int... capacities) {
            List<KvCache> caches = inner.newCaches(capacities);
            openCaches.addAndGet(caches.size());
            return caches.stream().<KvCache>map(c -> new CountedCache(c, openCaches)).toList();
        }

        public float[][] forward(List<StreamStep> steps) {
            return inner.forward(unwrap(steps));
        }

        @Override
        public float[][] forward(List<StreamStep> steps, int[] groupOfStep) {
            return inner.forward(unwrap(steps), groupOfStep);
        }

        private static List<StreamStep> unwrap(List<StreamStep> steps) {
            return steps.stream().map(s -> new StreamStep(((CountedCache) s.cache()).inner, s.tokens(), s.logits())).toList();
        }

        public String backendName() {
            return "cpu";
        }

        public void close() {
            inner.close();
        }
    }

    /** A cache that tells its engine when it is closed. */
    static final class CountedCache implements KvCache {
        final KvCache inner;
        private final AtomicInteger open;
        private boolean closed;

        CountedCache(KvCache inner, AtomicInteger open) {
            this.inner = inner;
            this.open = open;
        }

        public int length() {
            return inner.length();
        }

        public int capacity() {
            return inner.capacity();
        }

        public void truncate(int length) {
            inner.truncate(length);
        }

        public synchronized void close() {
            if (!closed) open.decrementAndGet();
            closed = true;
            inner.close();
        }
    }

    static String tokenizerJson() {
        StringBuilder vocab = new StringBuilder();
        String[] specials = {"<s>", "<pad>", "</s>", "<unk>"};
        for (int i = 0; i < specials.length; i++) vocab.append('"').append(specials[i]).append("\":").append(i).append(',');
        for (int i = 0; i < 32; i++) vocab.append("\"IMG").append(i).append("\":").append(4 + i).append(',');
        vocab.append("\"<eoss>\":36,\"<racm3:break>\":37,\"<image>\":38,\"<reserved08706>\":39");
        for (int i = 0; i < CHARS.length(); i++) {
            char ch = CHARS.charAt(i);
            vocab.append(",\"").append(ch == '\'' ? "'" : String.valueOf(ch)).append("\":").append(40 + i);
        }
        String added = """
                [{"id":0,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                 {"id":2,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                 {"id":36,"content":"<eoss>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                 {"id":37,"content":"<racm3:break>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                 {"id":38,"content":"<image>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                 {"id":39,"content":"<reserved08706>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}]""";
        return "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":" + added
                + ",\"normalizer\":null,\"pre_tokenizer\":null,\"post_processor\":null,\"decoder\":{\"type\":\"Fuse\"},"
                + "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":\"<unk>\",\"continuing_subword_prefix\":null,"
                + "\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false,\"vocab\":{" + vocab + "},\"merges\":[]}}";
    }

    /** Codes from the mean brightness of each 4×4 cell of a 32×32 image; decoding paints each cell by its code. */
    static final class StandInCodec implements ImageCodec {
        public int gridSize() {
            return 8;
        }

        public int codebookSize() {
            return 32;
        }

        public int[] encode(BufferedImage image) {
            return encode(image, 8, 8);
        }

        public int pixelsPerCode() {
            return 4;
        }

        /** Cell (gx, gy) of a {@code rows × cols} grid is the image's 4×4 block there (edge pixels repeated). */
        public int[] encode(BufferedImage image, int rows, int cols) {
            int[] codes = new int[rows * cols];
            for (int gy = 0; gy < rows; gy++) {
                for (int gx = 0; gx < cols; gx++) {
                    int sum = 0;
                    for (int y = 0; y < 4; y++) {
                        for (int x = 0; x < 4; x++) {
                            int px = Math.min(image.getWidth() - 1, gx * 4 + x), py = Math.min(image.getHeight() - 1, gy * 4 + y);
                            int rgb = image.getRGB(px, py);
                            sum += ((rgb >> 16) & 255) + ((rgb >> 8) & 255) + (rgb & 255);
                        }
                    }
                    codes[gy * cols + gx] = Math.min(31, sum / (16 * 3) / 8);
                }
            }
            return codes;
        }

        public boolean canDecode() {
            return true;
        }

        public BufferedImage decode(int[] codes, int gridH, int gridW) {
            BufferedImage img = new BufferedImage(gridW * 4, gridH * 4, BufferedImage.TYPE_INT_RGB);
            for (int i = 0; i < codes.length; i++) {
                int v = codes[i] * 8;
                for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) img.setRGB((i % gridW) * 4 + x, (i / gridW) * 4 + y, v * 0x010101);
            }
            return img;
        }
    }

    record Loaded(Cm3Leon model, CountingEngine engine) {
        /** Bytes the running requests' KV caches hold now. */
        long kvBytesInUse() {
            return ((CpuEngine) engine.inner).kvCacheBudget().reservedBytes();
        }
    }

    /**
     * The fixture's config with three text ids renamed to CM3 sentinels ({@code <sentinel:0>} = 126,
     * {@code <sentinel:1>} = 125, {@code <sentinel:end>} = 127), written into {@code dir}, so infilling can run.
     */
    static Path configWithSentinels(Path dir) {
        try {
            ObjectMapper json = new ObjectMapper();
            ObjectNode c = (ObjectNode) json.readTree(Fixtures.path("chameleon/model/config.json").toFile());
            ObjectNode vm = (ObjectNode) c.get("vocabulary_map");
            vm.remove("txt126");
            vm.remove("txt127");
            vm.remove("txt125");
            vm.put("<sentinel:1>", 125);
            vm.put("<sentinel:0>", 126);
            vm.put("<sentinel:end>", 127);
            Path file = dir.resolve("config.json");
            json.writeValue(file.toFile(), c);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Loaded load() {
        return load(Fixtures.path("chameleon/model").resolve("config.json"));
    }

    /**
     * With a config of one's own and the task templates of {@code templatesFolder} (its {@code cm3leon-templates.json}:
     * an image layout, defaults, prompts).
     */
    static Loaded load(Path configJson, Path templatesFolder) {
        ModelConfig config = ModelConfig.read(configJson);
        SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(Fixtures.path("chameleon/model"));
        CountingEngine engine = new CountingEngine(new CpuEngine(DecoderWeights.from(ck, config),
                KvCacheBudget.of(EngineOptions.defaults())));
        TextTokenizer tok = TextTokenizer.fromJson(tokenizerJson().getBytes(StandardCharsets.UTF_8), "test tokenizer.json");
        return new Loaded(Cm3Leon.assemble(templatesFolder, config, ck, engine, Optional.of(tok), Optional.of(new StandInCodec())),
                engine);
    }

    /** With a config of one's own (e.g. one that names sentinel tokens). */
    static Loaded load(Path configJson) {
        return load(configJson, KvCacheBudget.of(EngineOptions.defaults()));
    }

    /** With a KV cache budget of one's own. */
    static Loaded load(Path configJson, KvCacheBudget budget) {
        Path folder = Fixtures.path("chameleon/model");
        ModelConfig config = ModelConfig.read(configJson);
        SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(folder);
        CountingEngine engine = new CountingEngine(new CpuEngine(DecoderWeights.from(ck, config), budget));
        TextTokenizer tok = TextTokenizer.fromJson(tokenizerJson().getBytes(StandardCharsets.UTF_8), "test tokenizer.json");
        return new Loaded(Cm3Leon.assemble(folder, config, ck, engine, Optional.of(tok), Optional.of(new StandInCodec())), engine);
    }
}
