package dev.cm3leon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.Request;
import dev.cm3leon.retrieval.ClipEmbedder;
import dev.cm3leon.retrieval.LuceneMemoryBank;
import dev.cm3leon.retrieval.MemoryBank;
import dev.cm3leon.retrieval.Retriever;
import picocli.CommandLine.Option;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.Locale;

/** {@code --retrieve K [--bank DIR]}: prepend K documents from a memory bank, embedded by the model's CLIP. */
final class RetrievalMixin {
    static final String DEFAULT_BANK = "memory-bank";
    /** Image–caption pairs a model folder may ship (the demo model does) for its default bank, built on first use. */
    static final String SHIPPED_DOCUMENTS = "memory/documents.jsonl";
    /**
     * How the model's own bank is best searched, beside its pairs: {@code {"keep_near_copies": true}} where prompts
     * repeat the bank's captions word for word (the demo model's), so the document that matches a prompt is found.
     */
    static final String SHIPPED_RETRIEVAL = "memory/retrieval.json";
    private static final Logger log = LoggerFactory.getLogger(RetrievalMixin.class);
    static final String KEEP_NEAR_COPIES = "keep documents that score above 0.9 against the query (the Retriever drops them "
            + "by default, as CM3Leon's training does); with a bank whose captions follow the prompts' template, as the "
            + "demo model's, the document that matches the prompt scores near 1";

    @Option(names = "--retrieve", paramLabel = "K", description = "prepend K retrieved documents (CM3Leon's retrieval augmentation)")
    Integer k;

    @Option(names = "--bank", paramLabel = "DIR|solr://…", description = BankLocation.DESCRIPTION + " (default: the model's memory-bank/)")
    String bank;

    @Option(names = "--clip", paramLabel = "DIR", description = "CLIP folder for the queries (default: the model's clip/)")
    Path clip;

    @Option(names = "--ef-search", paramLabel = "N", description = "HNSW candidates per segment, or per shard of a Solr collection (default: the library's, "
            + "sized for the worst case; real embeddings reach the same recall with a few hundred)")
    Integer efSearch;

    @Option(names = "--keep-near-copies", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = KEEP_NEAR_COPIES + "; --keep-near-copies=false drops them (default: what the model's "
                    + SHIPPED_RETRIEVAL + " says for its own bank, else false)")
    Boolean keepNearCopies;

    /** Opened resources of one command run. */
    static final class Opened implements AutoCloseable {
        private final MemoryBank bank;
        private final ClipEmbedder ownClip;
        private final Retriever retriever;
        private final int k;

        Opened(MemoryBank bank, ClipEmbedder ownClip, Retriever retriever, int k) {
            this.bank = bank;
            this.ownClip = ownClip;
            this.retriever = retriever;
            this.k = k;
        }

        <R extends Request<?, R>> R apply(R request) {
            return retriever == null ? request : request.retrieve(retriever.forRequests(), k);
        }

        @Override
        public void close() {
            if (bank != null) bank.close();
            if (ownClip != null) ownClip.close();
        }
    }

    /**
     * Builds the model's default bank from the pairs it ships, into a sibling folder that is renamed into place when
     * complete: an interrupted build leaves no half bank behind (the next run starts again).
     */
    private static void buildShippedBank(ClipEmbedder embedder, Path documents, Path bankDir) {
        Path partial = bankDir.resolveSibling(bankDir.getFileName() + ".partial-" + ProcessHandle.current().pid());
        Path stale = bankDir.resolveSibling(bankDir.getFileName() + ".stale-" + ProcessHandle.current().pid());
        log.info("building the memory bank {} from {} (once)", bankDir, documents);
        try {
            MemoryCommand.Add.Ingested r;
            try (LuceneMemoryBank memory = LuceneMemoryBank.open(partial, embedder.dimension())) {
                r = MemoryCommand.Add.ingestFile(embedder, memory, documents, documents.getParent(), false, 256);
            }
            if (r.added() == 0) throw new Cm3LeonException(documents + ": no document could be added");
            if (Files.isDirectory(bankDir)) Files.move(bankDir, stale, StandardCopyOption.ATOMIC_MOVE);   // a stale bank
            Files.move(partial, bankDir, StandardCopyOption.ATOMIC_MOVE);
            deleteQuietly(stale);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(partial);
            restore(stale, bankDir);
            if (Files.isDirectory(bankDir)) {   // another process built it meanwhile, or a stale one stays
                log.warn("could not build the memory bank {} ({}); using the one there", bankDir, e.getMessage());
                return;
            }
            throw new Cm3LeonException("cannot build the memory bank " + bankDir + " from " + documents + ": "
                    + e.getMessage() + " (build it elsewhere with `cm3leon memory add`, and pass --bank)", e);
        }
    }

    /**
     * A default bank built before its documents or the CLIP that embeds them last changed (a model folder updated in
     * place) is built again: vectors of another embedder would be searched without error, and found wrong.
     */
    static boolean builtBefore(Path bankDir, Path documents, Path clipFolder) {
        try {
            FileTime built = Files.getLastModifiedTime(bankDir);
            if (Files.getLastModifiedTime(documents).compareTo(built) > 0) return true;
            for (String file : new String[]{"config.json", "model.safetensors"}) {
                Path p = clipFolder.resolve(file);
                if (Files.isRegularFile(p) && Files.getLastModifiedTime(p).compareTo(built) > 0) return true;
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /** A stale bank set aside for a replacement that then failed goes back in place. */
    private static void restore(Path stale, Path bankDir) {
        if (!Files.isDirectory(stale) || Files.exists(bankDir)) return;
        try {
            Files.move(stale, bankDir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.warn("could not put the previous memory bank {} back in place: {}", stale, e.getMessage());
        }
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) return;
        try {
            BenchCommand.deleteTree(dir);
        } catch (IOException | UncheckedIOException e) {
            log.warn("could not remove the partial memory bank {}: {}", dir, e.getMessage());
        }
    }

    /** The model folder's choice for its own bank; false without the file. A malformed file is an error, not a default. */
    static boolean shippedKeepsNearCopies(Path file) {
        if (!Files.isRegularFile(file)) return false;
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new Cm3LeonException(file + ": not valid JSON (" + e.getMessage() + ")", e);
        }
        JsonNode keep = root == null ? null : root.get("keep_near_copies");
        if (keep == null || !keep.isBoolean()) {
            String found = root == null || root.isMissingNode() ? "an empty file"
                    : !root.isObject() ? "a JSON " + root.getNodeType().name().toLowerCase(Locale.ROOT)
                    : keep == null ? "an object without it" : keep.toString();
            throw new Cm3LeonException(file + ": field \"keep_near_copies\" must be true or false, found " + found);
        }
        return keep.booleanValue();
    }

    Opened open(Cm3Leon model) {
        if (k == null) return new Opened(null, null, null, 0);
        if (k < 1) throw new Cm3LeonException("--retrieve must be ≥ 1, got " + k);
        // read first: a malformed file stops the command before a bank is built
        boolean keep = keepNearCopies != null ? keepNearCopies
                : bank == null && shippedKeepsNearCopies(model.folder().resolve(SHIPPED_RETRIEVAL));
        BankLocation location = new BankLocation(bank != null ? bank : model.folder().resolve(DEFAULT_BANK).toString());
        Path documents = model.folder().resolve(SHIPPED_DOCUMENTS);
        Path clipFolder = clip != null ? clip : model.folder().resolve(Cm3Leon.CLIP_FOLDER);
        Path bankDir = location.isSolr() ? null : location.folder();
        boolean build = bank == null && Files.isRegularFile(documents)
                && (!Files.isDirectory(bankDir) || builtBefore(bankDir, documents, clipFolder));
        if (bankDir != null && !Files.isDirectory(bankDir) && !build) {
            throw new Cm3LeonException("no memory bank at " + bankDir + " (build one with `cm3leon memory add`, or pass --bank)");
        }
        ClipEmbedder own = clip == null ? null : ClipEmbedder.load(clip);
        ClipEmbedder embedder = own != null ? own : model.clip().orElseThrow(() -> new Cm3LeonException(
                "--retrieve needs a CLIP model: the checkpoint has no clip/ folder; pass --clip DIR"));
        if (build) buildShippedBank(embedder, documents, bankDir);
        MemoryBank memory = location.openForSearching(efSearch);
        Retriever.Options retrieval = keep ? Retriever.Options.DEFAULTS.keepingNearCopies() : Retriever.Options.DEFAULTS;
        return new Opened(memory, own, new Retriever(embedder, memory, retrieval), k);
    }
}
