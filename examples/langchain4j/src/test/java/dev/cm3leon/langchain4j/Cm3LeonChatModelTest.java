package dev.cm3leon.langchain4j;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.GeneratedText;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AudioContent;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.TokenStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Captions and questions through LangChain4j's {@link ChatModel}, {@link StreamingChatModel} and an AI service. */
class Cm3LeonChatModelTest {
    static Cm3Leon model;
    static Cm3LeonChatModel chat;
    static Cm3LeonStreamingChatModel streaming;
    static BufferedImage drawing;

    @BeforeAll
    static void load() {
        model = DemoModel.load();
        chat = Cm3LeonChatModel.builder().model(model).build();
        streaming = Cm3LeonStreamingChatModel.builder().model(model).build();
        drawing = model.textToImage("a large green triangle at the bottom right").seed(5).generate().image();
    }

    @AfterAll
    static void close() {
        chat.close();
        streaming.close();
        model.close();
    }

    static ImageContent image() {
        return ImageContent.from(DemoModel.asLangChain4j(drawing));
    }

    @Test
    void anImageAloneIsCaptionedAsTheLibraryCaptionsIt() {
        ChatResponse r = chat.chat(UserMessage.from(image()));
        GeneratedText expected = model.caption(drawing).maxTokens(ChatTurn.DEFAULT_MAX_TOKENS).generate();
        assertThat(r.aiMessage().text()).isEqualTo(expected.text()).isNotBlank();
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(expected.tokens().length);
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(r.modelName()).isEqualTo("demo-model");
    }

    @Test
    void textBesideTheImageIsAQuestionAboutIt() {
        ChatResponse r = chat.chat(UserMessage.from(TextContent.from("what colour is the shape?"), image()));
        assertThat(r.aiMessage().text()).isEqualTo(model.vqa(drawing, "what colour is the shape?").generate().text()).contains("green");
    }

    @Test
    void theRequestsParametersOverrideTheBuilders() {
        ChatRequest request = ChatRequest.builder().messages(UserMessage.from(image())).maxOutputTokens(2).build();
        ChatResponse r = chat.chat(request);
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(2);
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.aiMessage().text()).isEqualTo(model.caption(drawing).maxTokens(2).generate().text());
    }

    @Test
    void whatTheModelCannotDoIsRefusedByName() {
        assertThatThrownBy(() -> chat.chat(UserMessage.from(AudioContent.from("AAAA", "audio/wav"), image())))
                .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("audio content");
        assertThatThrownBy(() -> chat.chat("describe a cat")).isInstanceOf(UnsupportedFeatureException.class)
                .hasMessageContaining("add an ImageContent");
        assertThatThrownBy(() -> chat.chat(SystemMessage.from("be brief"), UserMessage.from(image())))
                .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("[system, user]");
        ChatRequest withTools = ChatRequest.builder().messages(UserMessage.from(image()))
                .toolSpecifications(ToolSpecification.builder().name("weather").description("the weather").build()).build();
        assertThatThrownBy(() -> chat.chat(withTools)).isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("tools");
        assertThatThrownBy(() -> chat.chat(UserMessage.from(image(), image()))).isInstanceOf(UnsupportedFeatureException.class)
                .hasMessageContaining("one image");
    }

    @Test
    void streamingDeliversTheAnswerTokenByTokenThenWhole() throws Exception {
        List<String> parts = new CopyOnWriteArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(List.of(UserMessage.from(image())), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String text) {
                parts.add(text);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        String expected = model.caption(drawing).maxTokens(ChatTurn.DEFAULT_MAX_TOKENS).generate().text();
        assertThat(r.aiMessage().text()).isEqualTo(expected).contains("triangle");
        assertThat(parts).hasSizeGreaterThan(1);
        assertThat(String.join("", parts).strip()).isEqualTo(expected);
    }

    @Test
    void streamingReportsARefusalThroughOnError() throws Exception {
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        streaming.chat("no image here", new StreamingChatResponseHandler() {
            @Override
            public void onCompleteResponse(ChatResponse response) {
                error.complete(null);
            }

            @Override
            public void onError(Throwable e) {
                error.complete(e);
            }
        });
        assertThat(error.get(60, TimeUnit.SECONDS)).isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("ImageContent");
    }

    interface ShapeInspector {
        String ask(@dev.langchain4j.service.UserMessage String question, @dev.langchain4j.service.UserMessage ImageContent image);

        TokenStream askStreaming(@dev.langchain4j.service.UserMessage String question, @dev.langchain4j.service.UserMessage ImageContent image);
    }

    @Test
    void anAiServiceAsksAboutAnImage() throws Exception {
        ShapeInspector inspector = AiServices.builder(ShapeInspector.class).chatModel(chat).streamingChatModel(streaming).build();
        String expected = model.vqa(drawing, "where is the shape?").generate().text();
        assertThat(inspector.ask("where is the shape?", image())).isEqualTo(expected).contains("bottom right");

        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        inspector.askStreaming("where is the shape?", image())
                .onPartialResponse(t -> { })
                .onCompleteResponse(done::complete)
                .onError(done::completeExceptionally)
                .start();
        assertThat(done.get(60, TimeUnit.SECONDS).aiMessage().text()).isEqualTo(expected);
    }
}
