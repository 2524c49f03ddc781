package dev.cm3leon.langchain4j;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.engine.EngineOptions;

import java.nio.file.Path;

/**
 * The settings both chat models take, in LangChain4j's builder style; unset decoding parameters keep the checkpoint
 * family's text defaults (greedy where it states none), and a request's own parameters override these.
 */
public abstract sealed class ChatModelBuilder<B extends ChatModelBuilder<B, M>, M>
        permits Cm3LeonChatModel.Builder, Cm3LeonStreamingChatModel.Builder {
    Path modelPath;
    Cm3Leon model;
    EngineOptions engineOptions;
    DecodingSettings decoding = DecodingSettings.FAMILY_DEFAULTS;

    ChatModelBuilder() {
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** A checkpoint folder to load (and close with the chat model). */
    public B modelPath(Path folder) {
        this.modelPath = folder;
        return self();
    }

    /** A model the application already loaded and keeps open; the chat model does not close it. */
    public B model(Cm3Leon model) {
        this.model = model;
        return self();
    }

    public B engineOptions(EngineOptions options) {
        this.engineOptions = options;
        return self();
    }

    /** Temperature; 0 is greedy. */
    public B temperature(Double t) {
        decoding = decoding.withTemperature(t);
        return self();
    }

    public B topP(Double p) {
        decoding = decoding.withTopP(p);
        return self();
    }

    public B topK(Integer k) {
        decoding = decoding.withTopK(k);
        return self();
    }

    public B repetitionPenalty(Double penalty) {
        decoding = decoding.withRepetitionPenalty(penalty);
        return self();
    }

    /** New tokens per answer (default 64). */
    public B maxTokens(Integer n) {
        decoding = decoding.withMaxTokens(n);
        return self();
    }

    /** A fixed seed, for answers that repeat when sampling; unset, each call draws one. */
    public B seed(Long seed) {
        decoding = decoding.withSeed(seed);
        return self();
    }

    public abstract M build();
}
