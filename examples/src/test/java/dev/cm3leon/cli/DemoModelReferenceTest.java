package dev.cm3leon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped demo model (or another folder that {@code examples/train/export.py} wrote), loaded by the library like
 * any checkpoint, against the outputs PyTorch computed when the folder was exported ({@code reference.json}: float32
 * forward on the bf16 weights, greedy decoding, VQ codes and the decoded picture).
 */
class DemoModelReferenceTest {
    /** The shipped folder, or another export of the training scripts ({@code -Dcm3leon.demoModel=DIR}). */
    private static final Path DEMO = Path.of(System.getProperty("cm3leon.demoModel", "demo-model"));
    private static final int FIRST_IMAGE_TOKEN = 4, END_OF_IMAGE = 260;

    @TempDir
    Path tmp;

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    static JsonNode reference() throws IOException {
        return new ObjectMapper().readTree(DEMO.resolve("reference.json").toFile());
    }

    static int[] ints(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    static String csv(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    @ParameterizedTest
    @ValueSource(strings = {"text_to_image", "image_to_text", "retrieval_text_to_image"})
    void lastPositionLogitsMatchPyTorch(String prompt) throws IOException {
        JsonNode c = reference().get("prompts").get(prompt);
        Path out = tmp.resolve(prompt + ".f32");
        CliRun r = run("inspect", "logits", "--model", DEMO.toString(), "--tokens", csv(ints(c.get("input_ids"))), "--out", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(out)).order(ByteOrder.LITTLE_ENDIAN);
        float[] all = new float[bytes.remaining() / Float.BYTES];
        bytes.asFloatBuffer().get(all);
        int vocab = all.length / ints(c.get("input_ids")).length;
        float[] last = Arrays.copyOfRange(all, all.length - vocab, all.length);       // [V] of the last position
        JsonNode expected = c.get("logits_first16");
        for (int i = 0; i < expected.size(); i++) {
            // image tokens are suppressed in the logits, as HF's ChameleonForConditionalGeneration does
            double want = i >= FIRST_IMAGE_TOKEN && i < END_OF_IMAGE ? -Float.MAX_VALUE : expected.get(i).asDouble();
            assertThat((double) last[i]).as("logit %d", i).isCloseTo(want, Offset.offset(1e-4));
        }
        int argmax = 0;
        for (int v = 1; v < vocab; v++) if (last[v] > last[argmax]) argmax = v;
        int referenceArgmax = c.get("argmax").asInt();
        if (referenceArgmax < FIRST_IMAGE_TOKEN || referenceArgmax >= END_OF_IMAGE) {
            assertThat(argmax).isEqualTo(referenceArgmax);
            assertThat((double) last[argmax]).isCloseTo(c.get("max_logit").asDouble(), Offset.offset(1e-4));
        }
    }

    @Test
    void greedyTextToImageDrawsTheReferenceTokens() throws IOException {
        JsonNode g = reference().get("greedy_text_to_image");
        CliRun r = run("inspect", "generate", "--model", DEMO.toString(), "--tokens", csv(ints(g.get("prompt_ids"))),
                "--mode", "image", "--max-new-tokens", "65", "--greedy");
        assertThat(r.exit()).as(r.err()).isZero();
        int[] expected = ints(g.get("output_ids"));
        int[] withEnd = Arrays.copyOf(expected, expected.length + 1);
        withEnd[expected.length] = END_OF_IMAGE;
        assertThat(r.out()).isEqualTo(csv(withEnd));
    }

    @Test
    void vqEncoderGivesTheReferenceCodes() throws IOException {
        JsonNode v = reference().get("vq_encode");
        CliRun r = run("inspect", "vq-encode", "--model", DEMO.toString(), "--image", DEMO.resolve(v.get("image").asText()).toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(csv(ints(v.get("codes_rowmajor"))));
    }

    @Test
    void vqDecoderDrawsTheReferencePicture() throws IOException {
        JsonNode g = reference().get("greedy_text_to_image");
        Path png = tmp.resolve("decoded.png");
        CliRun r = run("inspect", "vq-decode", "--model", DEMO.toString(), "--codes", csv(ints(g.get("codes"))),
                "--out", png.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        BufferedImage mine = ImageIO.read(png.toFile());
        BufferedImage theirs = ImageIO.read(DEMO.resolve(g.get("decoded_png").asText()).toFile());
        assertThat(mine.getWidth()).isEqualTo(theirs.getWidth());
        assertThat(mine.getHeight()).isEqualTo(theirs.getHeight());
        int worst = 0;
        for (int y = 0; y < mine.getHeight(); y++) {
            for (int x = 0; x < mine.getWidth(); x++) {
                int a = mine.getRGB(x, y), b = theirs.getRGB(x, y);
                for (int shift = 0; shift < 24; shift += 8) {
                    worst = Math.max(worst, Math.abs((a >> shift & 0xFF) - (b >> shift & 0xFF)));
                }
            }
        }
        // float32 in both; Meta's 8-bit rule truncates, so a value on a step's edge may land one step apart
        assertThat(worst).as("largest channel difference").isLessThanOrEqualTo(1);
    }
}
