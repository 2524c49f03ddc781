package dev.cm3leon.cli;

import dev.cm3leon.retrieval.LuceneMemoryBank;
import dev.cm3leon.retrieval.MemoryBank;
import dev.cm3leon.solr.SolrBankAddress;
import dev.cm3leon.solr.SolrMemoryBank;

import java.nio.file.Path;

/** A {@code --bank} value: a Lucene bank folder, or a SolrCloud collection, {@code solr://host:port[,host:port…]/collection}. */
record BankLocation(String value) {
    static final String DESCRIPTION = "memory bank: a folder (Lucene HNSW), or a SolrCloud collection "
            + "solr://host:port[,host:port…]/collection";

    boolean isSolr() {
        return SolrBankAddress.isSolr(value);
    }

    Path folder() {
        if (isSolr()) throw new IllegalStateException(value + " is not a folder");
        return Path.of(value);
    }

    /**
     * For {@code memory add}: a folder bank or a collection, created if absent ({@code shards} × {@code replicas} for
     * a new collection).
     */
    MemoryBank openForAdding(int dimension, int shards, int replicas) {
        if (!isSolr()) return LuceneMemoryBank.open(folder(), dimension);
        return SolrMemoryBank.openOrCreate(SolrBankAddress.parse(value), dimension, shards, replicas, SolrMemoryBank.SearchOptions.DEFAULTS);
    }

    /** For searches; {@code candidates} is Lucene's efSearch, or the nearest neighbours Solr gathers per shard. */
    MemoryBank openForSearching(Integer candidates) {
        if (isSolr()) {
            var options = candidates == null ? SolrMemoryBank.SearchOptions.DEFAULTS : SolrMemoryBank.SearchOptions.DEFAULTS.withCandidates(candidates);
            return SolrMemoryBank.open(SolrBankAddress.parse(value), options);
        }
        var options = candidates == null ? LuceneMemoryBank.HnswOptions.DEFAULTS : LuceneMemoryBank.HnswOptions.DEFAULTS.withEfSearch(candidates);
        return LuceneMemoryBank.openReadOnly(folder(), options);
    }

    @Override
    public String toString() {
        return value;
    }
}
