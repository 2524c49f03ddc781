package dev.cm3leon.langchain4j;

import dev.cm3leon.GeneratedText;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streaming twin of {@link Cm3LeonChatModel}: the answer's text arrives token by token through
 * {@code onPartialResponse}, then the whole answer through {@code onCompleteResponse}. Each call returns at once and
 * runs on a thread of its own; a request the model cannot answer reaches {@code onError} before any token.
 */
public final class Cm3LeonStreamingChatModel implements StreamingChatModel, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Cm3LeonStreamingChatModel.class);
    private final ModelLease lease;
    private final DecodingSettings decoding;

    private Cm3LeonStreamingChatModel(Builder b) {
        this.decoding = b.decoding;
        this.lease = ModelLease.of(b.model, b.modelPath, b.engineOptions, "Cm3LeonStreamingChatModel");
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Thread.ofVirtual().name("cm3leon-chat-stream").start(() -> {
            try {
                ChatTurn turn = ChatTurn.of(request, decoding);
                GeneratedText out = turn.request(lease.model(), decoding.seedForCall()).stream(token -> {
                    if (!token.text().isEmpty()) handler.onPartialResponse(token.text());
                });
                handler.onCompleteResponse(Cm3LeonChatModel.response(lease.name(), out, turn));
            } catch (RuntimeException e) {
                try {
                    handler.onError(e);
                } catch (RuntimeException inHandler) {
                    log.warn("the streaming handler's onError failed", inHandler);
                }
            }
        });
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    @Override
    public void close() {
        lease.close();
    }

    public static final class Builder extends ChatModelBuilder<Builder, Cm3LeonStreamingChatModel> {
        private Builder() {
        }

        @Override
        public Cm3LeonStreamingChatModel build() {
            return new Cm3LeonStreamingChatModel(this);
        }
    }
}
