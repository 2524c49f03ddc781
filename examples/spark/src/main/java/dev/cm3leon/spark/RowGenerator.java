package dev.cm3leon.spark;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.GeneratedImage;
import dev.cm3leon.GeneratedText;
import dev.cm3leon.ImageToTextRequest;
import dev.cm3leon.Request;
import dev.cm3leon.TextToImageRequest;
import dev.cm3leon.Timings;
import dev.cm3leon.vq.ImageFiles;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.regex.Pattern;

/**
 * Runs one partition's rows on the executor's shared model, one request per row, lazily as Spark pulls them. A row's
 * result depends on the row, its seed and the job's options only, so a retried task reproduces it; a PNG file is
 * written under a temporary name and renamed into place, so a task killed part-way leaves no partial file.
 */
final class RowGenerator implements MapPartitionsFunction<Row, Row> {
    private static final Pattern FILE_SAFE_ID = Pattern.compile("[A-Za-z0-9._-]{1,200}");
    private final JobOptions job;
    private final InputColumns columns;

    /** Where the input's columns are (looked up once on the driver). */
    record InputColumns(int id, int input, int question, int seed) implements java.io.Serializable {
    }

    RowGenerator(JobOptions job, InputColumns columns) {
        this.job = job;
        this.columns = columns;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        Cm3Leon model = ExecutorModels.get(job.modelPath());
        String options = job.decodingJson();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Row next() {
                return generate(model, rows.next(), options);
            }
        };
    }

    private Row generate(Cm3Leon model, Row row, String options) {
        String id = required(row, columns.id(), "id");
        long seed = columns.seed() >= 0 && !row.isNullAt(columns.seed()) ? row.getLong(columns.seed()) : RowSeeds.of(job.jobSeed(), id);
        long start = System.nanoTime();
        return switch (job.task()) {
            case TEXT_TO_IMAGE -> {
                String prompt = required(row, columns.input(), "prompt");
                TextToImageRequest r = apply(model.textToImage(prompt), seed);
                if (job.guidance() != null) {
                    if (job.guidance() == 1) r.noGuidance();
                    else r.guidance(job.guidance());
                }
                GeneratedImage out = r.generate();
                long totalMs = (System.nanoTime() - start) / 1_000_000;
                String file = job.pngDir() == null ? null : writePng(out.image(), id);
                Timings t = out.timings();
                yield RowFactory.create(id, prompt, seed, png(out.image()), options, t.prefill().toMillis(), t.decode().toMillis(),
                        t.steps(), totalMs, file);
            }
            case CAPTION -> {
                if (row.isNullAt(columns.input())) throw new IllegalArgumentException("row '" + id + "' has no image");
                BufferedImage image = ImageFiles.read((byte[]) row.get(columns.input()), ImageFiles.DEFAULT_MAX_PIXELS);
                String question = columns.question() >= 0 && !row.isNullAt(columns.question()) ? row.getString(columns.question()) : null;
                ImageToTextRequest r = apply(question == null ? model.caption(image) : model.vqa(image, question), seed);
                if (job.maxTokens() != null) r.maxTokens(job.maxTokens());
                GeneratedText out = r.generate();
                long totalMs = (System.nanoTime() - start) / 1_000_000;
                Timings t = out.timings();
                yield RowFactory.create(id, question, seed, out.text(), options, t.prefill().toMillis(), t.decode().toMillis(),
                        t.steps(), totalMs);
            }
        };
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
