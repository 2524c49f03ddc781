package dev.cm3leon.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.List;

/**
 * Batch generation as a Spark transformation: a table of prompts (or of images) in, a table of results out, one row
 * per input row. Nothing runs until an action (a write) asks for it; each executor loads the model once, on its first
 * task. Write the result with Spark's own writers ({@code result.write().parquet(dir)}): their commit protocol keeps
 * a failed or retried task's output out of the table.
 *
 * <p>Input: text→image, columns {@code id} (string), {@code prompt} (string), optionally {@code seed} (long);
 * captions, {@code id}, {@code image} (binary: PNG, JPEG…), optionally {@code question} (string) and {@code seed}.
 * A row without a seed gets one from the job seed and its id.
 */
public final class BatchGeneration {
    /** Text→image output: the PNG bytes, the seed, the decoding options (JSON) and the timings of each row. */
    public static final StructType IMAGE_SCHEMA = schema(
            field("id", DataTypes.StringType, false), field("prompt", DataTypes.StringType, false),
            field("seed", DataTypes.LongType, false), field("png", DataTypes.BinaryType, false),
            field("options", DataTypes.StringType, false), field("prefill_ms", DataTypes.LongType, false),
            field("decode_ms", DataTypes.LongType, false), field("steps", DataTypes.IntegerType, false),
            field("total_ms", DataTypes.LongType, false), field("png_file", DataTypes.StringType, true));

    /** Caption output: the text instead of an image, and the question when there was one. */
    public static final StructType CAPTION_SCHEMA = schema(
            field("id", DataTypes.StringType, false), field("question", DataTypes.StringType, true),
            field("seed", DataTypes.LongType, false), field("caption", DataTypes.StringType, false),
            field("options", DataTypes.StringType, false), field("prefill_ms", DataTypes.LongType, false),
            field("decode_ms", DataTypes.LongType, false), field("steps", DataTypes.IntegerType, false),
            field("total_ms", DataTypes.LongType, false));

    private BatchGeneration() {
    }

    /** The job's result table, computed lazily, partitioned as its input. */
    public static Dataset<Row> run(Dataset<Row> input, JobOptions job) {
        StructType in = input.schema();
        var columns = switch (job.task()) {
            case TEXT_TO_IMAGE -> new RowGenerator.InputColumns(column(in, "id", DataTypes.StringType, true),
                    column(in, "prompt", DataTypes.StringType, true), -1, seedColumn(in));
            case CAPTION -> new RowGenerator.InputColumns(column(in, "id", DataTypes.StringType, true),
                    column(in, "image", DataTypes.BinaryType, true), column(in, "question", DataTypes.StringType, false), seedColumn(in));
        };
        StructType out = job.task() == JobOptions.Task.TEXT_TO_IMAGE ? IMAGE_SCHEMA : CAPTION_SCHEMA;
        return input.mapPartitions(new RowGenerator(job, columns), Encoders.row(out));
    }

    /** A {@code seed} column must be a long; CSV and JSON readers infer integers as such (or cast it first). */
    private static int seedColumn(StructType in) {
        return column(in, "seed", DataTypes.LongType, false);
    }

    private static int column(StructType in, String name, DataType type, boolean required) {
        List<String> names = Arrays.asList(in.fieldNames());
        int i = names.indexOf(name);
        if (i < 0) {
            if (required) throw new IllegalArgumentException("the input has no column '" + name + "' (it has " + names + ")");
            return -1;
        }
        DataType actual = in.fields()[i].dataType();
        if (!actual.equals(type)) {
            throw new IllegalArgumentException("column '" + name + "' must be " + type.simpleString() + ", the input's is "
                    + actual.simpleString() + (name.equals("seed") ? " (cast it: input.withColumn(\"seed\", col(\"seed\").cast(\"long\")))" : ""));
        }
        return i;
    }

    private static StructField field(String name, DataType type, boolean nullable) {
        return DataTypes.createStructField(name, type, nullable);
    }

    private static StructType schema(StructField... fields) {
        return DataTypes.createStructType(fields);
    }
}
