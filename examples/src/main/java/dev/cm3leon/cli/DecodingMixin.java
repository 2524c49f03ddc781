package dev.cm3leon.cli;

import dev.cm3leon.Request;
import picocli.CommandLine.Option;

/** Decoding options shared by the generation commands. */
final class DecodingMixin {
    @Option(names = "--guidance", description = "classifier-free guidance scale (1 = none)") Double guidance;
    @Option(names = "--image-guidance", description = "image guidance scale of 3-stream guidance (with --text-guidance)") Double imageGuidance;
    @Option(names = "--text-guidance", description = "text guidance scale of 3-stream guidance (with --image-guidance)") Double textGuidance;
    @Option(names = "--temperature", description = "sampling temperature (0 = greedy)") Double temperature;
    @Option(names = "--top-p", description = "nucleus sampling threshold in (0, 1]") Double topP;
    @Option(names = "--top-k", description = "keep the k most likely tokens") Integer topK;
    @Option(names = "--min-p", description = "drop tokens below this fraction of the most likely one") Double minP;
    @Option(names = "--greedy", description = "greedy decoding") boolean greedy;
    @Option(names = "--cd-k", description = "contrastive decoding top-k: keep tokens within alpha of the k-th most likely (the library's default k is 1)") Integer cdK;
    @Option(names = "--cd-alpha", defaultValue = "0.3", description = "contrastive decoding alpha (default ${DEFAULT-VALUE})") double cdAlpha;
    @Option(names = "--half-cd-k", description = "half the samples with top-p, half with CD-K") boolean halfCdK;
    @Option(names = "--samples", description = "decode N samples, keep the best") Integer samples;
    @Option(names = "--seed", defaultValue = "0", description = "random seed (default ${DEFAULT-VALUE})") long seed;
    @Option(names = "--max-tokens", description = "at most this many new text tokens") Integer maxTokens;
    @Option(names = "--speculative", paramLabel = "W", description = "speculative Jacobi decoding of image tokens with a "
            + "window of W drafts per pass (lossless in distribution; off by default)") Integer speculative;

    <R extends Request<?, R>> R apply(R r) {
        if (guidance != null) r.guidance(guidance);
        if (imageGuidance != null || textGuidance != null) {
            r.guidance(imageGuidance == null ? 1.0 : imageGuidance, textGuidance == null ? 1.0 : textGuidance);
        }
        if (temperature != null) r.temperature(temperature);
        if (topP != null) r.topP(topP);
        if (topK != null) r.topK(topK);
        if (minP != null) r.minP(minP);
        if (greedy) r.greedy();
        if (cdK != null) r.contrastive(cdK, cdAlpha);
        if (halfCdK) r.halfTopPHalfContrastive();
        if (samples != null) r.samples(samples);
        if (maxTokens != null) r.maxTokens(maxTokens);
        if (speculative != null) r.speculative(speculative);
        return r.seed(seed);
    }
}
