package dev.cm3leon.decode;

import dev.cm3leon.InvalidRequestException;

import java.util.ArrayList;
import java.util.List;

/**
 * How a request decodes: the sampler chain's parameters, guidance, the strategy over N samples and the seed. Every
 * setter validates at once, so a bad parameter fails when the request is built, before any work starts.
 */
public final class DecodingOptions {
    /** How N samples are decoded. */
    public enum Strategy {
        /** temperature / top-k / top-p / min-p sampling (or greedy) */
        SAMPLE,
        /** contrastive decoding top-k against the unconditional stream */
        CONTRASTIVE,
        /** half the samples with top-p, half with CD-K (the paper's ½TopP + ½CD-K) */
        HALF_TOP_P_HALF_CONTRASTIVE
    }

    /** Classifier-free guidance. */
    public sealed interface GuidanceSpec {
        /** Streams the request runs, the conditional one included. */
        int streams();
    }

    /** No guidance. */
    public record NoGuidance() implements GuidanceSpec {
        public int streams() {
            return 1;
        }
    }

    /** The unconditional prompt of 2-stream guidance. */
    public enum Unconditional {
        /** The prompt's text replaced by the mask token, as the CM3Leon paper does. */
        MASKED_TEXT,
        /** Just begin-of-sequence and begin-of-image, as Meta's Chameleon code does. */
        BARE_BEGIN_OF_IMAGE,
        /** Chosen by the checkpoint family. */
        FAMILY_DEFAULT
    }

    public record TwoStream(double scale, Unconditional unconditional) implements GuidanceSpec {
        public int streams() {
            return 2;
        }
    }

    /** Meta/Anole: {@code u + s_i·(i − u) + s_t·(f − i)}. */
    public record ThreeStream(double imageScale, double textScale) implements GuidanceSpec {
        public int streams() {
            return 3;
        }
    }

    private boolean greedy;
    private double temperature = 1.0;
    private int topK = 0;
    private double topP = 1.0;
    private double minP = 0.0;
    private double repetitionPenalty = 1.0;
    private GuidanceSpec guidance = new NoGuidance();
    private boolean guideText;
    private Strategy strategy = Strategy.SAMPLE;
    // CD-K's plausibility set anchored at the most likely token (k 1): with k 5 the set admits tokens the
    // unconditional stream merely finds unlikely, and images fall apart (examples/train/cdk_sweep.py)
    private int contrastiveK = 1;
    private double contrastiveAlpha = 0.3;
    private long seed = 0;
    private int samples = 1;
    private int speculativeWindow = 0;
    private final List<SamplerStage> userStages = new ArrayList<>();

    public DecodingOptions copy() {
        DecodingOptions o = new DecodingOptions();
        o.greedy = greedy;
        o.temperature = temperature;
        o.topK = topK;
        o.topP = topP;
        o.minP = minP;
        o.repetitionPenalty = repetitionPenalty;
        o.guidance = guidance;
        o.guideText = guideText;
        o.strategy = strategy;
        o.contrastiveK = contrastiveK;
        o.contrastiveAlpha = contrastiveAlpha;
        o.seed = seed;
        o.samples = samples;
        o.speculativeWindow = speculativeWindow;
        o.userStages.addAll(userStages);
        return o;
    }

    private static InvalidRequestException invalid(String what) {
        return new InvalidRequestException(what);
    }

    public DecodingOptions greedy(boolean on) {
        greedy = on;
        return this;
    }

    public DecodingOptions temperature(double t) {
        if (!(t >= 0) || Double.isInfinite(t)) throw invalid("temperature must be ≥ 0 and finite, got " + t);
        if (t == 0) greedy = true;
        else temperature = t;
        return this;
    }

    public DecodingOptions topK(int k) {
        if (k < 1) throw invalid("top-k must be ≥ 1, got " + k);
        topK = k;
        return this;
    }

    public DecodingOptions topP(double p) {
        if (!(p > 0 && p <= 1)) throw invalid("top-p must be in (0, 1], got " + p);
        topP = p;
        return this;
    }

    public DecodingOptions minP(double p) {
        if (!(p >= 0 && p < 1)) throw invalid("min-p must be in [0, 1), got " + p);
        minP = p;
        return this;
    }

    public DecodingOptions repetitionPenalty(double penalty) {
        if (!(penalty > 0) || Double.isInfinite(penalty)) throw invalid("repetition penalty must be positive and finite, got " + penalty);
        repetitionPenalty = penalty;
        return this;
    }

    private static double finiteScale(String what, double s) {
        if (!Double.isFinite(s)) throw invalid(what + " must be a finite number, got " + s);
        return s;
    }

    /** 2-stream guidance with the family's unconditional prompt; scale 1 means no guidance. */
    public DecodingOptions guidance(double scale) {
        return guidance(scale, Unconditional.FAMILY_DEFAULT);
    }

    public DecodingOptions guidance(double scale, Unconditional unconditional) {
        finiteScale("guidance scale", scale);
        guidance = new TwoStream(scale, unconditional);
        return this;
    }

    /** 3-stream guidance (image scale, text scale), as Meta's and Anole's image editing uses. */
    public DecodingOptions guidance(double imageScale, double textScale) {
        guidance = new ThreeStream(finiteScale("image guidance scale", imageScale), finiteScale("text guidance scale", textScale));
        return this;
    }

    public DecodingOptions noGuidance() {
        guidance = new NoGuidance();
        return this;
    }

    /** Also guide text tokens (by default only image tokens are guided). */
    public DecodingOptions guideText(boolean on) {
        guideText = on;
        return this;
    }

    public DecodingOptions contrastive(int k, double alpha) {
        if (k < 1) throw invalid("CD-K k must be ≥ 1, got " + k);
        if (!(alpha > 0 && alpha <= 1)) throw invalid("CD-K alpha must be in (0, 1], got " + alpha);
        contrastiveK = k;
        contrastiveAlpha = alpha;
        strategy = strategy == Strategy.HALF_TOP_P_HALF_CONTRASTIVE ? strategy : Strategy.CONTRASTIVE;
        return this;
    }

    public DecodingOptions strategy(Strategy s) {
        strategy = java.util.Objects.requireNonNull(s, "strategy");
        return this;
    }

    public DecodingOptions seed(long s) {
        seed = s;
        return this;
    }

    public DecodingOptions samples(int n) {
        if (n < 1) throw invalid("samples must be ≥ 1, got " + n);
        if (n > 1024) throw invalid("samples must be ≤ 1024, got " + n);
        samples = n;
        return this;
    }

    /**
     * Speculative Jacobi decoding of image tokens with a window of {@code window} drafts (0: off). Lossless in
     * distribution; it pays where a pass over {@code window} tokens costs little more than a one-token step.
     */
    public DecodingOptions speculative(int window) {
        if (window < 0 || window > SpeculativeJacobiLoop.MAX_WINDOW) {
            throw invalid("the speculative window must be 0 (off) to " + SpeculativeJacobiLoop.MAX_WINDOW + ", got " + window);
        }
        speculativeWindow = window;
        return this;
    }

    /** The speculative window; 0 when speculative decoding is off. */
    public int speculativeWindow() {
        return speculativeWindow;
    }

    /** Inserts a user stage after the built-in penalties and before temperature and truncation. */
    public DecodingOptions addStage(SamplerStage stage) {
        userStages.add(java.util.Objects.requireNonNull(stage, "stage"));
        return this;
    }

    public boolean isGreedy() {
        return greedy;
    }

    public GuidanceSpec guidance() {
        return guidance;
    }

    public Strategy strategy() {
        return strategy;
    }

    public long seed() {
        return seed;
    }

    public int samples() {
        return samples;
    }

    public double temperature() {
        return temperature;
    }

    public double topP() {
        return topP;
    }

    /** Whether any sample needs an amateur (unconditional) stream for CD-K. */
    public boolean needsAmateur() {
        return strategy != Strategy.SAMPLE;
    }

    /** Whether sample {@code i} uses CD-K. */
    public boolean contrastiveFor(int sample) {
        return switch (strategy) {
            case SAMPLE -> false;
            case CONTRASTIVE -> true;
            case HALF_TOP_P_HALF_CONTRASTIVE -> sample % 2 == 1;
        };
    }

    /**
     * The chain for sample {@code i}: guidance → modality mask → CD-K → repetition penalty → user stages →
     * temperature → top-k → top-p → min-p → pick.
     */
    public SamplerChain chainFor(int sample, int amateurStream) {
        List<SamplerStage> stages = new ArrayList<>();
        switch (guidance) {
            case TwoStream t when t.scale() != 1.0 -> stages.add(Guidance.twoStream(t.scale(), guideText));
            case ThreeStream t -> stages.add(Guidance.threeStream(t.imageScale(), t.textScale(), guideText));
            default -> { }
        }
        stages.add(new ModalityMask());
        if (contrastiveFor(sample)) stages.add(new ContrastiveTopK(contrastiveK, contrastiveAlpha, amateurStream));
        if (repetitionPenalty != 1.0) stages.add(new Truncation.RepetitionPenalty(repetitionPenalty));
        stages.addAll(userStages);
        if (greedy) {
            stages.add(new Truncation.Greedy());
        } else {
            if (temperature != 1.0) stages.add(new Truncation.Temperature(temperature));
            if (topK > 0) stages.add(new Truncation.TopK(topK));
            if (topP < 1.0 && !contrastiveFor(sample)) stages.add(new Truncation.TopP(topP));
            if (minP > 0) stages.add(new Truncation.MinP(minP));
            stages.add(new Truncation.Draw());
        }
        return new SamplerChain(stages);
    }

    @Override
    public String toString() {
        return "DecodingOptions[greedy=" + greedy + ", temperature=" + temperature + ", topK=" + topK + ", topP=" + topP
                + ", minP=" + minP + ", repetitionPenalty=" + repetitionPenalty + ", guidance=" + guidance
                + ", strategy=" + strategy + ", cdK=" + contrastiveK + "/" + contrastiveAlpha + ", seed=" + seed
                + ", samples=" + samples + (speculativeWindow > 0 ? ", speculative=" + speculativeWindow : "") + "]";
    }
}
