package dev.cm3leon;

import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.decode.ModalityState;

import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A request whose output is one image: text→image, and the image-conditioned tasks (edit, structure-guided
 * generation) that differ only in their template and default guidance.
 */
public final class TextToImageRequest extends Request<GeneratedImage, TextToImageRequest> {
    private final String task;
    private final String text;
    private final BufferedImage condition;

    TextToImageRequest(Cm3Leon model, String task, String text, BufferedImage condition, DecodingOptions defaults) {
        super(model, defaults);
        this.task = task;
        this.text = text;
        this.condition = condition;
        model.format().requireImages();
        if (!model.format().codec().canDecode()) {
            throw new InvalidRequestException("this checkpoint has no VQ-GAN decoder (model.vqmodel.decoder.*), so it cannot draw "
                    + "images; to enable image output, " + model.vqGanFiles().whatEnablesImageOutput());
        }
        model.format().templates().template(task);
    }

    @Override
    GeneratedImage execute(GenerationControl control) {
        SequenceFormat f = model.format();
        var template = f.templates().template(task);
        long e0 = System.nanoTime();
        int[] conditionTokens = condition == null ? null : f.image(condition);
        long encodeNanos = condition == null ? 0 : System.nanoTime() - e0;
        int[] full = f.render(template, text, conditionTokens);
        int[] imageOnly = condition == null ? null : f.render(template, null, conditionTokens);
        int[] bare = new int[]{f.bos(), f.vocabulary().beginOfImage()};
        dev.cm3leon.decode.Scorer scorer = this.scorer != null || options.samples() == 1 ? this.scorer
                : model.defaultScorer().orElse(null);
        List<Retrieval.Document> docs = Retrieved.fetch(this, text, condition);
        full = Retrieved.prepend(f, docs, full);
        if (full[full.length - 1] != f.vocabulary().beginOfImage()) {
            throw new InvalidRequestException("the '" + task + "' template must end with begin-of-image");
        }
        int maxNew = f.tokensPerImage() + 1;
        var out = RequestRunner.run(this, new RequestRunner.Prompts(full, imageOnly, bare), ModalityState.Output.IMAGE,
                true, maxNew, control);
        int grid = f.codec().gridSize();
        List<GeneratedImage.Sample> samples = new ArrayList<>();
        long decodeNanos = 0;
        for (int s = 0; s < out.tokens().length; s++) {
            control.check();
            int[] tokens = out.tokens()[s];
            int[] codes = new int[grid * grid];
            for (int i = 0; i < codes.length; i++) codes[i] = f.vocabulary().codeOfBpeId(tokens[i]);
            long d0 = System.nanoTime();
            BufferedImage img = f.codec().decode(codes, grid, grid);
            decodeNanos += System.nanoTime() - d0;
            double score = scorer == null ? Double.NaN : scorer.score(text == null ? "" : text, img);
            samples.add(new GeneratedImage.Sample(img, codes, tokens, score, out.contrastive()[s]));
        }
        GeneratedImage.Sample best = scorer == null ? samples.getFirst()
                : samples.stream().max(Comparator.comparingDouble(GeneratedImage.Sample::score)).orElseThrow();
        return new GeneratedImage(best.image(), best.codes(), best.tokens(), best.score(), List.copyOf(samples),
                out.timings().withImageParts(Duration.ofNanos(encodeNanos), Duration.ofNanos(decodeNanos)), docs);
    }
}
