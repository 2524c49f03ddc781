package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.Request;
import dev.cm3leon.retrieval.ClipEmbedder;
import dev.cm3leon.retrieval.LuceneMemoryBank;
import dev.cm3leon.retrieval.Retriever;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** {@code --retrieve K [--bank DIR]}: prepend K documents from a memory bank, embedded by the model's CLIP. */
final class RetrievalMixin {
    static final String DEFAULT_BANK = "memory-bank";

    @Option(names = "--retrieve", paramLabel = "K", description = "prepend K retrieved documents (CM3Leon's retrieval augmentation)")
    Integer k;

    @Option(names = "--bank", paramLabel = "DIR", description = "memory bank folder (default: the model's memory-bank/)")
    Path bank;

    @Option(names = "--clip", paramLabel = "DIR", description = "CLIP folder for the queries (default: the model's clip/)")
    Path clip;

    /** Opened resources of one command run. */
    static final class Opened implements AutoCloseable {
        private final LuceneMemoryBank bank;
        private final ClipEmbedder ownClip;
        private final Retriever retriever;
        private final int k;

        Opened(LuceneMemoryBank bank, ClipEmbedder ownClip, Retriever retriever, int k) {
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

    Opened open(Cm3Leon model) {
        if (k == null) return new Opened(null, null, null, 0);
        if (k < 1) throw new Cm3LeonException("--retrieve must be ≥ 1, got " + k);
        Path bankDir = bank != null ? bank : model.folder().resolve(DEFAULT_BANK);
        if (!Files.isDirectory(bankDir)) {
            throw new Cm3LeonException("no memory bank at " + bankDir + " (build one with `cm3leon memory add`, or pass --bank)");
        }
        ClipEmbedder own = clip == null ? null : ClipEmbedder.load(clip);
        ClipEmbedder embedder = own != null ? own : model.clip().orElseThrow(() -> new Cm3LeonException(
                "--retrieve needs a CLIP model: the checkpoint has no clip/ folder; pass --clip DIR"));
        LuceneMemoryBank memory = LuceneMemoryBank.openReadOnly(bankDir);
        return new Opened(memory, own, new Retriever(embedder, memory), k);
    }
}
