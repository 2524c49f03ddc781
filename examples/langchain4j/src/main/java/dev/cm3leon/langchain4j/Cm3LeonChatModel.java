package dev.cm3leon.langchain4j;

import dev.cm3leon.GeneratedText;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;

/**
 * A LangChain4j {@link ChatModel} for image→text on a cm3leon checkpoint: a user message with one
 * {@code ImageContent} and optional {@code TextContent} gets a caption (no text) or the answer to the text's
 * question. Thread-safe; closing it closes a model it loaded itself, never one handed in.
 */
public final class Cm3LeonChatModel implements ChatModel, AutoCloseable {
    private final ModelLease lease;
    private final DecodingSettings decoding;

    private Cm3LeonChatModel(Builder b) {
        this.decoding = b.decoding;
        this.lease = ModelLease.of(b.model, b.modelPath, b.engineOptions, "Cm3LeonChatModel");
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        ChatTurn turn = ChatTurn.of(request, decoding);
        GeneratedText out = turn.request(lease.model(), decoding.seedForCall()).generate();
        return response(lease.name(), out, turn);
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    @Override
    public void close() {
        lease.close();
    }

    /** The answer; LENGTH when it used every token it was allowed. */
    static ChatResponse response(String modelName, GeneratedText out, ChatTurn turn) {
        int n = out.tokens().length;
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(out.text()))
                .modelName(modelName)
                .tokenUsage(new TokenUsage(null, n))
                .finishReason(n >= turn.decoding().maxTokens() ? FinishReason.LENGTH : FinishReason.STOP)
                .build();
    }

    public static final class Builder extends ChatModelBuilder<Builder, Cm3LeonChatModel> {
        private Builder() {
        }

        @Override
        public Cm3LeonChatModel build() {
            return new Cm3LeonChatModel(this);
        }
    }
}
