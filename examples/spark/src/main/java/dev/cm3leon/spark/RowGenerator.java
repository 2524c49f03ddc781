package dev.cm3leon.spark;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.GeneratedImage;
import dev.cm3leon.GeneratedText;
import dev.cm3leon.ImageToTextRequest;
import dev.cm3leon.Request;
import dev.cm3leon.TextToImageRequest;
import dev.cm3leon.Timings;
import dev.cm3leon.vq.ImageFiles;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.TaskCompletionListener;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.regex.Pattern;

/**
 * Runs one partition's rows on the executor's shared model, lazily as Spark pulls them, {@link JobOptions#rowsInFlight}
 * at a time: each row is one request ({@link Request#generateAsync}), and the requests running at once decode in one
 * engine pass per step. Rows come out in the input's order; at most {@code rowsInFlight} rows are pulled from the input
 * and not yet returned. A row's result depends on the row, its seed and the job's options only (not on the rows
 * beside it in the batch), so a retried task reproduces it; a PNG file is written under a temporary name and renamed
 * into place, so a task killed part-way leaves no partial file.
 *
 * <p>When a row fails, or the task ends early (a later stage failed, the task was killed), the other rows' requests
 * are cancelled, which frees their KV memory; the failure goes to Spark, which retries the task.
 */
final class RowGenerator implements MapPartitionsFunction<Row, Row> {
    private static final Pattern FILE_SAFE_ID = Pattern.compile("[A-Za-z0-9._-]{1,200}");
    private final JobOptions job;
    private final InputColumns columns;

    /** Where the input's columns are (looked up once on the driver). */
    record InputColumns(int id, int input, int question, int seed) implements java.io.Serializable {
    }

    /** A row whose request runs: what its output row needs beside the result, which completes with its end time. */
    private record InFlight(String id, String text, long seed, long startNanos, Future<?> request, CompletableFuture<Done> done) {
    }

    private record Done(Object result, long endNanos) {
    }

    RowGenerator(JobOptions job, InputColumns columns) {
        this.job = job;
        this.columns = columns;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        Rows out = new Rows(ExecutorModels.get(job.modelPath()), rows, job.decodingJson());
        TaskContext task = TaskContext.get();
        // Spark calls it on the task's thread when the task ends, however it ends; after a full run nothing is left
        if (task != null) task.addTaskCompletionListener((TaskCompletionListener) context -> out.cancelAll());
        return out;
    }

    /** The output rows, in the input's order, with up to {@code rowsInFlight} requests running ahead of the reader. */
    private final class Rows implements Iterator<Row> {
        private final Cm3Leon model;
        private final Iterator<Row> input;
        private final String options;
        private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();

        Rows(Cm3Leon model, Iterator<Row> input, String options) {
            this.model = model;
            this.input = input;
            this.options = options;
        }

        @Override
        public boolean hasNext() {
            return !inFlight.isEmpty() || input.hasNext();
        }

        @Override
        public Row next() {
            try {
                while (inFlight.size() < job.rowsInFlight() && input.hasNext()) inFlight.add(start(model, input.next()));
                InFlight head = inFlight.poll();
                if (head == null) throw new NoSuchElementException();
                return output(head, await(head), options);
            } catch (RuntimeException | Error e) {
                cancelAll();
                throw e;
            }
        }

        void cancelAll() {
            for (InFlight r; (r = inFlight.poll()) != null; ) r.request().cancel(true);
        }
    }

    /** Starts the row's request; a row that cannot run (no id, no prompt, an undecodable image) throws here. */
    private InFlight start(Cm3Leon model, Row row) {
        String id = required(row, columns.id(), "id");
        long seed = columns.seed() >= 0 && !row.isNullAt(columns.seed()) ? row.getLong(columns.seed()) : RowSeeds.of(job.jobSeed(), id);
        String text = job.task() == JobOptions.Task.TEXT_TO_IMAGE ? required(row, columns.input(), "prompt") : question(row);
        long start = System.nanoTime();
        CompletableFuture<?> request = switch (job.task()) {
            case TEXT_TO_IMAGE -> {
                TextToImageRequest r = apply(model.textToImage(text), seed);
                if (job.guidance() != null) {
                    if (job.guidance() == 1) r.noGuidance();
                    else r.guidance(job.guidance());
                }
                yield r.generateAsync();
            }
            case CAPTION -> {
                if (row.isNullAt(columns.input())) throw new IllegalArgumentException("row '" + id + "' has no image");
                BufferedImage image = ImageFiles.read((byte[]) row.get(columns.input()), ImageFiles.DEFAULT_MAX_PIXELS);
                ImageToTextRequest r = apply(text == null ? model.caption(image) : model.vqa(image, text), seed);
                if (job.maxTokens() != null) r.maxTokens(job.maxTokens());
                yield r.generateAsync();
            }
        };
        return new InFlight(id, text, seed, start, request, request.thenApply(result -> new Done(result, System.nanoTime())));
    }

    /** The row's result; a failed request rethrows its own exception. */
    private static Done await(InFlight r) {
        try {
            return r.done().get();
        } catch (InterruptedException e) {
            r.request().cancel(true);
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while row '" + r.id() + "' ran");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) throw re;
            if (cause instanceof Error err) throw err;
            throw new Cm3LeonException("row '" + r.id() + "' failed: " + cause, cause);
        }
    }

    private Row output(InFlight r, Done done, String options) {
        long totalMs = (done.endNanos() - r.startNanos()) / 1_000_000;
        return switch (done.result()) {
            case GeneratedImage out -> {
                String file = job.pngDir() == null ? null : writePng(out.image(), r.id());
                Timings t = out.timings();
                yield RowFactory.create(r.id(), r.text(), r.seed(), png(out.image()), options, t.prefill().toMillis(),
                        t.decode().toMillis(), t.steps(), totalMs, file);
            }
            case GeneratedText out -> {
                Timings t = out.timings();
                yield RowFactory.create(r.id(), r.text(), r.seed(), out.text(), options, t.prefill().toMillis(),
                        t.decode().toMillis(), t.steps(), totalMs);
            }
            default -> throw new IllegalStateException("unexpected result " + done.result().getClass().getName());
        };
    }

    private String question(Row row) {
        return columns.question() >= 0 && !row.isNullAt(columns.question()) ? row.getString(columns.question()) : null;
    }

    private <R extends Request<?, R>> R apply(R r, long seed) {
        if (job.temperature() != null) {
            if (job.temperature() == 0) r.greedy();
            else r.temperature(job.temperature());
        }
        if (job.topP() != null) r.topP(job.topP());
        if (job.topK() != null) r.topK(job.topK());
        return r.seed(seed);
    }

    private String writePng(BufferedImage image, String id) {
        if (!FILE_SAFE_ID.matcher(id).matches() || id.startsWith(".")) {
            throw new IllegalArgumentException("row id '" + id + "' cannot name a PNG file: with pngDir, ids must be 1–200 of "
                    + "[A-Za-z0-9._-] and not start with '.'");
        }
        // ImageFiles writes a temporary file beside the target and renames it: readers never see a partial PNG
        return ImageFiles.writePng(image, Path.of(job.pngDir(), id + ".png")).toString();
    }

    private static String required(Row row, int index, String column) {
        if (row.isNullAt(index)) throw new IllegalArgumentException("a row has no " + column + " (column '" + column + "' is null)");
        return row.getString(index);
    }

    static byte[] png(BufferedImage image) {
        var bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }
}
