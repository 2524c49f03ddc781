package dev.cm3leon.langchain4j;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.ImageToTextRequest;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormatType;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One chat request as the model can answer it: an image and, optionally, a question about it (no question: a
 * caption). The request's own parameters override the builder's. Anything the model cannot do is refused by name
 * before any work starts: audio, video or PDF content, tools, JSON output, stop sequences, earlier turns.
 */
record ChatTurn(BufferedImage image, String question, DecodingSettings decoding) {
    /** New tokens of an answer unless the builder or the request says otherwise. */
    static final int DEFAULT_MAX_TOKENS = 64;

    static ChatTurn of(ChatRequest request, DecodingSettings defaults) {
        List<ChatMessage> messages = request.messages();
        if (messages.size() != 1 || !(messages.getFirst() instanceof UserMessage user)) {
            throw new UnsupportedFeatureException("cm3leon answers one user message about one image; this request has "
                    + describe(messages) + " (system messages and earlier turns are not supported)");
        }
        if (request.toolSpecifications() != null && !request.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("cm3leon chat models cannot call tools (the request offers "
                    + request.toolSpecifications().size() + ")");
        }
        if (request.responseFormat() != null && request.responseFormat().type() == ResponseFormatType.JSON) {
            throw new UnsupportedFeatureException("cm3leon chat models answer in plain text, not JSON");
        }
        if (request.stopSequences() != null && !request.stopSequences().isEmpty()) {
            throw new UnsupportedFeatureException("cm3leon chat models stop at the end of the answer; stop sequences are not supported");
        }
        if (request.frequencyPenalty() != null || request.presencePenalty() != null) {
            throw new UnsupportedFeatureException("cm3leon chat models have no frequency or presence penalty (the builder's "
                    + "repetitionPenalty is the penalty they apply)");
        }
        BufferedImage image = null;
        List<String> texts = new ArrayList<>();
        for (Content c : user.contents()) {
            switch (c) {
                case TextContent t -> texts.add(t.text());
                case ImageContent i -> {
                    if (image != null) throw new UnsupportedFeatureException("cm3leon answers about one image per message; this one has more");
                    image = Images.read(i.image(), "the message's image");
                }
                default -> throw new UnsupportedFeatureException("cm3leon reads text and images; a user message with "
                        + c.type().name().toLowerCase(Locale.ROOT) + " content is not supported");
            }
        }
        if (image == null) {
            throw new UnsupportedFeatureException("cm3leon chat models caption or answer questions about an image: add an ImageContent to the user message");
        }
        String question = String.join(" ", texts).strip();
        DecodingSettings d = defaults;
        if (request.temperature() != null) d = d.withTemperature(request.temperature());
        if (request.topP() != null) d = d.withTopP(request.topP());
        if (request.topK() != null) d = d.withTopK(request.topK());
        if (request.maxOutputTokens() != null) d = d.withMaxTokens(request.maxOutputTokens());
        if (d.maxTokens() == null) d = d.withMaxTokens(DEFAULT_MAX_TOKENS);
        return new ChatTurn(image, question.isEmpty() ? null : question, d);
    }

    /** The library request: a caption, or the question asked. */
    ImageToTextRequest request(Cm3Leon model, long seed) {
        ImageToTextRequest r = question == null ? model.caption(image) : model.vqa(image, question);
        return decoding.applySampling(r, seed);
    }

    private static String describe(List<ChatMessage> messages) {
        if (messages.isEmpty()) return "no message";
        return messages.size() + " messages (" + messages.stream().map(m -> m.type().name().toLowerCase(Locale.ROOT)).toList() + ")";
    }
}
