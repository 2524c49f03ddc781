package dev.cm3leon;

import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.decode.ModalityState;

import java.util.ArrayList;
import java.util.List;

/** Free generation of interleaved text and images after a mixed-modal prompt. */
public final class InterleavedRequest extends Request<GeneratedDocument, InterleavedRequest> {
    static final int DEFAULT_MAX_TOKENS = 256;
    private final Prompt prompt;

    InterleavedRequest(Cm3Leon model, Prompt prompt, DecodingOptions defaults) {
        super(model, defaults);
        this.prompt = java.util.Objects.requireNonNull(prompt, "prompt");
        if (prompt.hasMasks()) throw new InvalidRequestException("the prompt has masks: use infill(prompt) to fill them");
    }

    @Override
    GeneratedDocument execute(GenerationControl control) {
        if (!(options.guidance() instanceof DecodingOptions.NoGuidance)) {
            throw new InvalidRequestException("guidance applies to image requests (textToImage, edit); interleaved generation runs unguided");
        }
        SequenceFormat f = model.format();
        SequenceFormat.IntBuilder ids = new SequenceFormat.IntBuilder();
        ids.add(f.bos());
        for (Prompt.Segment s : prompt.segments()) {
            switch (s) {
                case Prompt.Text t -> ids.addAll(f.text(t.text()));
                case Prompt.Image i -> ids.addAll(f.image(i.image()));
                case Prompt.Mask m -> throw new IllegalStateException("masks were refused earlier");
            }
        }
        String queryText = prompt.segments().stream().filter(x -> x instanceof Prompt.Text)
                .map(x -> ((Prompt.Text) x).text()).reduce("", String::concat);
        java.awt.image.BufferedImage queryImage = prompt.segments().stream().filter(x -> x instanceof Prompt.Image)
                .map(x -> ((Prompt.Image) x).image()).findFirst().orElse(null);
        List<Retrieval.Document> docs = Retrieved.fetch(this, queryText, queryImage);
        int[] full = Retrieved.prepend(f, docs, ids.toArray());
        int maxNew = Math.min(maxTokens == null ? DEFAULT_MAX_TOKENS : maxTokens,
                Math.max(1, model.config().maxPositions() - full.length));
        boolean images = f.hasImages();
        var out = RequestRunner.run(this, new RequestRunner.Prompts(full, null, null),
                images ? ModalityState.Output.INTERLEAVED : ModalityState.Output.TEXT, null, maxNew, control);
        int[] tokens = out.tokens()[0];
        List<GeneratedDocument.Part> parts = new ArrayList<>();
        for (SequenceFormat.Piece p : f.split(tokens)) {
            if (!p.isImage()) {
                if (!p.text().isEmpty()) parts.add(new GeneratedDocument.TextPart(p.text()));
            } else {
                if (p.complete() && f.codec().canDecode()) {
                    parts.add(new GeneratedDocument.ImagePart(f.codec().decode(p.codes(), p.grid().rows(), p.grid().cols()),
                            p.codes()));
                }
            }
        }
        return new GeneratedDocument(List.copyOf(parts), tokens, out.timings(), docs);
    }
}
