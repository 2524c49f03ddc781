package dev.cm3leon;

import dev.cm3leon.checkpoint.VocabularyMap;
import dev.cm3leon.tokenizer.TextTokenizer;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Lays prompts out as token ids: text through the BPE tokenizer, images as begin-of-image, their codebook indices'
 * BPE ids and end-of-image, templates with their special tokens. And back: generated ids into text and images.
 */
public final class SequenceFormat {
    private final VocabularyMap vocabulary;
    private final Optional<TextTokenizer> tokenizer;
    private final Optional<ImageCodec> codec;
    private final int bos;
    private final TaskTemplates templates;

    SequenceFormat(VocabularyMap vocabulary, Optional<TextTokenizer> tokenizer, Optional<ImageCodec> codec, int bos,
                   TaskTemplates templates) {
        this.vocabulary = vocabulary;
        this.tokenizer = tokenizer;
        this.codec = codec;
        this.bos = bos;
        this.templates = templates;
    }

    public TaskTemplates templates() {
        return templates;
    }

    boolean hasTokenizer() {
        return tokenizer.isPresent();
    }

    dev.cm3leon.decode.DecodingOptions.Unconditional familyUnconditional() {
        return templates.unconditional();
    }

    /** A token that is neither special, nor an image token, nor part of an image's frame. */
    boolean isTextToken(int id) {
        if (vocabulary.isImageToken(id) || id == bos || id == vocabulary.beginOfImage() || id == vocabulary.endOfImage()
                || id == vocabulary.separator()) {
            return false;
        }
        return tokenizer.map(t -> !t.isSpecial(id)).orElse(true);
    }

    /** The paper's unconditional prompt: each run of text tokens replaced by one mask token. */
    int[] maskText(int[] prompt) {
        int mask = maskToken();
        IntBuilder out = new IntBuilder();
        boolean inText = false;
        for (int t : prompt) {
            if (isTextToken(t)) {
                if (!inText) out.add(mask);
                inText = true;
            } else {
                out.add(t);
                inText = false;
            }
        }
        return out.toArray();
    }

    int maskToken() {
        var m = vocabulary.id("<mask>");
        if (m.isPresent()) return m.getAsInt();
        if (tokenizer.isPresent() && tokenizer.get().tokenId("<mask>").isPresent()) return tokenizer.get().tokenId("<mask>").getAsInt();
        int[] sentinels = vocabulary.sentinels();
        if (sentinels.length > 0) return sentinels[0];
        throw new InvalidRequestException("this checkpoint has no mask token (<mask> or <sentinel:0>) for the masked-text unconditional prompt");
    }

    public VocabularyMap vocabulary() {
        return vocabulary;
    }

    TextTokenizer tokenizer() {
        return tokenizer.orElseThrow(() -> new InvalidRequestException(
                "this checkpoint has no tokenizer.json: text prompts need one (token-id inputs still work)"));
    }

    ImageCodec codec() {
        return codec.orElseThrow(() -> new InvalidRequestException(
                "this checkpoint has no image tokenizer (vq_config and model.vqmodel.* tensors): images are not available"));
    }

    boolean hasImages() {
        return codec.isPresent() && vocabulary.imageTokenCount() > 0 && vocabulary.beginOfImage() >= 0
                && vocabulary.endOfImage() >= 0;
    }

    void requireImages() {
        if (vocabulary.imageTokenCount() == 0 || vocabulary.beginOfImage() < 0 || vocabulary.endOfImage() < 0) {
            throw new InvalidRequestException("this checkpoint has no image tokens (IMGIMG…, <racm3:break>, <eoss>): it cannot read or draw images");
        }
        codec();
    }

    int tokensPerImage() {
        return codec().gridSize() * codec().gridSize();
    }

    public int bos() {
        return bos;
    }

    /** The id of a special token named in a template. */
    int special(String token) {
        if (token.equals("<s>")) return bos;
        var id = vocabulary.id(token);
        if (id.isPresent()) return id.getAsInt();
        if (tokenizer.isPresent()) {
            var t = tokenizer.get().tokenId(token);
            if (t.isPresent()) return t.getAsInt();
        }
        throw new InvalidRequestException("the checkpoint has no token '" + token + "'");
    }

    int[] text(String text) {
        return tokenizer().encode(text, false);
    }

    /** Codebook indices → BOI, their BPE ids, EOI. */
    int[] image(int[] codes) {
        int[] out = new int[codes.length + 2];
        out[0] = vocabulary.beginOfImage();
        for (int i = 0; i < codes.length; i++) out[i + 1] = vocabulary.bpeIdOfCode(codes[i]);
        out[out.length - 1] = vocabulary.endOfImage();
        return out;
    }

    int[] image(BufferedImage image) {
        requireImages();
        return image(codec().encode(image));
    }

    /** A template with its slots filled; a null text or image drops that slot (unconditional streams). */
    int[] render(List<TaskTemplates.Part> template, String text, int[] imageTokens) {
        IntBuilder out = new IntBuilder();
        for (TaskTemplates.Part p : template) {
            switch (p) {
                case TaskTemplates.Special s -> out.add(special(s.token()));
                case TaskTemplates.Literal l -> out.addAll(text(l.text()));
                case TaskTemplates.TextSlot t -> {
                    if (text != null && !text.isEmpty()) out.addAll(text(text));
                }
                case TaskTemplates.ImageSlot i -> {
                    if (imageTokens != null) out.addAll(imageTokens);
                }
            }
        }
        return out.toArray();
    }

    /** A generated token run split into text and images. */
    public record Piece(String text, int[] codes, int[] tokens) {
        public boolean isImage() {
            return codes != null;
        }
    }

    /** Splits generated ids at BOI/EOI; text runs are detokenized, image runs kept as codebook indices. */
    List<Piece> split(int[] tokens) {
        List<Piece> pieces = new ArrayList<>();
        IntBuilder text = new IntBuilder(), codes = new IntBuilder();
        boolean inImage = false;
        for (int t : tokens) {
            if (!inImage && t == vocabulary.beginOfImage()) {
                flushText(pieces, text);
                inImage = true;
            } else if (inImage && t == vocabulary.endOfImage()) {
                pieces.add(new Piece(null, codes.toArray(), null));
                codes.clear();
                inImage = false;
            } else if (inImage) {
                int code = vocabulary.codeOfBpeId(t);
                if (code >= 0) codes.add(code);
            } else {
                text.add(t);
            }
        }
        if (inImage && codes.size() > 0) pieces.add(new Piece(null, codes.toArray(), null));
        flushText(pieces, text);
        return pieces;
    }

    private void flushText(List<Piece> pieces, IntBuilder text) {
        if (text.size() == 0) return;
        int[] ids = text.toArray();
        pieces.add(new Piece(detokenize(ids), null, ids));
        text.clear();
    }

    /** Text of generated ids, special tokens (EOS, sentinels) left out. */
    String detokenize(int[] ids) {
        return tokenizer.map(t -> t.decode(ids, true)).orElseGet(() -> java.util.Arrays.toString(ids));
    }

    /** A growable int array. */
    static final class IntBuilder {
        private int[] a = new int[64];
        private int n;

        void add(int v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        void addAll(int[] vs) {
            for (int v : vs) add(v);
        }

        int size() {
            return n;
        }

        void clear() {
            n = 0;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
