package dev.cm3leon;

import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.decode.GenerationLoop;
import dev.cm3leon.decode.ModalityState;

import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * CM3 infilling. Each mask becomes the checkpoint's sentinel in place ({@code <sentinel:k>}); the sentinel is repeated
 * at the end and the model generates the span there, until {@code <sentinel:end>} for text or for exactly the run's
 * length inside an image; spans are generated in order, each seeing the ones before, then spliced back. A masked
 * image region is one run of grid tokens per row of the region.
 */
public final class InfillRequest extends Request<GeneratedInfill, InfillRequest> {
    static final int DEFAULT_MAX_TOKENS = 32;
    private final Prompt prompt;

    InfillRequest(Cm3Leon model, Prompt prompt, DecodingOptions defaults) {
        super(model, defaults);
        this.prompt = java.util.Objects.requireNonNull(prompt, "prompt");
        if (!prompt.hasMasks()) throw new InvalidRequestException("the prompt has no masks: add Prompt.mask() or a masked image region");
        var v = model.format().vocabulary();
        if (v.sentinels().length == 0 || v.sentinelEnd() < 0) {
            throw new InvalidRequestException("this checkpoint has no infilling sentinels (<sentinel:0>… and <sentinel:end>): it cannot infill");
        }
    }

    /** One mask: a text span, or a run of {@code length} cells starting at {@code cell} of image segment {@code segment}. */
    private record Hole(int segment, int cell, int length) {
        boolean isImage() {
            return length > 0;
        }
    }

    @Override
    GeneratedInfill execute(GenerationControl control) {
        if (!(options.guidance() instanceof DecodingOptions.NoGuidance) || options.needsAmateur()) {
            throw new InvalidRequestException("infilling runs without guidance or CD-K");
        }
        SequenceFormat f = model.format();
        int[] sentinels = f.vocabulary().sentinels();
        List<Hole> holes = new ArrayList<>();
        List<int[]> imageCodes = new ArrayList<>();
        java.util.Map<Integer, dev.cm3leon.decode.ImageLayout.Grid> grids = new java.util.HashMap<>();
        SequenceFormat.IntBuilder doc = new SequenceFormat.IntBuilder();
        doc.add(f.bos());
        for (int si = 0; si < prompt.segments().size(); si++) {
            switch (prompt.segments().get(si)) {
                case Prompt.Text t -> {
                    doc.addAll(f.text(t.text()));
                    imageCodes.add(null);
                }
                case Prompt.Mask m -> {
                    doc.add(sentinel(sentinels, holes.size()));
                    holes.add(new Hole(si, 0, 0));
                    imageCodes.add(null);
                }
                case Prompt.Image img -> {
                    f.requireImages();
                    dev.cm3leon.decode.ImageLayout layout = f.imageLayout();
                    dev.cm3leon.decode.ImageLayout.Grid g = f.gridForInput(img.image());
                    int[] codes = f.codec().encode(img.image(), g.rows(), g.cols());
                    imageCodes.add(codes);
                    grids.put(si, g);
                    doc.addAll(layout.header(g));
                    var r = img.maskedCells();
                    if (r != null && (r.x1() > g.cols() || r.y1() > g.rows())) {
                        throw new InvalidRequestException("masked region exceeds the " + g + " token grid");
                    }
                    for (int y = 0; y < g.rows(); y++) {
                        for (int x = 0; x < g.cols(); x++) {
                            boolean masked = r != null && y >= r.y0() && y < r.y1() && x >= r.x0() && x < r.x1();
                            if (!masked) {
                                doc.add(f.vocabulary().bpeIdOfCode(codes[y * g.cols() + x]));
                            } else if (x == r.x0()) {
                                doc.add(sentinel(sentinels, holes.size()));
                                holes.add(new Hole(si, y * g.cols() + x, r.x1() - r.x0()));
                            }
                        }
                        if (layout.hasRowSeparator()) doc.add(layout.rowSeparator());
                    }
                    doc.add(f.vocabulary().endOfImage());
                }
            }
        }
        String queryText = prompt.segments().stream().filter(x -> x instanceof Prompt.Text)
                .map(x -> ((Prompt.Text) x).text()).reduce("", String::concat);
        List<Retrieval.Document> docs = Retrieved.fetch(this, queryText, null);
        int[] withDocs = Retrieved.prepend(f, docs, doc.toArray());
        doc.clear();
        doc.addAll(withDocs);
        int end = f.vocabulary().sentinelEnd();
        int maxText = maxTokens == null ? DEFAULT_MAX_TOKENS : maxTokens;
        SequenceFormat.IntBuilder context = new SequenceFormat.IntBuilder();
        context.addAll(doc.toArray());
        List<GeneratedInfill.Span> spans = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(options.seed());
        long prefill = 0, decode = 0;
        int steps = 0;
        for (int k = 0; k < holes.size(); k++) {
            Hole h = holes.get(k);
            context.add(sentinel(sentinels, k));
            int[] streamPrompt = RequestRunner.fit(context.toArray(), h.isImage() ? h.length() : maxText,
                    model.config().maxPositions(), truncatePrompt, 0);
            int tokensPerImage = h.isImage() ? h.length() : 0;
            ModalityState modality = new ModalityState(f.vocabulary(), model.config().vocabSize(), tokensPerImage,
                    h.isImage() ? ModalityState.Output.IMAGE : ModalityState.Output.TEXT, h.isImage());
            var seq = new GenerationLoop.Sequence(new int[][]{streamPrompt}, options.chainFor(0, 0), modality, random.split(),
                    h.isImage() ? h.length() : maxText, new int[]{end, model.config().eosId()});
            int spanIndex = k;
            GenerationLoop.TokenListener spanTokens = (s, token, m) -> {
                if (listener != null) listener.accept(new TokenEvent(spanIndex, token, m.inImage(), ""));
            };
            GenerationLoop.Result res;
            if (h.isImage() && options.speculativeWindow() > 0) {
                var sjd = new dev.cm3leon.decode.SpeculativeJacobiLoop(model.engine(), options.speculativeWindow())
                        .run(List.of(seq), control, spanTokens);
                res = sjd.asLoopResult();
            } else {
                res = model.generationLoop().run(List.of(seq), control, spanTokens);
            }
            prefill += res.prefillNanos();
            decode += res.decodeNanos();
            steps += res.steps();
            int[] tokens = res.tokens()[0];
            int[] body = stripStop(tokens, end, model.config().eosId());
            context.addAll(body);
            if (!h.isImage()) context.add(end);
            if (h.isImage()) {
                int[] codes = new int[body.length];
                for (int i = 0; i < body.length; i++) codes[i] = f.vocabulary().codeOfBpeId(body[i]);
                System.arraycopy(codes, 0, imageCodes.get(h.segment()), h.cell(), Math.min(codes.length, h.length()));
                spans.add(new GeneratedInfill.Span(null, codes, tokens));
            } else {
                spans.add(new GeneratedInfill.Span(f.detokenize(body), null, tokens));
            }
            if (progress != null) progress.accept(new Progress(k + 1, holes.size()));
        }
        return new GeneratedInfill(splice(f, holes, spans, imageCodes, grids), List.copyOf(spans),
                new Timings(Duration.ofNanos(prefill), Duration.ofNanos(decode), steps, 1), docs);
    }

    private static int sentinel(int[] sentinels, int k) {
        if (k >= sentinels.length) {
            throw new InvalidRequestException("the prompt has more masks than the checkpoint's " + sentinels.length + " sentinels");
        }
        return sentinels[k];
    }

    private static int[] stripStop(int[] tokens, int end, int eos) {
        int n = tokens.length;
        while (n > 0 && (tokens[n - 1] == end || tokens[n - 1] == eos)) n--;
        return java.util.Arrays.copyOf(tokens, n);
    }

    /** The prompt with text masks replaced by their spans and masked images redrawn from their completed grids. */
    private Prompt splice(SequenceFormat f, List<Hole> holes, List<GeneratedInfill.Span> spans, List<int[]> imageCodes,
                          java.util.Map<Integer, dev.cm3leon.decode.ImageLayout.Grid> grids) {
        List<Prompt.Segment> out = new ArrayList<>();
        int k = 0;
        for (int si = 0; si < prompt.segments().size(); si++) {
            Prompt.Segment s = prompt.segments().get(si);
            switch (s) {
                case Prompt.Mask m -> out.add(new Prompt.Text(spans.get(k++).text()));
                case Prompt.Image img when img.maskedCells() != null -> {
                    while (k < holes.size() && holes.get(k).segment() == si) k++;
                    var g = grids.get(si);
                    BufferedImage redrawn = f.codec().canDecode() ? f.codec().decode(imageCodes.get(si), g.rows(), g.cols()) : img.image();
                    out.add(new Prompt.Image(redrawn, null));
                }
                default -> out.add(s);
            }
        }
        return new Prompt(out);
    }
}
