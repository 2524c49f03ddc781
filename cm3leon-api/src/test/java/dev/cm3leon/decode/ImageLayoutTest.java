package dev.cm3leon.decode;

import dev.cm3leon.checkpoint.VocabularyMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Image layouts as data: Chameleon's and Lumina-mGPT's, laid out, parsed back, and followed by the modality state. */
class ImageLayoutTest {
    // A 64-id vocabulary: 16 image tokens at 4–19, BOI 20, EOI 21, a row separator 22, size tokens from 23 (0 units).
    static final int V = 64, BOI = 20, EOI = 21, NEWLINE = 22, SIZE0 = 23;
    static final VocabularyMap VOCAB = vocabulary();
    static final ImageLayout LUMINA = new ImageLayout(BOI, EOI, SIZE0, 8, 2, NEWLINE, new ImageLayout.Grid(4, 4));
    static final ImageLayout CHAMELEON = ImageLayout.chameleon(BOI, EOI, new ImageLayout.Grid(4, 4));

    static VocabularyMap vocabulary() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < 16; i++) {
            StringBuilder letters = new StringBuilder();
            for (char digit : Integer.toString(i).toCharArray()) letters.append((char) ('A' + digit - '0'));
            m.put(VocabularyMap.IMAGE_TOKEN_PREFIX + letters + "Z", 4 + i);
        }
        m.put(VocabularyMap.BOI, BOI);
        m.put(VocabularyMap.EOI, EOI);
        return VocabularyMap.of(m, V, Path.of("test"));
    }

    static int[] randomCodeTokens(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = 4 + r.nextInt(16);
        return ids;
    }

    @Test
    void chameleonsImageIsBeginOfImageTheCodesAndEndOfImage() {
        int[] codes = randomCodeTokens(16, 1);
        int[] seq = CHAMELEON.sequence(codes, new ImageLayout.Grid(4, 4));
        assertThat(seq).hasSize(18);
        assertThat(seq[0]).isEqualTo(BOI);
        assertThat(Arrays.copyOfRange(seq, 1, 17)).containsExactly(codes);
        assertThat(seq[17]).isEqualTo(EOI);
        assertThat(CHAMELEON.parse(seq).codeTokens()).containsExactly(codes);
        assertThat(CHAMELEON.allows(new ImageLayout.Grid(2, 4))).isFalse();
    }

    @Test
    void luminasImageStatesItsSizeAndEndsEachRowWithANewline() {
        ImageLayout.Grid grid = new ImageLayout.Grid(2, 6);          // 1×3 size units of 2 codes
        int[] codes = randomCodeTokens(12, 2);
        int[] seq = LUMINA.sequence(codes, grid);
        assertThat(seq).hasSize(LUMINA.length(grid)).hasSize(3 + 2 * 7 + 1);
        assertThat(Arrays.copyOfRange(seq, 0, 3)).containsExactly(BOI, SIZE0 + 1, SIZE0 + 3);
        assertThat(seq[3 + 6]).isEqualTo(NEWLINE);
        assertThat(seq[3 + 13]).isEqualTo(NEWLINE);
        assertThat(seq[seq.length - 1]).isEqualTo(EOI);
        ImageLayout.Parsed parsed = LUMINA.parse(seq);
        assertThat(parsed.grid()).isEqualTo(grid);
        assertThat(parsed.complete()).isTrue();
        assertThat(parsed.codeTokens()).containsExactly(codes);
    }

    @Test
    void aGridTheSizeTokensCannotStateIsRefused() {
        assertThat(LUMINA.allows(new ImageLayout.Grid(3, 4))).isFalse();      // not whole units
        assertThat(LUMINA.allows(new ImageLayout.Grid(18, 2))).isFalse();     // 9 units > 8
        assertThatThrownBy(() -> LUMINA.header(new ImageLayout.Grid(18, 2))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at most 8 units");
        assertThatThrownBy(() -> LUMINA.gridOfSizeTokens(SIZE0, SIZE0 + 1)).hasMessageContaining("not size tokens");
    }

    /** Logits that prefer {@code favourite} over everything else. */
    static float[] preferring(int favourite) {
        float[] l = new float[V];
        l[favourite] = 5f;
        return l;
    }

    @Test
    void theStateMachineReadsTheSizeTheModelChoosesThenForcesNewlinesAndEndOfImage() {
        ModalityState m = new ModalityState(VOCAB, V, LUMINA, ModalityState.Output.INTERLEAVED, null);
        m.accept(30);                        // text
        m.accept(BOI);
        assertThat(m.inImage()).isTrue();
        float[] l = preferring(5);           // an image token is not a size
        m.mask(l);
        for (int i = 0; i < V; i++) assertThat(Float.isFinite(l[i])).isEqualTo(i > SIZE0 && i <= SIZE0 + 8);
        m.accept(SIZE0 + 1);                 // 1 unit high
        m.accept(SIZE0 + 2);                 // 2 units wide: a 2×4 grid
        assertThat(m.grid()).isEqualTo(new ImageLayout.Grid(2, 4));
        int[] body = new int[LUMINA.bodyLength(m.grid()) + 1];
        for (int t = 0; t < body.length; t++) {
            int forced = m.forcedToken();
            if (forced < 0) {
                float[] logits = preferring(NEWLINE);     // the model's wish is masked away inside a row
                m.mask(logits);
                assertThat(logits[NEWLINE]).isEqualTo(Float.NEGATIVE_INFINITY);
                forced = 4 + t % 16;
            }
            body[t] = forced;
            m.accept(forced);
        }
        assertThat(body).containsExactly(4, 5, 6, 7, NEWLINE, 9, 10, 11, 12, NEWLINE, EOI);
        assertThat(m.inImage()).isFalse();
    }

    @Test
    void anImageRequestStartsInsideTheGridItsPromptStated() {
        ModalityState m = new ModalityState(VOCAB, V, LUMINA, ModalityState.Output.IMAGE, new ImageLayout.Grid(2, 2));
        int n = 0;
        while (!m.finished()) {
            int forced = m.forcedToken();
            m.accept(forced >= 0 ? forced : 4);
            n++;
        }
        assertThat(n).isEqualTo(2 * 3 + 1);
    }

    /**
     * Lumina-mGPT's item processor fits an input image to the bucket keeping most of it; the expected buckets are
     * its {@code generate_crop_size_list} and {@code var_center_crop} run on these sizes (targets 512 and 768).
     */
    @ParameterizedTest
    @CsvSource({
            "512, 1000, 500, 704, 352", "512, 500, 1000, 352, 704", "512, 640, 480, 576, 448", "512, 512, 512, 512, 512",
            "512, 300, 1200, 256, 1024", "512, 1200, 100, 1024, 256", "512, 768, 432, 672, 384",
            "768, 1000, 500, 1056, 544", "768, 640, 480, 864, 640", "768, 300, 1200, 384, 1536", "768, 768, 432, 1024, 576"})
    void anInputImageIsFittedToLuminasAspectRatioBuckets(int target, int w, int h, int bucketW, int bucketH) {
        int side = target / 16;
        ImageLayout l = new ImageLayout(BOI, EOI, SIZE0, 64, 2, NEWLINE, new ImageLayout.Grid(side, side));
        assertThat(l.bucketFor(w, h)).isEqualTo(new ImageLayout.Grid(bucketH / 16, bucketW / 16));
    }
}
