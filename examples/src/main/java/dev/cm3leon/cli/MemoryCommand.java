package dev.cm3leon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.retrieval.ClipEmbedder;
import dev.cm3leon.retrieval.Document;
import dev.cm3leon.retrieval.DocumentImage;
import dev.cm3leon.retrieval.Embedder;
import dev.cm3leon.retrieval.LuceneMemoryBank;
import dev.cm3leon.retrieval.MemoryBank;
import dev.cm3leon.retrieval.MemoryEntry;
import dev.cm3leon.retrieval.Retriever;
import dev.cm3leon.retrieval.ScoredDocument;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code cm3leon memory add|search|stats}: build and query a retrieval memory bank of image–caption pairs. */
@Command(name = "memory", mixinStandardHelpOptions = true,
        description = "Build and query a retrieval memory bank of CLIP embeddings (a Lucene HNSW folder, or a SolrCloud collection).",
        subcommands = {MemoryCommand.Add.class, MemoryCommand.Search.class, MemoryCommand.Stats.class})
public final class MemoryCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = {"Embed image–caption pairs with CLIP and add them to a bank (created if absent).",
                    "The captions file is JSON Lines: {\"id\": …, \"caption\": …, \"image\": \"relative/path.jpg\"} (id optional,",
                    "caption or image may be absent). Pairs whose image cannot be read are skipped and listed; the rest are added.",
                    "Each batch is committed, so an interrupted run keeps what it had added."})
    static final class Add implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Option(names = "--bank", required = true, paramLabel = "DIR|solr://…", description = BankLocation.DESCRIPTION + ".")
        String bank;

        @Option(names = "--clip", required = true, paramLabel = "DIR", description = "HF CLIP folder.")
        Path clip;

        @Option(names = "--shards", defaultValue = "1", paramLabel = "N", description = "Shards of a new Solr collection (default: ${DEFAULT-VALUE}).")
        int shards;

        @Option(names = "--replicas", defaultValue = "1", paramLabel = "N", description = "Replicas per shard of a new Solr collection (default: ${DEFAULT-VALUE}).")
        int replicas;

        @Option(names = "--captions", required = true, paramLabel = "FILE", description = "JSON Lines file of pairs.")
        Path captions;

        @Option(names = "--images", paramLabel = "DIR", description = "Folder image paths are relative to (default: the captions file's folder).")
        Path images;

        @Option(names = "--image-refs", description = "Store each image's path instead of its bytes (smaller bank; the files must stay).")
        boolean imageRefs;

        @Option(names = "--batch", defaultValue = "256", paramLabel = "N", description = "Pairs per embedded and committed batch (default: ${DEFAULT-VALUE}).")
        int batch;

        @Override
        public Integer call() throws IOException {
            if (batch < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--batch must be positive");
            Path base = images != null ? images : captions.toAbsolutePath().getParent();
            try (ClipEmbedder embedder = ClipEmbedder.load(clip);
                 MemoryBank memory = new BankLocation(bank).openForAdding(embedder.dimension(), shards, replicas)) {
                Ingested r = ingestFile(embedder, memory, captions, base, imageRefs, batch);
                PrintWriter out = spec.commandLine().getOut();
                out.printf("added %d documents to %s (%d in the bank)%n", r.added(), bank, r.total());
                out.flush();
                return r.added() == 0 && !r.skipped().isEmpty() ? 1 : 0;
            }
        }

        record Ingested(long added, long total, List<String> skipped) {
        }

        /**
         * Embeds the pairs of a captions file in batches (each committed) into the bank, with a
         * progress bar on stderr; lines that do not parse or whose image does not decode are skipped and listed there.
         */
        static Ingested ingestFile(ClipEmbedder embedder, MemoryBank memory, Path captions, Path base, boolean imageRefs, int batch)
                throws IOException {
            List<String> lines;
            try (Stream<String> s = Files.lines(captions, StandardCharsets.UTF_8)) {
                lines = s.toList();
            }
            List<String> skipped = new ArrayList<>();
            ObjectMapper json = new ObjectMapper();
            long added = 0;
            ProgressBar progress = new ProgressBar(new java.io.PrintWriter(System.err, true), "embedding", "documents");
            List<Pair> pending = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (!line.isEmpty()) {
                    try {
                        pending.add(Pair.parse(json.readTree(line), i + 1, base, imageRefs));
                    } catch (IOException | RuntimeException e) {
                        String why = String.valueOf(e.getMessage()).lines().findFirst().orElse(e.toString());
                        skipped.add("line " + (i + 1) + ": " + why);
                    }
                }
                if (pending.size() == batch || (i == lines.size() - 1 && !pending.isEmpty())) {
                    added += ingest(embedder, memory, pending);
                    pending.clear();
                }
                progress.update(i + 1, lines.size());
            }
            progress.finish(lines.size(), lines.size());
            if (!skipped.isEmpty()) {
                System.err.printf("skipped %d:%n", skipped.size());
                skipped.forEach(s -> System.err.println("  " + s));
            }
            return new Ingested(added, memory.size(), List.copyOf(skipped));
        }

        private static long ingest(ClipEmbedder embedder, MemoryBank memory, List<Pair> pairs) {
            List<String> texts = pairs.stream().filter(p -> p.caption != null).map(p -> p.caption).toList();
            List<BufferedImage> pixels = pairs.stream().filter(p -> p.pixels != null).map(p -> p.pixels).toList();
            List<float[]> textEmb = embedder.embedTexts(texts), imageEmb = embedder.embedImages(pixels);
            List<MemoryEntry> entries = new ArrayList<>(pairs.size());
            int t = 0, im = 0;
            for (Pair p : pairs) {
                float[] e = Embedder.combine(p.caption != null ? textEmb.get(t++) : null, p.pixels != null ? imageEmb.get(im++) : null);
                entries.add(new MemoryEntry(Document.of(p.id, p.caption, p.stored), e));
            }
            memory.add(entries);
            return entries.size();
        }
    }

    /** One line of the captions file, its image decoded (a pair whose image does not decode is refused). */
    private record Pair(String id, String caption, BufferedImage pixels, DocumentImage stored) {
        static Pair parse(JsonNode n, int line, Path base, boolean refs) throws IOException {
            if (n == null || !n.isObject()) throw new Cm3LeonException("not a JSON object");
            String caption = n.hasNonNull("caption") ? n.get("caption").asText() : null;
            String image = n.hasNonNull("image") ? n.get("image").asText() : null;
            if (caption == null && image == null) throw new Cm3LeonException("neither caption nor image");
            String id = n.hasNonNull("id") ? n.get("id").asText() : image != null ? image : "line-" + line;
            if (image == null) return new Pair(id, caption, null, null);
            Path file = base.resolve(image).toAbsolutePath().normalize();
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (IOException e) {
                throw new Cm3LeonException(id + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
            }
            BufferedImage pixels;
            try {
                pixels = ImageIO.read(new ByteArrayInputStream(bytes));
            } catch (IOException | RuntimeException e) {
                pixels = null;
            }
            if (pixels == null) throw new Cm3LeonException(id + ": " + file + " is not a decodable image");
            return new Pair(id, caption, pixels, refs ? DocumentImage.reference(file) : DocumentImage.of(bytes));
        }
    }

    @Command(name = "search", mixinStandardHelpOptions = true,
            description = "Retrieve documents for a text or image query: MIPS candidates, near-copies (> 0.9) and duplicates dropped.")
    static final class Search implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Option(names = "--bank", required = true, paramLabel = "DIR|solr://…", description = BankLocation.DESCRIPTION + ".")
        String bank;

        @Option(names = "--clip", required = true, paramLabel = "DIR", description = "HF CLIP folder (the one the bank was built with).")
        Path clip;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Query query;

        static final class Query {
            @Option(names = "--text", paramLabel = "STRING", description = "Text query.")
            String text;

            @Option(names = "--image", paramLabel = "FILE", description = "Image query.")
            Path image;
        }

        @Option(names = "-k", defaultValue = "4", description = "Documents to return (default: ${DEFAULT-VALUE}).")
        int k;

        @Option(names = "--dropout", defaultValue = "0", description = "Fraction of query tokens dropped (CM3Leon uses 0.2; default: ${DEFAULT-VALUE}).")
        double dropout;

        @Option(names = "--seed", defaultValue = "0", description = "Seed of the query dropout (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--ef-search", paramLabel = "N", description = "HNSW candidates per segment, or per shard of a Solr "
                + "collection (default: the library's, sized for the worst case; real embeddings reach the same recall with a few hundred).")
        Integer efSearch;

        @Option(names = "--keep-near-copies", description = RetrievalMixin.KEEP_NEAR_COPIES + ".")
        boolean keepNearCopies;

        @Override
        public Integer call() {
            try (ClipEmbedder embedder = ClipEmbedder.load(clip); MemoryBank memory = new BankLocation(bank).openForSearching(efSearch)) {
                Retriever.Options filters = keepNearCopies ? Retriever.Options.DEFAULTS.keepingNearCopies() : Retriever.Options.DEFAULTS;
                Retriever retriever = new Retriever(embedder, memory, filters.withQueryDropout(dropout, seed));
                Document q = query.text != null ? Document.ofText("query", query.text)
                        : Document.of("query", null, DocumentImage.of(EmbedCommand.readImage(query.image)));
                List<ScoredDocument> hits = retriever.retrieve(q, k);
                PrintWriter out = spec.commandLine().getOut();
                if (hits.isEmpty()) out.println("no documents (the bank is empty, or every candidate was filtered out)");
                for (int i = 0; i < hits.size(); i++) {
                    ScoredDocument h = hits.get(i);
                    String image = h.document().image().map(im -> switch (im) {
                        case DocumentImage.FileReference ref -> ref.path().toString();
                        case DocumentImage.Encoded enc -> "(" + enc.bytes().length + " bytes stored)";
                    }).orElse("-");
                    out.printf("%d\t%.4f\t%s\t%s\t%s%n", i + 1, h.score(), h.id(), h.document().text().orElse("-"), image);
                }
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "stats", mixinStandardHelpOptions = true, description = "Size, dimension, format and disk use of a bank.")
    static final class Stats implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Option(names = "--bank", required = true, paramLabel = "DIR|solr://…", description = BankLocation.DESCRIPTION + ".")
        String bank;

        @Override
        public Integer call() throws IOException {
            BankLocation location = new BankLocation(bank);
            if (location.isSolr()) {
                try (MemoryBank memory = location.openForSearching(null)) {
                    PrintWriter out = spec.commandLine().getOut();
                    out.printf("bank:           %s (SolrCloud)%n", bank);
                    out.printf("dimension:      %d%n", memory.dimension());
                    out.printf("documents:      %d%n", memory.size());
                    out.flush();
                }
                return 0;
            }
            Path bank = location.folder();
            try (LuceneMemoryBank memory = LuceneMemoryBank.openReadOnly(bank); Stream<Path> files = Files.walk(bank)) {
                long bytes = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
                PrintWriter out = spec.commandLine().getOut();
                out.printf("bank:           %s%n", bank.toAbsolutePath());
                out.printf("format version: %d%n", memory.formatVersion());
                out.printf("dimension:      %d%n", memory.dimension());
                out.printf("documents:      %d%n", memory.size());
                out.printf("segments:       %d%n", memory.segmentCount());
                out.printf("disk:           %.1f MiB%n", bytes / (1024.0 * 1024.0));
                out.flush();
            }
            return 0;
        }
    }
}
