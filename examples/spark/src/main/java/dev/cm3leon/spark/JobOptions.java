package dev.cm3leon.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.Serializable;
import java.util.Objects;

/**
 * What a batch job runs: the model folder (a path every executor can read; its weights are memory-mapped there), the
 * task, the decoding parameters (each absent one keeps the checkpoint family's default) and the job seed that rows
 * without a seed of their own derive theirs from. {@code pngDir}, when set, also writes each image as
 * {@code <pngDir>/<id>.png} on a file system every executor can write. {@code rowsInFlight} is how many rows of a
 * task run at once: their requests decode together, one engine pass per step for all of them.
 */
public record JobOptions(String modelPath, Task task, long jobSeed, Double guidance, Double temperature, Double topP,
                         Integer topK, Integer maxTokens, String pngDir, int rowsInFlight) implements Serializable {
    /** Rows of a task in flight unless set: enough to share most of a pass's weight reads, little memory per task. */
    public static final int DEFAULT_ROWS_IN_FLIGHT = 4;

    public enum Task {
        /** Rows {@code id, prompt[, seed]} → an image. */
        TEXT_TO_IMAGE,
        /** Rows {@code id, image[, question][, seed]} (image: encoded bytes) → a caption or an answer. */
        CAPTION
    }

    public JobOptions {
        Objects.requireNonNull(modelPath, "modelPath");
        Objects.requireNonNull(task, "task");
        if (topK != null && topK < 1) throw new IllegalArgumentException("topK must be ≥ 1, got " + topK);
        if (maxTokens != null && maxTokens < 1) throw new IllegalArgumentException("maxTokens must be ≥ 1, got " + maxTokens);
        if (pngDir != null && task != Task.TEXT_TO_IMAGE) throw new IllegalArgumentException("pngDir is for text-to-image jobs");
        if (rowsInFlight < 1) throw new IllegalArgumentException("rowsInFlight must be ≥ 1, got " + rowsInFlight);
    }

    public static JobOptions textToImage(String modelPath) {
        return new JobOptions(modelPath, Task.TEXT_TO_IMAGE, 0, null, null, null, null, null, null, DEFAULT_ROWS_IN_FLIGHT);
    }

    public static JobOptions captions(String modelPath) {
        return new JobOptions(modelPath, Task.CAPTION, 0, null, null, null, null, null, null, DEFAULT_ROWS_IN_FLIGHT);
    }

    public JobOptions withJobSeed(long s) {
        return new JobOptions(modelPath, task, s, guidance, temperature, topP, topK, maxTokens, pngDir, rowsInFlight);
    }

    public JobOptions withGuidance(Double g) {
        return new JobOptions(modelPath, task, jobSeed, g, temperature, topP, topK, maxTokens, pngDir, rowsInFlight);
    }

    public JobOptions withTemperature(Double t) {
        return new JobOptions(modelPath, task, jobSeed, guidance, t, topP, topK, maxTokens, pngDir, rowsInFlight);
    }

    public JobOptions withTopP(Double p) {
        return new JobOptions(modelPath, task, jobSeed, guidance, temperature, p, topK, maxTokens, pngDir, rowsInFlight);
    }

    public JobOptions withTopK(Integer k) {
        return new JobOptions(modelPath, task, jobSeed, guidance, temperature, topP, k, maxTokens, pngDir, rowsInFlight);
    }

    public JobOptions withMaxTokens(Integer n) {
        return new JobOptions(modelPath, task, jobSeed, guidance, temperature, topP, topK, n, pngDir, rowsInFlight);
    }

    public JobOptions withPngDir(String dir) {
        return new JobOptions(modelPath, task, jobSeed, guidance, temperature, topP, topK, maxTokens, dir, rowsInFlight);
    }

    /**
     * Up to {@code n} rows of a task decode at once, in one engine pass per step; the output keeps the input's order,
     * and each row's result is the one it gets alone (a seeded request draws the same whatever else is in the
     * batch). Each row in flight holds its KV caches: on a small executor, fewer rows use less memory.
     */
    public JobOptions withRowsInFlight(int n) {
        return new JobOptions(modelPath, task, jobSeed, guidance, temperature, topP, topK, maxTokens, pngDir, n);
    }

    /** The decoding parameters as the output table records them: those set; the others are the family's defaults. */
    String decodingJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("task", task.name().toLowerCase(java.util.Locale.ROOT));
        if (guidance != null) o.put("guidance", guidance);
        if (temperature != null) o.put("temperature", temperature);
        if (topP != null) o.put("top_p", topP);
        if (topK != null) o.put("top_k", topK);
        if (maxTokens != null) o.put("max_tokens", maxTokens);
        o.put("defaults", "the checkpoint family's for every parameter not listed");
        return o.toString();
    }
}
