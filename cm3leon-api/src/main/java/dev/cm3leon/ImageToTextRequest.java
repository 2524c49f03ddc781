package dev.cm3leon;

import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.decode.ModalityState;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Image→text: a caption, or with {@link #prompt(String)} an answer to a question about the image (VQA). */
public final class ImageToTextRequest extends Request<GeneratedText, ImageToTextRequest> {
    static final int DEFAULT_MAX_TOKENS = 64;
    private final BufferedImage image;
    private String question;

    ImageToTextRequest(Cm3Leon model, BufferedImage image, DecodingOptions defaults) {
        super(model, defaults);
        this.image = java.util.Objects.requireNonNull(image, "image");
        model.format().requireImages();
    }

    /** Ask a question about the image instead of captioning it. */
    public ImageToTextRequest prompt(String question) {
        if (question == null || question.isBlank()) throw new InvalidRequestException("the question is empty");
        this.question = question;
        model.format().templates().template(TaskTemplates.VQA);
        return this;
    }

    @Override
    GeneratedText execute(GenerationControl control) {
        SequenceFormat f = model.format();
        String task = question == null ? TaskTemplates.CAPTION : TaskTemplates.VQA;
        var template = f.templates().template(task);
        int[] imageTokens = f.image(image);
        int[] full = f.render(template, question, imageTokens);
        int[] bare = f.render(template, null, null);
        dev.cm3leon.decode.Scorer scorer = this.scorer != null || options.samples() == 1 ? this.scorer
                : model.defaultScorer().orElse(null);
        List<Retrieval.Document> docs = Retrieved.fetch(this, question, image);
        full = Retrieved.prepend(f, docs, full);
        int maxNew = maxTokens == null ? DEFAULT_MAX_TOKENS : maxTokens;
        var out = RequestRunner.run(this, new RequestRunner.Prompts(full, bare, bare), ModalityState.Output.TEXT, null,
                maxNew, control);
        List<GeneratedText.Sample> samples = new ArrayList<>();
        for (int s = 0; s < out.tokens().length; s++) {
            int[] tokens = out.tokens()[s];
            String text = f.detokenize(tokens).strip();
            double score = scorer == null ? Double.NaN : scorer.score(text, image);
            samples.add(new GeneratedText.Sample(text, tokens, score, out.contrastive()[s]));
        }
        GeneratedText.Sample best = scorer == null ? samples.getFirst()
                : samples.stream().max(Comparator.comparingDouble(GeneratedText.Sample::score)).orElseThrow();
        return new GeneratedText(best.text(), best.tokens(), best.score(), List.copyOf(samples), out.timings(), docs);
    }
}
