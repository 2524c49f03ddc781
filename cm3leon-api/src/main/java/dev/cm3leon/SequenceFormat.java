package dev.cm3leon;

import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.VocabularyMap;
import dev.cm3leon.decode.ImageLayout;
import dev.cm3leon.tokenizer.TextTokenizer;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Lays prompts out as token ids: text through the BPE tokenizer, images in the checkpoint's {@link ImageLayout}
 * (begin-of-image, size tokens where the layout has them, their codebook indices' BPE ids with row separators where
 * it has them, end-of-image), templates with their special tokens. And back: generated ids into text and images.
 */
public final class SequenceFormat {
    private final VocabularyMap vocabulary;
    private final Optional<TextTokenizer> tokenizer;
    private final Optional<ImageCodec> codec;
    private final int bos;
    private final TaskTemplates templates;
    private final int context;
    private volatile ImageLayout layout;

    SequenceFormat(VocabularyMap vocabulary, Optional<TextTokenizer> tokenizer, Optional<ImageCodec> codec, int bos,
                   TaskTemplates templates, int context) {
        this.context = context;
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

    /**
     * The checkpoint's image layout: the templates' {@code image_layout} with its token names resolved, the default
     * grid from its {@code image_size} or the VQ-GAN's own grid.
     */
    public ImageLayout imageLayout() {
        ImageLayout l = layout;
        if (l == null) {
            requireImages();
            l = layout = resolve(templates.imageLayout());
        }
        return l;
    }

    private ImageLayout resolve(TaskTemplates.ImageLayoutSpec spec) {
        int grid = codec().gridSize();
        int boi = vocabulary.beginOfImage(), eoi = vocabulary.endOfImage();
        if (spec.sizeTokens() == null && spec.rowSeparator() == null && spec.imageSize() == null) {
            return ImageLayout.chameleon(boi, eoi, new ImageLayout.Grid(grid, grid));
        }
        String source = templates.family() + " templates, image_layout";
        int pixelsPerCode = codec().pixelsPerCode();
        int separator = spec.rowSeparator() == null ? -1 : layoutToken(spec.rowSeparator(), source + ".row_separator");
        int first = -1, codesPerUnit = 0;
        if (spec.sizeTokens() != null) {
            first = layoutToken(spec.sizeTokens(), source + ".size_tokens");
            if (spec.sizeUnitPixels() % pixelsPerCode != 0) {
                throw new CheckpointException(source + ".size_unit_pixels (" + spec.sizeUnitPixels() + ") must be a multiple of the "
                        + pixelsPerCode + " pixels a code covers");
            }
            codesPerUnit = spec.sizeUnitPixels() / pixelsPerCode;
            long last = (long) first + spec.maxSizeUnits();
            if (last >= vocabulary.vocabSize()) {
                throw new CheckpointException(source + ".max_size_units (" + spec.maxSizeUnits() + "): the size token for it would be id "
                        + last + ", outside the vocabulary of " + vocabulary.vocabSize());
            }
            for (long id = first + 1; id <= last; id++) {
                if (vocabulary.isImageToken((int) id) || id == boi || id == eoi || id == separator) {
                    throw new CheckpointException(source + ".size_tokens: id " + id + " (size " + (id - first)
                            + ") is an image token or a marker of the layout, not a size token");
                }
            }
        }
        ImageLayout.Grid defaultGrid = new ImageLayout.Grid(grid, grid);
        if (spec.imageSize() != null) {
            int w = spec.imageSize()[0], h = spec.imageSize()[1];
            if (w % pixelsPerCode != 0 || h % pixelsPerCode != 0) {
                throw new CheckpointException(source + ".image_size (" + w + "x" + h + ") must be a multiple of the " + pixelsPerCode
                        + " pixels a code covers");
            }
            defaultGrid = new ImageLayout.Grid(h / pixelsPerCode, w / pixelsPerCode);
        }
        ImageLayout l = new ImageLayout(boi, eoi, first, spec.maxSizeUnits(), codesPerUnit, separator, defaultGrid);
        if (!l.allows(defaultGrid)) {
            throw new CheckpointException(source + ".image_size: a " + defaultGrid + " grid cannot be stated by its size tokens");
        }
        if (l.length(defaultGrid) >= context) {
            throw new CheckpointException(source + ".image_size: an image of " + defaultGrid + " codes takes " + l.length(defaultGrid)
                    + " tokens, more than the model's context of " + context + " (max_position_embeddings) leaves for a prompt");
        }
        return l;
    }

    private int layoutToken(String name, String field) {
        var id = vocabulary.id(name);
        if (id.isEmpty() && tokenizer.isPresent()) id = tokenizer.get().tokenId(name);
        if (id.isEmpty()) throw new CheckpointException(field + ": the vocabulary has no token '" + name + "'");
        return id.getAsInt();
    }

    /** The grid of an image of {@code width × height} pixels, if this layout can state it. */
    public ImageLayout.Grid gridForSize(int width, int height) {
        ImageLayout l = imageLayout();
        int p = codec().pixelsPerCode();
        if (width < 1 || height < 1 || width % p != 0 || height % p != 0) {
            throw new InvalidRequestException("image size " + width + "x" + height + " must be a positive multiple of the " + p
                    + " pixels a code covers");
        }
        ImageLayout.Grid g = new ImageLayout.Grid(height / p, width / p);
        if (!l.allows(g)) {
            throw new InvalidRequestException(l.hasSizeTokens()
                    ? "image size " + width + "x" + height + " cannot be stated by this checkpoint's size tokens (multiples of "
                    + l.codesPerSizeUnit() * p + " px, at most " + l.maxSizeUnits() * l.codesPerSizeUnit() * p + " px a side)"
                    : "this checkpoint draws " + l.defaultGrid().cols() * p + "x" + l.defaultGrid().rows() * p
                    + " images only (its image layout has no size tokens), not " + width + "x" + height);
        }
        return g;
    }

    /** The grid an input image is encoded on: the default grid, or with size tokens the bucket nearest its aspect. */
    ImageLayout.Grid gridForInput(BufferedImage image) {
        ImageLayout l = imageLayout();
        if (!l.hasSizeTokens()) return l.defaultGrid();
        return l.bucketFor(image.getWidth(), image.getHeight());
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

    /** Codebook indices on the default grid → the whole image's tokens. */
    int[] image(int[] codes) {
        return image(codes, imageLayout().defaultGrid());
    }

    /** Codebook indices on {@code grid} → header, their BPE ids (with row separators), end-of-image. */
    int[] image(int[] codes, ImageLayout.Grid grid) {
        int[] ids = new int[codes.length];
        for (int i = 0; i < codes.length; i++) ids[i] = vocabulary.bpeIdOfCode(codes[i]);
        return imageLayout().sequence(ids, grid);
    }

    /** An input image encoded on its grid ({@link #gridForInput}), as tokens. */
    int[] image(BufferedImage image) {
        requireImages();
        ImageLayout.Grid grid = gridForInput(image);
        return image(codec().encode(image, grid.rows(), grid.cols()), grid);
    }

    /**
     * A template with its slots filled; a null text or image drops that slot (unconditional streams). Literal text,
     * the prompt text and the size next to each other are tokenized as one string, as the reference does.
     * {@code drawn} is the grid of the image the template opens ({@code {image_start}}, {@code {width}}, {@code {height}}).
     */
    int[] render(List<TaskTemplates.Part> template, String text, int[] imageTokens, ImageLayout.Grid drawn) {
        IntBuilder out = new IntBuilder();
        StringBuilder pending = new StringBuilder();
        for (TaskTemplates.Part p : template) {
            switch (p) {
                case TaskTemplates.Literal l -> pending.append(l.text());
                case TaskTemplates.TextSlot t -> {
                    if (text != null) pending.append(text);
                }
                case TaskTemplates.Width w -> pending.append(drawn(drawn).cols() * codec().pixelsPerCode());
                case TaskTemplates.Height h -> pending.append(drawn(drawn).rows() * codec().pixelsPerCode());
                case TaskTemplates.Special s -> {
                    flushPending(out, pending);
                    out.add(special(s.token()));
                }
                case TaskTemplates.ImageSlot i -> {
                    flushPending(out, pending);
                    if (imageTokens != null) out.addAll(imageTokens);
                }
                case TaskTemplates.ImageStart i -> {
                    flushPending(out, pending);
                    out.addAll(imageLayout().header(drawn(drawn)));
                }
            }
        }
        flushPending(out, pending);
        return out.toArray();
    }

    int[] render(List<TaskTemplates.Part> template, String text, int[] imageTokens) {
        return render(template, text, imageTokens, null);
    }

    private ImageLayout.Grid drawn(ImageLayout.Grid drawn) {
        return drawn != null ? drawn : imageLayout().defaultGrid();
    }

    private void flushPending(IntBuilder out, StringBuilder pending) {
        if (pending.isEmpty()) return;
        out.addAll(text(pending.toString()));
        pending.setLength(0);
    }

    /** A generated token run split into text and images ({@code grid} and {@code codes} for an image). */
    public record Piece(String text, int[] codes, int[] tokens, ImageLayout.Grid grid) {
        Piece(String text, int[] codes, int[] tokens) {
            this(text, codes, tokens, null);
        }

        public boolean isImage() {
            return codes != null;
        }

        /** Whether the image has all the codes its grid needs. */
        public boolean complete() {
            return codes != null && grid != null && codes.length == grid.codes();
        }
    }

    /** Splits generated ids at BOI/EOI; text runs are detokenized, image runs read in the layout into codebook indices. */
    List<Piece> split(int[] tokens) {
        List<Piece> pieces = new ArrayList<>();
        IntBuilder text = new IntBuilder(), image = new IntBuilder();
        boolean inImage = false;
        for (int t : tokens) {
            if (!inImage && t == vocabulary.beginOfImage()) {
                flushText(pieces, text);
                inImage = true;
                image.add(t);
            } else if (inImage && t == vocabulary.endOfImage()) {
                pieces.add(imagePiece(image.toArray()));
                image.clear();
                inImage = false;
            } else if (inImage) {
                image.add(t);
            } else {
                text.add(t);
            }
        }
        if (inImage && image.size() > 1) pieces.add(imagePiece(image.toArray()));
        flushText(pieces, text);
        return pieces;
    }

    private Piece imagePiece(int[] tokens) {
        ImageLayout.Parsed parsed = hasImages() ? imageLayout().parse(tokens)
                : new ImageLayout.Parsed(null, java.util.Arrays.copyOfRange(tokens, 1, tokens.length), false);
        IntBuilder codes = new IntBuilder();
        for (int id : parsed.codeTokens()) {
            int code = vocabulary.codeOfBpeId(id);
            if (code >= 0) codes.add(code);
        }
        return new Piece(null, codes.toArray(), null, parsed.grid());
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
