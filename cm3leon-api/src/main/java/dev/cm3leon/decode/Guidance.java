package dev.cm3leon.decode;

/**
 * Classifier-free guidance over the raw logits of several streams of one request, mixed in double precision.
 * <ul>
 * <li>2 streams (paper): {@code l = u + s·(c − u)}, stream 0 conditional, stream 1 unconditional.</li>
 * <li>3 streams (Meta/Anole): {@code l = u + s_i·(i − u) + s_t·(f − i)}, stream 0 the full prompt f, stream 1 the
 * image-only prompt i, stream 2 the bare begin-of-image u.</li>
 * </ul>
 * Applies only inside images unless {@code alsoInText}: Chameleon-family models guide image tokens.
 */
public final class Guidance implements SamplerStage {
    private final double scale, imageScale, textScale;
    private final boolean threeStreams, alsoInText;

    private Guidance(double scale, double imageScale, double textScale, boolean threeStreams, boolean alsoInText) {
        this.scale = scale;
        this.imageScale = imageScale;
        this.textScale = textScale;
        this.threeStreams = threeStreams;
        this.alsoInText = alsoInText;
    }

    public static Guidance twoStream(double scale, boolean alsoInText) {
        return new Guidance(scale, 0, 0, false, alsoInText);
    }

    public static Guidance threeStream(double imageScale, double textScale, boolean alsoInText) {
        return new Guidance(0, imageScale, textScale, true, alsoInText);
    }

    /** Streams this stage reads. */
    public int streams() {
        return threeStreams ? 3 : 2;
    }

    @Override
    public void apply(StepContext ctx) {
        if (!alsoInText && !ctx.modality().inImage()) return;
        float[] out = ctx.logits();
        if (threeStreams) {
            float[] f = ctx.stream(0), i = ctx.stream(1), u = ctx.stream(2);
            for (int t = 0; t < out.length; t++) {
                out[t] = (float) (u[t] + imageScale * ((double) i[t] - u[t]) + textScale * ((double) f[t] - i[t]));
            }
        } else {
            float[] c = ctx.stream(0), u = ctx.stream(1);
            for (int t = 0; t < out.length; t++) out[t] = (float) (u[t] + scale * ((double) c[t] - u[t]));
        }
    }

    @Override
    public String name() {
        return threeStreams ? "guidance(image " + imageScale + ", text " + textScale + ")" : "guidance(" + scale + ")";
    }
}
