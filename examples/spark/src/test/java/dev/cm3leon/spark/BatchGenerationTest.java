package dev.cm3leon.spark;

import dev.cm3leon.Cm3Leon;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The batch job on a real Spark in local mode (2 cores, up to 4 attempts per task) on the shipped demo model. */
class BatchGenerationTest {
    static final String DEMO = Path.of(System.getProperty("cm3leon.demoModel", "../demo-model")).toAbsolutePath().toString();
    static final List<String> PROMPTS = List.of("a large red circle at the top left", "a small blue square at the middle center",
            "a large green triangle at the bottom right", "a small purple cross at the top right",
            "a small red square at the bottom left", "a large blue circle at the middle center");
    static final StructType PROMPT_SCHEMA = DataTypes.createStructType(List.of(
            DataTypes.createStructField("id", DataTypes.StringType, false),
            DataTypes.createStructField("prompt", DataTypes.StringType, false),
            DataTypes.createStructField("seed", DataTypes.LongType, true)));
    /** Failures the test injected; static, so the task's deserialized copy of the function counts here (local mode). */
    static final AtomicInteger injectedFailures = new AtomicInteger();

    static SparkSession spark;
    static Cm3Leon reference;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2,4]").appName("cm3leon-batch-test")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                // a handful of rows: compiling whole-stage Java code for them costs more than it saves
                .config("spark.sql.codegen.wholeStage", "false").getOrCreate();
        reference = Cm3Leon.load(Path.of(DEMO));
    }

    @AfterAll
    static void stop() {
        spark.stop();
        reference.close();
    }

    /** Six prompts in two partitions; the even rows bring their own seed. */
    static Dataset<Row> prompts() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < PROMPTS.size(); i++) rows.add(RowFactory.create("p" + i, PROMPTS.get(i), i % 2 == 0 ? (Long) (100L + i) : null));
        return spark.createDataFrame(rows, PROMPT_SCHEMA).repartition(2);
    }

    static JobOptions job(Path pngDir) {
        return JobOptions.textToImage(DEMO).withJobSeed(11).withPngDir(pngDir.toString());
    }

    static Map<String, Row> byId(Path parquet) {
        return spark.read().parquet(parquet.toString()).collectAsList().stream()
                .collect(Collectors.toMap(r -> r.getString(0), r -> r, (a, b) -> { throw new AssertionError("id twice: " + a); }, TreeMap::new));
    }

    @Test
    void everyPromptOnceWithTheImageTheLibraryDrawsForItsSeed() throws IOException {
        Path out = tmp.resolve("table"), png = tmp.resolve("png");
        BatchGeneration.run(prompts(), job(png)).write().parquet(out.toString());
        Map<String, Row> rows = byId(out);
        assertThat(rows.keySet()).containsExactly("p0", "p1", "p2", "p3", "p4", "p5");
        for (Row r : rows.values()) {
            int i = Integer.parseInt(r.getString(0).substring(1));
            long seed = r.getLong(2);
            assertThat(seed).isEqualTo(i % 2 == 0 ? 100L + i : RowSeeds.of(11, r.getString(0)));
            BufferedImage image = decode((byte[]) r.get(3));
            assertThat(pixels(image)).as(r.getString(0)).isEqualTo(pixels(reference.textToImage(PROMPTS.get(i)).seed(seed).generate().image()));
            assertThat(r.getString(4)).contains("\"task\":\"text_to_image\"");
            assertThat(r.getInt(7)).isPositive();
            assertThat(Files.readAllBytes(Path.of(r.getString(9)))).isEqualTo((byte[]) r.get(3));
        }
        assertThat(listNames(png)).containsExactlyInAnyOrder("p0.png", "p1.png", "p2.png", "p3.png", "p4.png", "p5.png");
        assertThat(ExecutorModels.count()).as("one model in this (local) executor, shared by its tasks").isEqualTo(1);
    }

    @Test
    void rowsInFlightSharePassesAndGiveTheTableOfOneRowAtATime() throws IOException {
        Cm3Leon executorModel = ExecutorModels.get(DEMO);
        Path alone = tmp.resolve("alone"), together = tmp.resolve("together");
        long before = executorModel.generationLoop().stats().passes();
        BatchGeneration.run(prompts(), job(tmp.resolve("png-alone")).withRowsInFlight(1)).write().parquet(alone.toString());
        long passesAlone = executorModel.generationLoop().stats().passes() - before;
        before = executorModel.generationLoop().stats().passes();
        BatchGeneration.run(prompts(), job(tmp.resolve("png-together")).withRowsInFlight(4)).write().parquet(together.toString());
        long passesTogether = executorModel.generationLoop().stats().passes() - before;
        System.out.printf("%d rows in 2 tasks: %d engine passes one row at a time per task, %d with 4 rows in flight%n",
                PROMPTS.size(), passesAlone, passesTogether);

        Map<String, Row> a = byId(alone), b = byId(together);
        assertThat(b.keySet()).isEqualTo(a.keySet()).hasSize(PROMPTS.size());
        for (String id : a.keySet()) {
            assertThat(b.get(id).getLong(2)).isEqualTo(a.get(id).getLong(2));
            assertThat((byte[]) b.get(id).get(3)).as(id).isEqualTo((byte[]) a.get(id).get(3));
            assertThat(Files.readAllBytes(Path.of(b.get(id).getString(9)))).isEqualTo((byte[]) a.get(id).get(3));
        }
        assertThat(passesTogether).as("rows of a task decoding in the same passes").isLessThan(passesAlone);
    }

    @Test
    void rowsAreReadAtMostRowsInFlightAheadAndComeOutInTheirOrder() throws Exception {
        List<Row> input = new ArrayList<>();
        for (int i = 0; i < PROMPTS.size(); i++) input.add(RowFactory.create("p" + i, PROMPTS.get(i), 100L + i));
        AtomicInteger pulled = new AtomicInteger();
        Iterator<Row> counting = new Iterator<>() {
            final Iterator<Row> rows = input.iterator();

            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Row next() {
                pulled.incrementAndGet();
                return rows.next();
            }
        };
        Iterator<Row> out = new RowGenerator(job(tmp.resolve("png")).withRowsInFlight(2), new RowGenerator.InputColumns(0, 1, -1, 2)).call(counting);
        assertThat(pulled.get()).as("nothing read before the first row is asked for").isZero();
        List<String> ids = new ArrayList<>();
        while (out.hasNext()) {
            ids.add(out.next().getString(0));
            assertThat(pulled.get()).as("rows read after %d returned", ids.size()).isEqualTo(Math.min(PROMPTS.size(), ids.size() + 1));
        }
        assertThat(ids).containsExactly("p0", "p1", "p2", "p3", "p4", "p5");
    }

    @Test
    void aFailingRowCancelsTheRowsInFlightBesideIt() throws InterruptedException {
        Cm3Leon executorModel = ExecutorModels.get(DEMO);
        long onePrompt = passesOf(reference, () -> reference.textToImage(PROMPTS.getFirst()).seed(1).generate());
        StructType nullablePrompt = DataTypes.createStructType(List.of(DataTypes.createStructField("id", DataTypes.StringType, false),
                DataTypes.createStructField("prompt", DataTypes.StringType, true)));
        List<Row> rows = List.of(RowFactory.create("f0", PROMPTS.get(0)), RowFactory.create("f1", PROMPTS.get(1)),
                RowFactory.create("f2", PROMPTS.get(2)), RowFactory.create("f3", null));
        Dataset<Row> input = spark.createDataFrame(rows, nullablePrompt).coalesce(1);
        long before = executorModel.generationLoop().stats().passes();
        // every attempt starts f0–f2, then f3 fails: Spark gives up after 4 attempts
        assertThatThrownBy(() -> BatchGeneration.run(input, job(tmp.resolve("png")).withRowsInFlight(4)).collectAsList())
                .hasStackTraceContaining("a row has no prompt");
        awaitIdle(executorModel);
        long passes = executorModel.generationLoop().stats().passes() - before;
        // left running, the 12 requests would have taken at least one image's passes; cancelled, next to none
        assertThat(passes).as("4 attempts × 3 cancelled rows, against %d passes for one image", onePrompt).isLessThan(onePrompt / 2);
    }

    @Test
    void rowsInFlightBelowOneAreRefused() {
        assertThatThrownBy(() -> JobOptions.textToImage(DEMO).withRowsInFlight(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rowsInFlight must be ≥ 1, got 0");
        assertThat(JobOptions.textToImage(DEMO).rowsInFlight()).isEqualTo(JobOptions.DEFAULT_ROWS_IN_FLIGHT);
    }

    @Test
    void aTaskKilledPartWayIsRetriedIntoTheSameTableAndLeavesNoPartialFile() throws IOException {
        Path clean = tmp.resolve("clean"), retried = tmp.resolve("retried");
        BatchGeneration.run(prompts(), job(tmp.resolve("png-clean"))).write().parquet(clean.toString());

        injectedFailures.set(0);
        Dataset<Row> failingOnce = BatchGeneration.run(prompts(), job(tmp.resolve("png-retried")))
                .mapPartitions(new FailAfterFirstRowOnFirstAttempt(), Encoders.row(BatchGeneration.IMAGE_SCHEMA));
        failingOnce.write().parquet(retried.toString());

        assertThat(injectedFailures.get()).as("the first attempt of each task failed part-way").isEqualTo(2);
        Map<String, Row> a = byId(clean), b = byId(retried);
        assertThat(b.keySet()).isEqualTo(a.keySet()).hasSize(PROMPTS.size());
        for (String id : a.keySet()) {
            assertThat(b.get(id).getLong(2)).isEqualTo(a.get(id).getLong(2));
            assertThat((byte[]) b.get(id).get(3)).as(id).isEqualTo((byte[]) a.get(id).get(3));
            assertThat(Files.readAllBytes(Path.of(b.get(id).getString(9)))).isEqualTo((byte[]) a.get(id).get(3));
        }
        assertThat(listNames(tmp.resolve("png-retried"))).allMatch(n -> n.matches("p\\d\\.png")).hasSize(PROMPTS.size());
        assertThat(listNames(retried)).noneMatch(n -> n.startsWith("_temporary")).contains("_SUCCESS");
    }

    @Test
    void imagesAreCaptionedAsTheLibraryCaptionsThem() throws IOException {
        Path shapes = Path.of(DEMO, "memory", "images");
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            byte[] bytes = Files.readAllBytes(shapes.resolve(String.format("shape-%04d.png", i)));
            rows.add(RowFactory.create("s" + i, bytes, i == 3 ? "what colour is the shape?" : null));
        }
        StructType schema = DataTypes.createStructType(List.of(DataTypes.createStructField("id", DataTypes.StringType, false),
                DataTypes.createStructField("image", DataTypes.BinaryType, false), DataTypes.createStructField("question", DataTypes.StringType, true)));
        List<Row> out = BatchGeneration.run(spark.createDataFrame(rows, schema).repartition(2), JobOptions.captions(DEMO)).collectAsList();
        assertThat(out).hasSize(4);
        for (Row r : out) {
            int i = Integer.parseInt(r.getString(0).substring(1));
            BufferedImage image = ImageIO.read(shapes.resolve(String.format("shape-%04d.png", i)).toFile());
            String expected = (i == 3 ? reference.vqa(image, "what colour is the shape?") : reference.caption(image)).seed(r.getLong(2)).generate().text();
            assertThat(r.getString(3)).as(r.getString(0)).isEqualTo(expected).isNotBlank();
        }
    }

    @Test
    void theJobReadsACsvOfPromptsAndWritesParquet() throws IOException {
        Path csv = tmp.resolve("prompts.csv");
        Files.writeString(csv, "id,prompt,seed\nc0,%s,5\nc1,%s,\n".formatted(PROMPTS.get(0), PROMPTS.get(1)));
        String out = BatchGenerationJob.run(spark, new String[]{"--model", DEMO, "--input", csv.toString(),
                "--output", tmp.resolve("out").toString(), "--seed", "3", "--guidance", "1.5", "--rows-in-flight", "2"});
        Map<String, Row> rows = byId(Path.of(out));
        assertThat(rows.keySet()).containsExactly("c0", "c1");
        assertThat(rows.get("c0").getLong(2)).isEqualTo(5);
        assertThat(rows.get("c1").getLong(2)).isEqualTo(RowSeeds.of(3, "c1"));
        assertThat(rows.get("c0").getString(4)).contains("\"guidance\":1.5");
        assertThat(pixels(decode((byte[]) rows.get("c0").get(3))))
                .isEqualTo(pixels(reference.textToImage(PROMPTS.get(0)).guidance(1.5).seed(5).generate().image()));
    }

    @Test
    void aMissingOrMistypedColumnIsNamedBeforeAnyWork() {
        Dataset<Row> noPrompt = prompts().drop("prompt");
        assertThatThrownBy(() -> BatchGeneration.run(noPrompt, job(tmp))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no column 'prompt'");
        Dataset<Row> p = prompts();
        Dataset<Row> intSeed = p.withColumn("seed", p.col("seed").cast("int"));
        assertThatThrownBy(() -> BatchGeneration.run(intSeed, job(tmp))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'seed' must be bigint");
    }

    /**
     * Passes the first row through, then fails the task's first attempt: after the model has drawn two rows, with the
     * task's other rows in flight.
     */
    static final class FailAfterFirstRowOnFirstAttempt implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            TaskContext task = TaskContext.get();
            return new Iterator<>() {
                int passed;

                @Override
                public boolean hasNext() {
                    return rows.hasNext();
                }

                @Override
                public Row next() {
                    Row r = rows.next();
                    if (task.attemptNumber() == 0 && passed++ == 1) {
                        injectedFailures.incrementAndGet();
                        throw new IllegalStateException("injected failure in task " + task.partitionId() + ", attempt 0");
                    }
                    return r;
                }
            };
        }
    }

    static long passesOf(Cm3Leon model, Runnable work) {
        long before = model.generationLoop().stats().passes();
        work.run();
        return model.generationLoop().stats().passes() - before;
    }

    /** Waits (up to 30 s) until the model's loop has no request running or waiting. */
    static void awaitIdle(Cm3Leon model) throws InterruptedException {
        long until = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < until) {
            var stats = model.generationLoop().stats();
            if (stats.runningRequests() == 0 && stats.waitingRequests() == 0) return;
            Thread.sleep(20);
        }
        throw new AssertionError("requests still running: " + model.generationLoop().stats());
    }

    static BufferedImage decode(byte[] png) throws IOException {
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(image).as("a decodable PNG").isNotNull();
        return image;
    }

    static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    static List<String> listNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).toList();
        }
    }
}
