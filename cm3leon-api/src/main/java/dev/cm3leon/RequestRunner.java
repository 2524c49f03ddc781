package dev.cm3leon;

import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.decode.GenerationLoop;
import dev.cm3leon.decode.ImageLayout;
import dev.cm3leon.decode.ModalityState;
import dev.cm3leon.decode.SpeculativeJacobiLoop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a request's samples through one {@link GenerationLoop}: lays out the streams guidance and CD-K need, prepends
 * retrieved documents, checks the context, seeds each sample, and reports progress and tokens.
 */
final class RequestRunner {
    private RequestRunner() {
    }

    /** The prompts a task offers: full, without its text (image-only), and bare (unconditional). */
    record Prompts(int[] full, int[] imageOnly, int[] unconditional) {
    }

    /** The new tokens of each sample, whether it used CD-K, the timings, and the speculation's counts (null when off). */
    record Outcome(int[][] tokens, boolean[] contrastive, Timings timings, Speculation speculation) {
    }

    /**
     * @param startsIn the grid of the image the prompts open (they end with its header), or null when they end in text
     */
    static Outcome run(Request<?, ?> r, Prompts prompts, ModalityState.Output output, ImageLayout.Grid startsIn,
                       int maxNew, GenerationControl control) {
        DecodingOptions o = r.options;
        SequenceFormat format = r.model.format();
        int[][] streams = streams(o, prompts, format);
        int amateur = streams.length - 1;
        int context = r.model.config().maxPositions();
        for (int i = 0; i < streams.length; i++) streams[i] = fit(streams[i], maxNew, context, r.truncatePrompt, i);
        ImageLayout layout = format.hasImages() ? format.imageLayout()
                : ImageLayout.run(format.vocabulary().beginOfImage(), format.vocabulary().endOfImage(), 0);
        List<GenerationLoop.Sequence> seqs = new ArrayList<>();
        SplittableRandom root = new SplittableRandom(o.seed());
        boolean[] contrastive = new boolean[o.samples()];
        for (int s = 0; s < o.samples(); s++) {
            contrastive[s] = o.contrastiveFor(s);
            ModalityState modality = new ModalityState(format.vocabulary(), r.model.config().vocabSize(), layout, output,
                    startsIn);
            seqs.add(new GenerationLoop.Sequence(streams, o.chainFor(s, amateur), modality, root.split(), maxNew,
                    r.model.specialTokens().stops()));
        }
        int total = maxNew * o.samples();
        AtomicInteger done = new AtomicInteger();
        GenerationLoop.TokenListener tokens = (sample, token, modality) -> {
            int d = done.incrementAndGet();
            if (r.progress != null) r.progress.accept(new Progress(d, total));
            if (r.listener != null) {
                boolean image = format.vocabulary().isImageToken(token);
                String text = image || !format.hasTokenizer() ? "" : format.detokenize(new int[]{token});
                r.listener.accept(new TokenEvent(sample, token, image, text));
            }
        };
        GenerationLoop.Result res;
        Speculation speculation = null;
        if (o.speculativeWindow() > 0) {
            // Its passes carry windows of this request alone, beside (not inside) the batched passes of the others.
            var sjd = new SpeculativeJacobiLoop(r.model.engine(), o.speculativeWindow()).run(seqs, control, tokens);
            res = sjd.asLoopResult();
            speculation = new Speculation(o.speculativeWindow(), sjd.passes(), sjd.drafted(), sjd.accepted());
        } else {
            res = r.model.generationLoop().run(seqs, control, tokens);
        }
        if (r.progress != null && done.get() < total) r.progress.accept(new Progress(total, total));
        int edge = Timings.EDGE_STEPS, forwardSteps = res.stepForwardNanos().length;
        return new Outcome(res.tokens(), contrastive, new Timings(Duration.ofNanos(res.prefillNanos()),
                Duration.ofNanos(res.decodeNanos()), res.steps(), streams.length * o.samples(),
                Duration.ofNanos(res.forwardNanos()), Duration.ofNanos(res.samplingNanos()),
                Duration.ofNanos(res.meanStepNanos(0, edge)), Duration.ofNanos(res.meanStepNanos(forwardSteps - edge, edge)),
                Duration.ZERO, Duration.ZERO, res.forwardPasses()), speculation);
    }

    /** [conditional] + what guidance and CD-K need; the amateur stream for CD-K is always the last one. */
    static int[][] streams(DecodingOptions o, Prompts p, SequenceFormat format) {
        return switch (o.guidance()) {
            case DecodingOptions.ThreeStream t -> new int[][]{p.full(), require(p.imageOnly(), "image-only"), require(p.unconditional(), "unconditional")};
            case DecodingOptions.TwoStream t when t.scale() != 1.0 || o.needsAmateur() ->
                    new int[][]{p.full(), unconditional(t.unconditional(), p, format)};
            default -> o.needsAmateur() ? new int[][]{p.full(), require(p.unconditional(), "unconditional")} : new int[][]{p.full()};
        };
    }

    private static int[] unconditional(DecodingOptions.Unconditional u, Prompts p, SequenceFormat format) {
        DecodingOptions.Unconditional choice = u == DecodingOptions.Unconditional.FAMILY_DEFAULT ? format.familyUnconditional() : u;
        return switch (choice) {
            case MASKED_TEXT -> format.maskText(p.full());
            default -> require(p.unconditional(), "unconditional");
        };
    }

    private static int[] require(int[] prompt, String what) {
        if (prompt == null) throw new InvalidRequestException("this task has no " + what + " prompt, so it cannot use that guidance or CD-K");
        return prompt;
    }

    /** The prompt if it fits with {@code maxNew} new tokens; else truncated (keeping BOS) when allowed, else an error. */
    static int[] fit(int[] prompt, int maxNew, int context, boolean truncate, int stream) {
        if (prompt.length + maxNew <= context) return prompt;
        if (!truncate || maxNew + 2 > context) {
            throw new InvalidRequestException("the prompt" + (stream == 0 ? "" : " of guidance stream " + stream) + " has "
                    + prompt.length + " tokens and the request asks for up to " + maxNew + " new ones, but the model's context is "
                    + context + " tokens (use truncatePrompt(true) to drop the oldest prompt tokens)");
        }
        int keep = context - maxNew - 1;
        int[] out = new int[keep + 1];
        out[0] = prompt[0];
        System.arraycopy(prompt, prompt.length - keep, out, 1, keep);
        return out;
    }

    static int[] concat(int[]... parts) {
        int n = Arrays.stream(parts).mapToInt(a -> a.length).sum();
        int[] out = new int[n];
        int o = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
