package dev.cm3leon.engine.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bf16 KV cache against the f32 one on the chameleon fixture: the logits of every position of the forward cases
 * (|Δ|, top-1 agreement) and 48 greedy tokens after each prompt. The figures go to
 * {@code target/kv-cache-accuracy.txt}; benchmarks/RESULTS.md quotes them.
 */
class KvCacheAccuracyTest {
    static final List<String> CASES = List.of("text", "mixed_ids", "long_text");
    static final EngineOptions CPU = EngineOptions.defaults().withBackend("cpu");

    @Test
    void bf16KeysAndValuesMoveLogitsLittleKeepGreedyTokensAndHalveTheCache() throws IOException {
        JsonNode forward = Fixtures.json("chameleon/golden.json").get("forward");
        int positions = 0, agree = 0, greedy = 0, greedySame = 0;
        double maxDelta = 0, sumDelta = 0, maxSpread = 0;
        long compared = 0;
        try (Cm3Leon f32 = Cm3Leon.load(Fixtures.path("chameleon/model"), CPU);
             Cm3Leon bf16 = Cm3Leon.load(Fixtures.path("chameleon/model"), CPU.withKvCache("bf16"))) {
            int v = f32.config().vocabSize();
            for (String c : CASES) {
                int[] ids = Fixtures.ints(forward.get(c).get("input_ids"));
                float[] a = f32.logits(ids), b = bf16.logits(ids);
                for (int t = 0; t < ids.length; t++) {
                    int fa = argmax(a, t * v, v), fb = argmax(b, t * v, v);
                    positions++;
                    if (fa == fb) agree++;
                    float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
                    for (int i = t * v; i < (t + 1) * v; i++) {
                        if (a[i] <= -1e30f) continue;   // image tokens, suppressed in text as the reference does
                        double d = Math.abs(a[i] - b[i]);
                        maxDelta = Math.max(maxDelta, d);
                        sumDelta += d;
                        compared++;
                        lo = Math.min(lo, a[i]);
                        hi = Math.max(hi, a[i]);
                    }
                    maxSpread = Math.max(maxSpread, hi - lo);
                }
                int[] ga = f32.generateGreedy(ids, 48), gb = bf16.generateGreedy(ids, 48);
                greedy += ga.length;
                for (int i = 0; i < Math.min(ga.length, gb.length); i++) if (ga[i] == gb[i]) greedySame++; else break;
            }
            CpuEngine e32 = (CpuEngine) f32.engine(), e16 = (CpuEngine) bf16.engine();
            try (var c32 = e32.newCache(100); var c16 = e16.newCache(100)) {
                assertThat(e16.kvCacheBudget().reservedBytes() * 2).isEqualTo(e32.kvCacheBudget().reservedBytes());
            }
        }
        String report = String.format(Locale.ROOT, "bf16 vs f32 KV cache on the chameleon fixture (%d positions of %s): "
                        + "logits |Δ| max %.2e, mean %.2e (logit range up to %.1f); top-1 agreement %.2f %%; "
                        + "greedy tokens identical %d of %d (until the first difference)%n",
                positions, CASES, maxDelta, sumDelta / compared, maxSpread, 100.0 * agree / positions, greedySame, greedy);
        Path target = Path.of("target");
        if (Files.isDirectory(target)) Files.writeString(target.resolve("kv-cache-accuracy.txt"), report);
        System.out.print(report);
        // Measured: max 0.015, mean 0.0013, on logits spanning about 10.
        assertThat(maxDelta).isLessThan(0.05).isLessThan(0.01 * maxSpread);
        assertThat(sumDelta / compared).isLessThan(5e-3);
        assertThat((double) agree / positions).isGreaterThanOrEqualTo(0.98);
        assertThat(greedySame).isGreaterThanOrEqualTo(greedy * 9 / 10);
    }

    private static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (x[off + i] > x[off + best]) best = i;
        return best;
    }
}
