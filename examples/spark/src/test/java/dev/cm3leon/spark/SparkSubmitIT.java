package dev.cm3leon.spark;

import dev.cm3leon.Cm3Leon;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's {@code spark-submit} line, run: Spark's {@code SparkSubmit} in a JVM of its own, on Spark's class path
 * without the library (as a Spark installation has it), with the job jar that {@code package} built as its primary
 * resource, on the demo model. Run by {@code verify}, after {@code package}.
 */
class SparkSubmitIT {
    static final Path REPOSITORY = Path.of(System.getProperty("cm3leon.repository", "../..")).toAbsolutePath().normalize();
    static final Path JOB_JAR = Path.of(System.getProperty("cm3leon.jobJar", "target/cm3leon-spark-job.jar")).toAbsolutePath();
    static final Path SPARK_CLASS_PATH = Path.of(System.getProperty("cm3leon.sparkClassPath", "target/spark-classpath.txt")).toAbsolutePath();
    /** What {@code spark.driver.extraJavaOptions} in the README gives the driver's JVM; spark-submit's launcher puts it there. */
    static final List<String> DRIVER_JAVA_OPTIONS = List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED");
    static final String JAVA_OPTIONS = String.join(" ", DRIVER_JAVA_OPTIONS);
    static final List<String> PROMPTS = BatchGenerationTest.PROMPTS.subList(0, 4);

    @TempDir
    Path tmp;

    @Test
    void theReadmesSparkSubmitLineWritesATableOfEveryPromptOnce() throws Exception {
        Path csv = tmp.resolve("prompts.csv"), images = tmp.resolve("images");
        StringBuilder rows = new StringBuilder("id,prompt,seed\n");
        for (int i = 0; i < PROMPTS.size(); i++) rows.append("r").append(i).append(',').append(PROMPTS.get(i)).append(',').append(i == 0 ? "7" : "").append('\n');
        Files.writeString(csv, rows);

        // as in the README, from the repository's root
        List<String> submit = List.of("--master", "local[2]", "--class", "dev.cm3leon.spark.BatchGenerationJob",
                "--conf", "spark.driver.extraJavaOptions=" + JAVA_OPTIONS, "--conf", "spark.executor.extraJavaOptions=" + JAVA_OPTIONS,
                "examples/spark/target/cm3leon-spark-job.jar", "--model", "examples/demo-model", "--input", csv.toString(),
                "--output", images.toString(), "--seed", "42", "--guidance", "3.0");
        assertThat(REPOSITORY.resolve("examples/spark/target/cm3leon-spark-job.jar")).as("the job jar package built").isEqualTo(JOB_JAR).isRegularFile();

        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.addAll(DRIVER_JAVA_OPTIONS);
        command.addAll(List.of("-cp", sparkClassPath(), "org.apache.spark.deploy.SparkSubmit"));
        command.addAll(submit);
        Path log = tmp.resolve("spark-submit.log");
        ProcessBuilder builder = new ProcessBuilder(command).directory(REPOSITORY.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("SPARK_LOCAL_IP", "127.0.0.1");    // the driver on loopback, however the host name resolves
        long start = System.nanoTime();
        Process p = builder.start();
        try {
            boolean ended = p.waitFor(5, TimeUnit.MINUTES);
            assertThat(ended).as("spark-submit ended within 5 minutes; its log ends:%n%s", tail(log)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        System.out.printf("spark-submit ran in %d ms%n", (System.nanoTime() - start) / 1_000_000);
        assertThat(p.exitValue()).as("spark-submit's exit status; its log ends:%n%s", tail(log)).isZero();
        assertThat(Files.readString(log, StandardCharsets.ISO_8859_1)).contains("wrote " + images);

        SparkSession spark = SparkSession.builder().master("local[1]").appName("cm3leon-submit-check")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate();
        try (Cm3Leon reference = Cm3Leon.load(REPOSITORY.resolve("examples/demo-model"))) {
            Map<String, Row> byId = new TreeMap<>();
            for (Row r : spark.read().parquet(images.toString()).collectAsList()) {
                assertThat(byId.put(r.getString(0), r)).as("id %s once", r.getString(0)).isNull();
            }
            assertThat(byId.keySet()).containsExactly("r0", "r1", "r2", "r3");
            for (Row r : byId.values()) {
                int i = Integer.parseInt(r.getString(0).substring(1));
                assertThat(r.getLong(2)).isEqualTo(i == 0 ? 7 : RowSeeds.of(42, r.getString(0)));
                BufferedImage image = ImageIO.read(new ByteArrayInputStream((byte[]) r.get(3)));
                assertThat(image).as("a decodable PNG for %s", r.getString(0)).isNotNull();
                assertThat(pixels(image)).as("the library's image for %s's seed", r.getString(0))
                        .isEqualTo(pixels(reference.textToImage(PROMPTS.get(i)).guidance(3.0).seed(r.getLong(2)).generate().image()));
            }
        } finally {
            spark.stop();
        }
    }

    /**
     * Spark's class path as an installation has it: the jars Maven lists for this module (Spark, and the Jackson and
     * SLF4J the job jar leaves to Spark) less every jar whose classes the job jar holds, and no class folders.
     */
    static String sparkClassPath() throws IOException {
        Set<String> inJob = new HashSet<>();
        try (ZipFile job = new ZipFile(JOB_JAR.toFile())) {
            // the classes themselves: every multi-release jar has a META-INF/versions/…/module-info.class
            job.stream().map(ZipEntry::getName).filter(n -> n.endsWith(".class") && !n.startsWith("META-INF/")).forEach(inJob::add);
        }
        assertThat(inJob).as("the job jar holds the library").contains("dev/cm3leon/Cm3Leon.class", "dev/cm3leon/spark/BatchGenerationJob.class");
        List<String> kept = new ArrayList<>(), dropped = new ArrayList<>();
        for (String entry : Files.readString(SPARK_CLASS_PATH).strip().split(File.pathSeparator)) {
            Path jar = Path.of(entry);
            if (!Files.isRegularFile(jar) || holdsAnyOf(jar, inJob)) dropped.add(jar.getFileName().toString());
            else kept.add(entry);
        }
        System.out.println("spark-submit's class path: " + kept.size() + " jars; left out as the job jar holds them: " + dropped);
        assertThat(kept).as("Spark").anyMatch(e -> e.contains("spark-core_2.13")).noneMatch(e -> e.contains("cm3leon"));
        return String.join(File.pathSeparator, kept);
    }

    private static boolean holdsAnyOf(Path jar, Set<String> classes) throws IOException {
        try (ZipFile z = new ZipFile(jar.toFile())) {
            return z.stream().anyMatch(e -> classes.contains(e.getName()));
        }
    }

    private static String tail(Path log) throws IOException {
        if (!Files.exists(log)) return "(no log)";
        List<String> lines = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    private static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }
}
