package dev.cm3leon.retrieval;

import dev.cm3leon.engine.cpu.CpuOps;
import dev.cm3leon.engine.cpu.Parallel;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene103.Lucene103Codec;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.LockObtainFailedException;
import org.apache.lucene.util.BytesRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/**
 * The embedded persistent memory bank: a Lucene index in a folder, with an HNSW graph over the embeddings
 * ({@link KnnFloatVectorField}, {@link VectorSimilarityFunction#MAXIMUM_INNER_PRODUCT}) and each document's text and
 * image (encoded bytes, or a file path) stored beside it.
 *
 * <ul>
 *   <li>Every {@link #add}, {@link #update} and {@link #delete} commits before it returns: a crash loses at most the
 *       call in progress, and the bank reopens at its last commit.</li>
 *   <li>One writer (Lucene's lock file refuses a second process); any number of concurrent searches, each on a
 *       consistent snapshot that a write refreshes ({@link SearcherManager}).</li>
 *   <li>The marker file records the format version and the dimension: a bank from a newer format and an embedding
 *       of another dimension are refused with a message that says so.</li>
 *   <li>An empty bank returns no results. Scores are the exact inner products of the returned candidates.</li>
 * </ul>
 */
public final class LuceneMemoryBank implements MemoryBank {
    private static final Logger log = LoggerFactory.getLogger(LuceneMemoryBank.class);
    static final String ID = "id", VECTOR = "vector", TEXT = "text", IMAGE = "image", IMAGE_PATH = "image_path";

    /**
     * HNSW parameters. {@code maxConn} (M) and {@code beamWidth} shape the graph when documents are written;
     * {@code efSearch} is the candidate list a search keeps per segment (at least k). {@code writeBufferMB}
     * is the indexing memory (on the Java heap) that collects documents before a segment is written: each flushed
     * segment has its own graph, and many small segments are merged in the background, which rebuilds their graphs.
     * To bulk-load millions of documents, raise it (and the heap) so that one {@link #add} call fills one segment per
     * indexing thread, about 2.5 KB per 512-d document; Lucene caps one thread's buffer at 1945 MB.
     *
     * <p>The defaults (M 16, beamWidth 100, efSearch 48 000) are sized for the worst case: on uniformly random 512-d
     * unit vectors, where nothing clusters and a graph search must visit much of the bank, they reach recall@10 ≥ 0.95
     * against exact search at 100k and at 1M documents (0.965 at 1M; {@code MemoryBankBenchmark}, README). There an
     * exact scan is faster, and a graph index only pays for persistence and concurrent readers. Real CLIP embeddings
     * cluster strongly: an efSearch of a few hundred usually gives the same recall in a small fraction of the time, so
     * set it from a measurement on your own bank. Candidate lists that reach a segment's size make Lucene scan that
     * segment exactly.
     */
    public record HnswOptions(int maxConn, int beamWidth, int efSearch, int writeBufferMB) {
        public static final HnswOptions DEFAULTS = new HnswOptions(16, 100, 48000);

        public HnswOptions {
            int maxM = Lucene99HnswVectorsFormat.MAXIMUM_MAX_CONN, maxBeam = Lucene99HnswVectorsFormat.MAXIMUM_BEAM_WIDTH;
            if (maxConn < 2 || maxConn > maxM) throw new IllegalArgumentException("maxConn must be 2 to " + maxM + ", found " + maxConn);
            if (beamWidth < 1 || beamWidth > maxBeam) throw new IllegalArgumentException("beamWidth must be 1 to " + maxBeam + ", found " + beamWidth);
            if (efSearch < 1) throw new IllegalArgumentException("efSearch must be at least 1, found " + efSearch);
            if (writeBufferMB < 1) throw new IllegalArgumentException("writeBufferMB must be at least 1, found " + writeBufferMB);
        }

        /** The graph and search parameters with the default 256 MB write buffer. */
        public HnswOptions(int maxConn, int beamWidth, int efSearch) {
            this(maxConn, beamWidth, efSearch, 256);
        }

        public HnswOptions withWriteBufferMB(int mb) {
            return new HnswOptions(maxConn, beamWidth, efSearch, mb);
        }

        public HnswOptions withEfSearch(int ef) {
            return new HnswOptions(maxConn, beamWidth, ef, writeBufferMB);
        }
    }

    /** Threads that help a merge insert into one graph; daemon, idle ones expire. */
    private static final ExecutorService MERGE_WORKERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "cm3leon-bank-merge");
        t.setDaemon(true);
        return t;
    });

    private final Path folder;
    private final int dimension;
    private final HnswOptions options;
    private final Directory directory;
    private final IndexWriter writer;            // null when opened read-only
    private final SearcherManager searchers;
    private final Object writeLock = new Object();
    private volatile boolean closed;

    private LuceneMemoryBank(Path folder, int dimension, HnswOptions options, boolean readOnly) throws IOException {
        this.folder = folder;
        this.dimension = dimension;
        this.options = options;
        this.directory = FSDirectory.open(folder.resolve("index"));
        try {
            if (readOnly) {
                if (!DirectoryReader.indexExists(directory)) throw new MemoryBankException(folder + ": the memory bank has no index yet");
                this.writer = null;
                this.searchers = new SearcherManager(directory, null);
            } else {
                this.writer = new IndexWriter(directory, writerConfig(options));
                writer.commit();                          // a new bank is a valid (empty) index at once
                this.searchers = new SearcherManager(writer, null);
            }
        } catch (LockObtainFailedException e) {
            directory.close();
            throw new MemoryBankException(folder + ": the memory bank is open for writing elsewhere; "
                    + "open it read-only to search it meanwhile (" + e.getMessage() + ")", e);
        } catch (IOException | RuntimeException e) {
            directory.close();
            throw e;
        }
    }

    private static IndexWriterConfig writerConfig(HnswOptions o) {
        // The codec name stays Lucene103's, so any Lucene reader opens the index; only the writer's graph
        // parameters differ from the defaults.
        var codec = new Lucene103Codec() {
            @Override
            public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
                // Merges rebuild graphs, the slowest part of a bulk load's aftermath: they use every core.
                int workers = Parallel.threads();
                return workers > 1
                        ? new Lucene99HnswVectorsFormat(o.maxConn(), o.beamWidth(), workers, MERGE_WORKERS)
                        : new Lucene99HnswVectorsFormat(o.maxConn(), o.beamWidth());
            }
        };
        return new IndexWriterConfig().setCodec(codec).setOpenMode(IndexWriterConfig.OpenMode.CREATE_OR_APPEND)
                .setRAMBufferSizeMB(o.writeBufferMB()).setCommitOnClose(true);
    }

    /** Opens the bank in {@code folder}, creating it (and the folder) when absent, with the default HNSW options. */
    public static LuceneMemoryBank open(Path folder, int dimension) {
        return open(folder, dimension, HnswOptions.DEFAULTS);
    }

    /**
     * Opens or creates a bank for embeddings of {@code dimension}.
     *
     * @throws MemoryBankException when the bank holds another dimension, comes from a newer format, is locked by
     *                             another writer, or the folder holds something that is not a memory bank
     */
    public static LuceneMemoryBank open(Path folder, int dimension, HnswOptions options) {
        int maxDim = new Lucene99HnswVectorsFormat().getMaxDimensions(VECTOR);
        if (dimension < 1 || dimension > maxDim) {
            throw new MemoryBankException("a Lucene memory bank takes 1 to " + maxDim + " dimensions, asked for " + dimension);
        }
        try {
            if (BankFormat.exists(folder)) {
                BankFormat f = BankFormat.read(folder);
                if (f.dimension() != dimension) {
                    throw new MemoryBankException(folder + ": the memory bank holds " + f.dimension()
                            + "-dimensional embeddings, but " + dimension + "-dimensional ones were given (another embedder?)");
                }
            } else {
                if (Files.isDirectory(folder) && !isEmpty(folder)) {
                    throw new MemoryBankException(folder + ": the folder is not empty and holds no memory bank (" + BankFormat.FILE + " missing)");
                }
                Files.createDirectories(folder);
                new BankFormat(BankFormat.CURRENT, dimension).write(folder);
                log.info("created memory bank {} ({} dimensions)", folder, dimension);
            }
            return new LuceneMemoryBank(folder, dimension, options, false);
        } catch (IOException e) {
            throw new MemoryBankException(folder + ": cannot open the memory bank: " + e.getMessage(), e);
        }
    }

    /** Opens an existing bank, its dimension read from the marker file. */
    public static LuceneMemoryBank open(Path folder) {
        if (!BankFormat.exists(folder)) throw new MemoryBankException(folder + ": no memory bank here (" + BankFormat.FILE + " missing)");
        return open(folder, BankFormat.read(folder).dimension());
    }

    /**
     * Opens an existing bank for searching only, beside a writer in another process: searches see that writer's
     * commits as they land. Writes throw {@link IllegalStateException}.
     */
    public static LuceneMemoryBank openReadOnly(Path folder) {
        return openReadOnly(folder, HnswOptions.DEFAULTS);
    }

    /** As {@link #openReadOnly(Path)}, searching with {@code options.efSearch()} (the graph options are the writer's). */
    public static LuceneMemoryBank openReadOnly(Path folder, HnswOptions options) {
        if (!BankFormat.exists(folder)) throw new MemoryBankException(folder + ": no memory bank here (" + BankFormat.FILE + " missing)");
        BankFormat f = BankFormat.read(folder);
        try {
            return new LuceneMemoryBank(folder, f.dimension(), options, true);
        } catch (IOException e) {
            throw new MemoryBankException(folder + ": cannot open the memory bank: " + e.getMessage(), e);
        }
    }

    private static boolean isEmpty(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.findAny().isEmpty();
        }
    }

    public Path folder() {
        return folder;
    }

    public HnswOptions options() {
        return options;
    }

    public int formatVersion() {
        return BankFormat.CURRENT;
    }

    @Override
    public int dimension() {
        return dimension;
    }

    @Override
    public long size() {
        return withSearcher(s -> (long) s.getIndexReader().numDocs());
    }

    /**
     * Reads every file of the index and checks its checksum; a {@link MemoryBankException} names the first corrupt
     * one. Opening checks only the small files (a bank's vectors are read when searched), so verify a bank copied
     * from elsewhere once before trusting its answers. Takes time in proportion to the bank's size.
     */
    public void verifyIntegrity() {
        withSearcher(s -> {
            for (LeafReaderContext leaf : s.getIndexReader().leaves()) leaf.reader().checkIntegrity();
            return null;
        });
    }

    /** Number of index segments (each holds its own HNSW graph); fewer segments make searches cheaper. */
    public int segmentCount() {
        return withSearcher(s -> s.getIndexReader().leaves().size());
    }

    @Override
    public void add(List<MemoryEntry> entries) {
        entries.forEach(e -> MemoryBank.checkVector(e.embedding(), dimension, "the embedding of '" + e.id() + "'"));
        // The last entry for an id wins, as if added one by one; then the entries are indexed from several threads,
        // because inserting into the HNSW graph dominates ingest and each indexing thread builds its own segment.
        Map<String, MemoryEntry> byId = new LinkedHashMap<>();
        for (MemoryEntry e : entries) byId.put(e.id(), e);
        List<MemoryEntry> unique = List.copyOf(byId.values());
        write(() -> {
            try {
                Parallel.forRange(unique.size(), 256, (from, to) -> {
                    for (int i = from; i < to; i++) {
                        MemoryEntry e = unique.get(i);
                        try {
                            writer.updateDocument(new Term(ID, e.id()), toLucene(e));
                        } catch (IOException ex) {
                            throw new UncheckedIOException(ex);
                        }
                    }
                });
            } catch (UncheckedIOException ex) {
                throw ex.getCause();
            }
            return null;
        });
    }

    @Override
    public boolean update(MemoryEntry entry) {
        MemoryBank.checkVector(entry.embedding(), dimension, "the embedding of '" + entry.id() + "'");
        return write(() -> {
            if (!contains(entry.id())) return false;
            writer.updateDocument(new Term(ID, entry.id()), toLucene(entry));
            return true;
        });
    }

    @Override
    public boolean delete(String id) {
        return write(() -> {
            if (!contains(id)) return false;
            writer.deleteDocuments(new Term(ID, id));
            return true;
        });
    }

    private boolean contains(String id) {
        return withSearcher(s -> s.count(new TermQuery(new Term(ID, id))) > 0);
    }

    @FunctionalInterface
    private interface IoAction<T> {
        T run() throws IOException;
    }

    /** Runs a change, commits it and refreshes the searchers, one writer at a time. */
    private <T> T write(IoAction<T> change) {
        synchronized (writeLock) {
            ensureOpen();
            if (writer == null) throw new IllegalStateException("the memory bank " + folder + " was opened read-only");
            try {
                T result = change.run();
                writer.commit();
                searchers.maybeRefreshBlocking();
                return result;
            } catch (IOException e) {
                throw new MemoryBankException(folder + ": write failed: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Merges the index into at most {@code maxSegments} segments and commits. Each segment is searched with its own
     * graph, so a bank built in many small batches searches faster (and a little less exhaustively) afterwards.
     */
    public void compact(int maxSegments) {
        write(() -> {
            writer.forceMerge(maxSegments);
            return null;
        });
    }

    @Override
    public List<ScoredDocument> search(float[] query, int k) {
        return search(query, k, options.efSearch());
    }

    /** As {@link #search(float[], int)} with another candidate list size: larger is slower and finds more. */
    public List<ScoredDocument> search(float[] query, int k, int efSearch) {
        MemoryBank.checkVector(query, dimension, "the query");
        if (k < 1) throw new IllegalArgumentException("k must be positive, found " + k);
        return withSearcher(s -> {
            if (s.getIndexReader().numDocs() == 0) return List.of();
            int ef = Math.max(k, efSearch);
            // The graph search keeps ef candidates per segment; their scores are exact inner products (a monotone
            // transform of them), so the k best are taken as they are and only their vectors and fields are read.
            ScoreDoc[] hits = s.search(new KnnFloatVectorQuery(VECTOR, query, ef), k).scoreDocs;
            float[][] vectors = vectorsOf(s, hits);
            List<ScoredDocument> out = new ArrayList<>(hits.length);
            for (int i = 0; i < hits.length; i++) {
                out.add(new ScoredDocument(fromLucene(s, hits[i].doc), vectors[i], CpuOps.dot(query, 0, vectors[i], 0, dimension)));
            }
            // Reported scores are recomputed in f32 as the exact bank computes them; order by them.
            out.sort(Comparator.comparingDouble((ScoredDocument d) -> d.score()).reversed());
            return out;
        });
    }

    /** The stored vectors of the hits, read leaf by leaf in document order with one iterator per leaf. */
    private static float[][] vectorsOf(IndexSearcher s, ScoreDoc[] hits) throws IOException {
        Integer[] byDoc = new Integer[hits.length];
        for (int i = 0; i < hits.length; i++) byDoc[i] = i;
        java.util.Arrays.sort(byDoc, Comparator.comparingInt(i -> hits[i].doc));
        List<LeafReaderContext> leaves = s.getIndexReader().leaves();
        float[][] out = new float[hits.length][];
        LeafReaderContext leaf = null;
        FloatVectorValues values = null;
        KnnVectorValues.DocIndexIterator it = null;
        for (int i : byDoc) {
            int doc = hits[i].doc;
            if (leaf == null || doc >= leaf.docBase + leaf.reader().maxDoc()) {
                leaf = leaves.get(ReaderUtil.subIndex(doc, leaves));
                values = leaf.reader().getFloatVectorValues(VECTOR);
                it = values.iterator();
            }
            int local = doc - leaf.docBase;
            if ((it.docID() < local ? it.advance(local) : it.docID()) != local) throw new IOException("document " + doc + " has no vector");
            out[i] = values.vectorValue(it.index()).clone();
        }
        return out;
    }

    private org.apache.lucene.document.Document toLucene(MemoryEntry e) {
        var d = new org.apache.lucene.document.Document();
        d.add(new StringField(ID, e.id(), Field.Store.YES));
        d.add(new KnnFloatVectorField(VECTOR, e.embedding(), VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT));
        e.document().text().ifPresent(t -> d.add(new StoredField(TEXT, t)));
        e.document().image().ifPresent(img -> {
            switch (img) {
                case DocumentImage.Encoded enc -> d.add(new StoredField(IMAGE, new BytesRef(enc.bytes())));
                case DocumentImage.FileReference ref -> d.add(new StoredField(IMAGE_PATH, ref.path().toString()));
            }
        });
        return d;
    }

    private static Document fromLucene(IndexSearcher s, int doc) throws IOException {
        var d = s.storedFields().document(doc);
        BytesRef bytes = d.getBinaryValue(IMAGE);
        String path = d.get(IMAGE_PATH);
        DocumentImage image = bytes != null
                ? DocumentImage.of(java.util.Arrays.copyOfRange(bytes.bytes, bytes.offset, bytes.offset + bytes.length))
                : path != null ? DocumentImage.reference(Path.of(path)) : null;
        return new Document(d.get(ID), Optional.ofNullable(d.get(TEXT)), Optional.ofNullable(image));
    }

    @FunctionalInterface
    private interface SearchAction<T> {
        T run(IndexSearcher searcher) throws IOException;
    }

    private <T> T withSearcher(SearchAction<T> action) {
        ensureOpen();
        try {
            if (writer == null) searchers.maybeRefresh();    // read-only: pick up another process's commits
            IndexSearcher s = searchers.acquire();
            try {
                return action.run(s);
            } finally {
                searchers.release(s);
            }
        } catch (IOException e) {
            // Lucene reads segments lazily: a corrupt or truncated one may only show itself here.
            throw new MemoryBankException(folder + ": search failed: " + e.getMessage(), e);
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("the memory bank " + folder + " is closed");
    }

    @Override
    public void close() {
        synchronized (writeLock) {
            if (closed) return;
            closed = true;
            try {
                searchers.close();
                if (writer != null) writer.close();
                directory.close();
            } catch (IOException e) {
                throw new MemoryBankException(folder + ": close failed: " + e.getMessage(), e);
            }
        }
    }
}
