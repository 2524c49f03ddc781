package dev.cm3leon.engine;

import java.util.Objects;

/**
 * One token to choose at the end of a step (see {@link DeviceSampling}): how the step's last-position logits are
 * combined, which tokens the modality allows, and the sampling stages. Stream numbers index the step's list.
 */
public record TokenDraw(Mix mix, Modality modality, Sampling sampling) {
    public TokenDraw {
        Objects.requireNonNull(mix, "mix");
        Objects.requireNonNull(modality, "modality");
        Objects.requireNonNull(sampling, "sampling");
    }

    /** How a draw's logits rows combine into one row of scores (DESIGN §6). */
    public sealed interface Mix {
        /** The streams whose logits the mix reads. */
        int[] streams();

        /** One stream's logits as they are. */
        record Single(int stream) implements Mix {
            public int[] streams() {
                return new int[]{stream};
            }
        }

        /** Classifier-free guidance over two streams: {@code u + s·(c − u)}. */
        record Guidance2(int conditional, int unconditional, float scale) implements Mix {
            public int[] streams() {
                return new int[]{conditional, unconditional};
            }
        }

        /**
         * Guidance over three streams (Meta/Anole): {@code u + s_i·(i − u) + s_t·(f − i)} with the full prompt f,
         * the image-only prompt i and the bare begin-of-image u.
         */
        record Guidance3(int full, int imageOnly, int unconditional, float imageScale, float textScale) implements Mix {
            public int[] streams() {
                return new int[]{full, imageOnly, unconditional};
            }
        }

        /**
         * CD-K: on {t : p_c(t) ≥ α·p_c^(k)} the score is {@code log p_c(t) − log p_a(t)}, elsewhere −∞; the
         * amateur is the unconditional stream.
         */
        record Contrastive(int conditional, int amateur, int k, float alpha) implements Mix {
            public Contrastive {
                if (k < 1) throw new IllegalArgumentException("CD-K needs k ≥ 1, got " + k);
                if (!(alpha >= 0f && alpha <= 1f)) throw new IllegalArgumentException("CD-K needs 0 ≤ α ≤ 1, got " + alpha);
            }

            public int[] streams() {
                return new int[]{conditional, amateur};
            }
        }
    }

    /** Which tokens may be drawn: any, text (image tokens suppressed, as the reference does), or image tokens only. */
    public enum Modality { ANY, TEXT, IMAGE }

    /**
     * The sampling stages in HF's order: temperature (0 picks the argmax), top-k (0 = off), top-p (1 = off), min-p
     * (0 = off); then a draw whose random number depends only on {@code seed} and {@code step}.
     */
    public record Sampling(float temperature, int topK, float topP, float minP, long seed, long step) {
        public Sampling {
            if (!(temperature >= 0f) || Float.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be ≥ 0, got " + temperature);
            if (topK < 0) throw new IllegalArgumentException("topK must be ≥ 0 (0 = off), got " + topK);
            if (!(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
            if (!(minP >= 0f && minP <= 1f)) throw new IllegalArgumentException("minP must be in [0, 1], got " + minP);
        }

        public static Sampling greedy() {
            return new Sampling(0f, 0, 1f, 0f, 0L, 0L);
        }

        public boolean isGreedy() {
            return temperature == 0f;
        }
    }
}
