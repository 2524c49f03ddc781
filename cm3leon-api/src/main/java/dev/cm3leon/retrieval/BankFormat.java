package dev.cm3leon.retrieval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The marker file at the root of a persistent memory bank ({@value #FILE}): the bank format version and the
 * embedding dimension. A bank written by a newer format than this library reads is refused rather than misread.
 *
 * @param formatVersion the layout of the bank folder and its Lucene fields
 */
record BankFormat(int formatVersion, int dimension) {
    static final String FILE = "cm3leon-bank.json";
    /** Version 1: Lucene index in {@code index/}; fields id, vector (max inner product), text, image, image_path. */
    static final int CURRENT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_BYTES = 64 << 10;

    static boolean exists(Path bank) {
        return Files.isRegularFile(bank.resolve(FILE));
    }

    static BankFormat read(Path bank) {
        Path file = bank.resolve(FILE);
        JsonNode root;
        try {
            // A marker is a few dozen bytes; a huge file (or a FIFO) would exhaust the heap or block.
            if (!Files.isRegularFile(file) || Files.size(file) > MAX_BYTES) {
                throw new MemoryBankException(file + ": not a memory bank marker (a regular file of at most " + MAX_BYTES + " bytes)");
            }
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new MemoryBankException(file + ": cannot read the memory bank marker: " + e.getMessage());
        }
        JsonNode version = root == null ? null : root.get("format_version");
        JsonNode dim = root == null ? null : root.get("dimension");
        if (version == null || !version.canConvertToInt() || dim == null || !dim.canConvertToInt() || dim.asInt() < 1) {
            throw new MemoryBankException(file + ": not a cm3leon memory bank marker (format_version and dimension expected)");
        }
        if (version.asInt() > CURRENT) {
            throw new MemoryBankException(bank + ": the memory bank has format version " + version.asInt()
                    + ", newer than this cm3leon reads (up to " + CURRENT + "); open it with a newer cm3leon-java");
        }
        if (version.asInt() < 1) throw new MemoryBankException(file + ": unknown memory bank format version " + version.asInt());
        return new BankFormat(version.asInt(), dim.asInt());
    }

    /** Written to a temporary file and moved into place, so a crash never leaves a half-written marker. */
    void write(Path bank) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format_version", formatVersion);
        root.put("dimension", dimension);
        root.put("similarity", "maximum_inner_product");
        root.put("index", "lucene-hnsw");
        Path tmp = bank.resolve(FILE + ".tmp");
        try {
            Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
            Files.move(tmp, bank.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new MemoryBankException(bank + ": cannot write the memory bank marker: " + e.getMessage(), e);
        }
    }
}
