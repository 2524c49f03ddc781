package dev.cm3leon.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code spark-submit} entry point: reads a table (Parquet, CSV with a header, or JSON lines), runs
 * {@link BatchGeneration}, writes the result as Parquet.
 *
 * <pre>
 * --model DIR --input PATH --output DIR [--task text-to-image|caption] [--format parquet|csv|json]
 * [--seed N] [--guidance G] [--temperature T] [--top-p P] [--top-k K] [--max-tokens N] [--png-dir DIR]
 * [--rows-in-flight N]
 * </pre>
 */
public final class BatchGenerationJob {
    private BatchGenerationJob() {
    }

    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().appName("cm3leon batch generation").getOrCreate();
        try {
            System.out.println("wrote " + run(spark, args));
        } finally {
            spark.stop();
        }
    }

    /** Runs the job the arguments describe on {@code spark}; returns the output folder. */
    static String run(SparkSession spark, String[] args) {
        Map<String, String> a = parse(args);
        String model = need(a, "--model"), input = need(a, "--input"), output = need(a, "--output");
        JobOptions job = switch (a.getOrDefault("--task", "text-to-image")) {
            case "text-to-image" -> JobOptions.textToImage(model);
            case "caption" -> JobOptions.captions(model);
            default -> throw new IllegalArgumentException("--task must be text-to-image or caption, got " + a.get("--task"));
        };
        if (a.containsKey("--seed")) job = job.withJobSeed(Long.parseLong(a.get("--seed")));
        if (a.containsKey("--guidance")) job = job.withGuidance(Double.parseDouble(a.get("--guidance")));
        if (a.containsKey("--temperature")) job = job.withTemperature(Double.parseDouble(a.get("--temperature")));
        if (a.containsKey("--top-p")) job = job.withTopP(Double.parseDouble(a.get("--top-p")));
        if (a.containsKey("--top-k")) job = job.withTopK(Integer.parseInt(a.get("--top-k")));
        if (a.containsKey("--max-tokens")) job = job.withMaxTokens(Integer.parseInt(a.get("--max-tokens")));
        if (a.containsKey("--png-dir")) job = job.withPngDir(a.get("--png-dir"));
        if (a.containsKey("--rows-in-flight")) job = job.withRowsInFlight(Integer.parseInt(a.get("--rows-in-flight")));
        String format = a.getOrDefault("--format", formatOf(input));
        Dataset<Row> rows = read(spark, input, format);
        // CSV and JSON readers infer small integers as int
        if (rows.schema().getFieldIndex("seed").isDefined()) rows = rows.withColumn("seed", rows.col("seed").cast("long"));
        BatchGeneration.run(rows, job).write().mode(SaveMode.Overwrite).parquet(output);
        return output;
    }

    static Dataset<Row> read(SparkSession spark, String path, String format) {
        return switch (format) {
            case "parquet" -> spark.read().parquet(path);
            case "csv" -> spark.read().option("header", "true").option("inferSchema", "true").csv(path);
            case "json" -> spark.read().json(path);
            default -> throw new IllegalArgumentException("--format must be parquet, csv or json, got " + format);
        };
    }

    private static String formatOf(String path) {
        String p = path.toLowerCase(Locale.ROOT);
        if (p.endsWith(".csv")) return "csv";
        if (p.endsWith(".json") || p.endsWith(".jsonl")) return "json";
        return "parquet";
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> out = new LinkedHashMap<>();
        List<String> rest = new ArrayList<>(List.of(args));
        while (!rest.isEmpty()) {
            String name = rest.removeFirst();
            if (!name.startsWith("--") || rest.isEmpty()) throw new IllegalArgumentException("expected --option value, got '" + name + "'");
            out.put(name, rest.removeFirst());
        }
        return out;
    }

    private static String need(Map<String, String> a, String name) {
        String v = a.get(name);
        if (v == null) throw new IllegalArgumentException(name + " is required");
        return v;
    }
}
