package dev.cm3leon.tokenizer;

import java.util.List;

/**
 * Adds the special tokens a model expects around a sequence (BOS, CLS/SEP...) when the caller asks for special
 * tokens. Only single sequences are encoded here, so pair templates are read but not used.
 */
sealed interface PostProcessor {

    /** Appends the processed form of {@code encoded} (ids with their token strings) to {@code out}. */
    void process(EncodingBuilder encoded, EncodingBuilder out);

    /** One special token of a template: its ids and the token strings reported for them. */
    record SpecialToken(int[] ids, List<String> tokens) {
        public SpecialToken {
            ids = ids.clone();
            tokens = List.copyOf(tokens);
        }
    }

    /** HF's TemplateProcessing: a list of special tokens and the sequence placeholder {@code $A}. */
    record Template(List<TemplatePiece> single) implements PostProcessor {
        public Template {
            single = List.copyOf(single);
        }

        @Override
        public void process(EncodingBuilder encoded, EncodingBuilder out) {
            for (TemplatePiece piece : single) {
                switch (piece) {
                    case TemplatePiece.Sequence ignored -> out.addAll(encoded);
                    case TemplatePiece.Special special -> {
                        for (int i = 0; i < special.token().ids().length; i++) {
                            out.addSpecial(special.token().ids()[i], special.token().tokens().get(i));
                        }
                    }
                }
            }
        }
    }

    /** An element of a template. */
    sealed interface TemplatePiece {
        /** The encoded sequence itself ({@code $A}). */
        record Sequence() implements TemplatePiece {
        }

        record Special(SpecialToken token) implements TemplatePiece {
        }
    }

    /** BERT's and RoBERTa's layout for one sequence: {@code cls $A sep}. */
    record Surround(int clsId, String cls, int sepId, String sep) implements PostProcessor {
        @Override
        public void process(EncodingBuilder encoded, EncodingBuilder out) {
            out.addSpecial(clsId, cls);
            out.addAll(encoded);
            out.addSpecial(sepId, sep);
        }
    }

    /** Adds nothing (ByteLevel's post-processor only trims offsets, which this library does not report). */
    record Identity() implements PostProcessor {
        @Override
        public void process(EncodingBuilder encoded, EncodingBuilder out) {
            out.addAll(encoded);
        }
    }

    /** Applies processors one after the other. */
    record Sequence(List<PostProcessor> steps) implements PostProcessor {
        public Sequence {
            steps = List.copyOf(steps);
        }

        @Override
        public void process(EncodingBuilder encoded, EncodingBuilder out) {
            EncodingBuilder current = encoded;
            for (PostProcessor step : steps) {
                EncodingBuilder next = new EncodingBuilder(current.size() + 4, current.keepsTokens());
                step.process(current, next);
                current = next;
            }
            out.addAll(current);
        }
    }
}
