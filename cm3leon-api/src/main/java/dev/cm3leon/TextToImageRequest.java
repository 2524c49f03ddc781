package dev.cm3leon;

import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.decode.ImageLayout;
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
    private ImageLayout.Grid grid;

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

    /**
     * The drawn image's size in pixels. A checkpoint whose image layout has size tokens (Lumina-mGPT) draws any size
     * they can state (multiples of 32 pixels there; its aspect-ratio buckets are what it was trained on); others draw
     * their VQ-GAN's resolution only.
     */
    public TextToImageRequest size(int width, int height) {
        grid = model.format().gridForSize(width, height);
        return this;
    }

    @Override
    GeneratedImage execute(GenerationControl control) {
        SequenceFormat f = model.format();
        ImageLayout layout = f.imageLayout();
        ImageLayout.Grid drawn = grid != null ? grid : layout.defaultGrid();
        var template = f.templates().template(task);
        long e0 = System.nanoTime();
        int[] conditionTokens = condition == null ? null : f.image(condition);
        long encodeNanos = condition == null ? 0 : System.nanoTime() - e0;
        int[] full = f.render(template, text, conditionTokens, drawn);
        int[] imageOnly = condition == null ? null : f.render(template, null, conditionTokens, drawn);
        if (condition == null && options.guidance() instanceof DecodingOptions.ThreeStream t) {
            // Meta's image-only stream keeps a prompt's image tokens; a text prompt has none, so that stream is the
            // unconditional one and 3-stream guidance is exactly 2-stream at the text scale: run the two streams only.
            options.guidance(t.textScale(), DecodingOptions.Unconditional.BARE_BEGIN_OF_IMAGE);
        }
        // The unconditional stream: the family's template (Lumina: the image header alone), else BOS and the header.
        int[] bare = f.templates().has(TaskTemplates.UNCONDITIONAL_IMAGE)
                ? f.render(f.templates().template(TaskTemplates.UNCONDITIONAL_IMAGE), null, null, drawn)
                : RequestRunner.concat(new int[]{f.bos()}, layout.header(drawn));
        dev.cm3leon.decode.Scorer scorer = this.scorer != null || options.samples() == 1 ? this.scorer
                : model.defaultScorer().orElse(null);
        List<Retrieval.Document> docs = Retrieved.fetch(this, text, condition);
        full = Retrieved.prepend(f, docs, full);
        int[] header = layout.header(drawn);
        if (!endsWith(full, header)) {
            throw new InvalidRequestException("the '" + task + "' template must end with the image's header ({image_start}, or "
                    + "begin-of-image for a layout without size tokens)");
        }
        int maxNew = layout.bodyLength(drawn) + 1;
        var out = RequestRunner.run(this, new RequestRunner.Prompts(full, imageOnly, bare), ModalityState.Output.IMAGE,
                drawn, maxNew, control);
        List<GeneratedImage.Sample> samples = new ArrayList<>();
        long decodeNanos = 0;
        for (int s = 0; s < out.tokens().length; s++) {
            control.check();
            int[] tokens = out.tokens()[s];
            // The body as generated: header + body parsed in the layout (row separators dropped).
            ImageLayout.Parsed parsed = layout.parse(RequestRunner.concat(header, tokens));
            int[] codes = new int[drawn.codes()];
            int[] ids = parsed.codeTokens();
            for (int i = 0; i < codes.length; i++) codes[i] = f.vocabulary().codeOfBpeId(ids[i]);
            long d0 = System.nanoTime();
            BufferedImage img = f.codec().decode(codes, drawn.rows(), drawn.cols());
            decodeNanos += System.nanoTime() - d0;
            double score = scorer == null ? Double.NaN : scorer.score(text == null ? "" : text, img);
            samples.add(new GeneratedImage.Sample(img, codes, tokens, score, out.contrastive()[s]));
        }
        GeneratedImage.Sample best = scorer == null ? samples.getFirst()
                : samples.stream().max(Comparator.comparingDouble(GeneratedImage.Sample::score)).orElseThrow();
        return new GeneratedImage(best.image(), best.codes(), best.tokens(), best.score(), List.copyOf(samples),
                out.timings().withImageParts(Duration.ofNanos(encodeNanos), Duration.ofNanos(decodeNanos)), docs,
                java.util.Optional.ofNullable(out.speculation()));
    }

    private static boolean endsWith(int[] a, int[] suffix) {
        if (a.length < suffix.length) return false;
        for (int i = 0; i < suffix.length; i++) if (a[a.length - suffix.length + i] != suffix[i]) return false;
        return true;
    }
}
