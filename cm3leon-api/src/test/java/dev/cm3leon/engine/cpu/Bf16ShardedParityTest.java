package dev.cm3leon.engine.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/** bf16 weights in two shards, kept as bf16 and accumulated in f32, against HF on the same bf16-rounded weights. */
class Bf16ShardedParityTest {
    @ParameterizedTest
    @ValueSource(strings = {"text", "long_text"})
    void bf16ShardedCheckpointMatchesTheReference(String name) {
        JsonNode golden = Fixtures.json("chameleon-bf16-sharded/golden.json");
        JsonNode c = golden.get("cases").get(name);
        try (Cm3Leon model = Cm3Leon.load(Fixtures.path("chameleon-bf16-sharded/model"), EngineOptions.defaults().withBackend("cpu"))) {
            assertThat(model.checkpoint().tensors().get("model.layers.0.self_attn.q_proj.weight").dtype()).isEqualTo(DType.BF16);
            float[] actual = model.logits(Fixtures.ints(c.get("input_ids")));
            assertThat(Fixtures.maxAbsDiff(actual, Fixtures.f32("chameleon-bf16-sharded", c.get("logits")))).isLessThanOrEqualTo(1e-4);
        }
    }
}
