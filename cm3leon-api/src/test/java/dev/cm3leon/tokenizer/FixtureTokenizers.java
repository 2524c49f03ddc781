package dev.cm3leon.tokenizer;

import dev.cm3leon.testing.Fixtures;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The fixture tokenizers by name ({@code gpt2}, {@code qwen3}...), each loaded once for all test classes. */
final class FixtureTokenizers {
    private static final Map<String, TextTokenizer> LOADED = new ConcurrentHashMap<>();

    private FixtureTokenizers() {
    }

    static TextTokenizer get(String name) {
        return LOADED.computeIfAbsent(name, n -> TextTokenizer.load(Fixtures.path("tokenizers/"
                + Fixtures.json("tokenizers/manifest.json").get("tokenizers").get(n).get("file").asText())));
    }
}
