package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The special ids a checkpoint runs with, taken from its tokenizer and checked against {@code config.json} and
 * {@code generation_config.json}. Converted configs often carry HF's defaults instead of the model's ids (a
 * {@code bos_token_id} of 1 is {@code <pad>} in Chameleon's vocabulary); where the files disagree the tokenizer wins
 * and a warning names both.
 *
 * @param stops    ids that end a generated answer: every {@code eos_token_id} (a list in some configs), and the
 *                 family's turn-end token {@value #TURN_END} when the vocabulary has it
 * @param warnings each disagreement, as logged
 */
public record SpecialTokens(int bos, int eos, int pad, int[] stops, List<String> warnings) {
    private static final Logger LOG = LoggerFactory.getLogger(SpecialTokens.class);
    public static final String BOS = "<s>", EOS = "</s>", PAD = "<pad>";
    /** Where Chameleon-family chat models end a turn (Anole's captions and answers end there). */
    public static final String TURN_END = VocabularyMap.SEP;
    /** Tokens whose ids frame images and infilling spans; vocabulary_map and the tokenizer must agree on them. */
    private static final List<String> MARKERS = List.of(VocabularyMap.BOI, VocabularyMap.EOI, VocabularyMap.IMAGE_PLACEHOLDER,
            VocabularyMap.SEP, VocabularyMap.SENTINEL_END);

    public SpecialTokens {
        stops = stops.clone();
        warnings = List.copyOf(warnings);
    }

    @Override
    public int[] stops() {
        return stops.clone();
    }

    /** The ids as the config states them, with the turn-end token among the stops (for models built from parts). */
    public static SpecialTokens of(ModelConfig config) {
        Set<Integer> stops = new LinkedHashSet<>(List.of(config.eosId()));
        config.vocabulary().flatMap(v -> boxed(v.id(TURN_END))).ifPresent(stops::add);
        return new SpecialTokens(config.bosId(), config.eosId(), config.padId(), ints(stops), List.of());
    }

    /**
     * Reconciles {@code config} (read from {@code configFiles}, in order of precedence, e.g. generation_config.json
     * then config.json) with the tokenizer's vocabulary; logs and returns each disagreement.
     */
    public static SpecialTokens reconcile(ModelConfig config, Map<String, Integer> tokenizer, Path tokenizerFile,
                                          List<Path> configFiles) {
        List<String> warnings = new ArrayList<>();
        List<ConfigReader> readers = configFiles.stream().filter(Files::isRegularFile).map(ConfigReader::read).toList();
        int bos = choose("bos_token_id", BOS, config.bosId(), tokenizer, tokenizerFile, readers, warnings);
        int eos = choose("eos_token_id", EOS, config.eosId(), tokenizer, tokenizerFile, readers, warnings);
        int pad = choose("pad_token_id", PAD, config.padId(), tokenizer, tokenizerFile, readers, warnings);
        Set<Integer> stops = new LinkedHashSet<>(List.of(eos));
        for (ConfigReader r : readers) {
            for (int id : ids(r, "eos_token_id", config.vocabSize())) {
                // An id the tokenizer names <s> or <pad> is a copied default, not where the model ends.
                if (id != bos && id != pad) stops.add(id);
            }
        }
        Integer turnEnd = tokenizer.get(TURN_END);
        if (turnEnd == null) turnEnd = config.vocabulary().flatMap(v -> boxed(v.id(TURN_END))).orElse(null);
        if (turnEnd != null && turnEnd < config.vocabSize()) stops.add(turnEnd);
        config.vocabulary().ifPresent(v -> {
            for (String m : MARKERS) {
                Integer inTokenizer = tokenizer.get(m);
                var inMap = v.id(m);
                if (inTokenizer != null && inMap.isPresent() && inMap.getAsInt() != inTokenizer) {
                    warnings.add("vocabulary_map gives " + m + " id " + inMap.getAsInt() + " but " + tokenizerFile
                            + " gives " + inTokenizer + "; using " + inTokenizer);
                }
            }
        });
        warnings.forEach(w -> LOG.warn("{}", w));
        return new SpecialTokens(bos, eos, pad, ints(stops), warnings);
    }

    /** The vocabulary with the tokenizer's ids for the image and span markers where the two disagree. */
    public static Map<String, Integer> markersFromTokenizer(Map<String, Integer> vocabularyMap, Map<String, Integer> tokenizer) {
        Map<String, Integer> out = new LinkedHashMap<>(vocabularyMap);
        for (String m : MARKERS) {
            Integer id = tokenizer.get(m);
            if (id != null && out.containsKey(m) && !out.get(m).equals(id)) {
                out.values().remove(id);          // whatever held that id in the map gives it up
                out.put(m, id);
            }
        }
        return out;
    }

    private static int choose(String field, String token, int fromConfig, Map<String, Integer> tokenizer, Path tokenizerFile,
                              List<ConfigReader> readers, List<String> warnings) {
        Integer truth = tokenizer.get(token);
        for (ConfigReader r : readers) {
            int[] stated = r.has(field) ? ids(r, field, Integer.MAX_VALUE) : new int[0];
            if (truth != null && stated.length > 0 && !contains(stated, truth)) {
                warnings.add(r.file() + " gives " + field + " " + (stated.length == 1 ? stated[0] : java.util.Arrays.toString(stated))
                        + " but " + tokenizerFile + " has " + token + " = " + truth + "; using " + truth);
            }
        }
        return truth != null ? truth : fromConfig;
    }

    /** An id or a list of ids; null means none. */
    static int[] ids(ConfigReader r, String field, int vocabSize) {
        JsonNode n = r.root().get(field);
        if (n == null || n.isNull()) return new int[0];
        int[] out = n.isArray() ? r.intArray(field, null, 0) : new int[]{r.requireInt(field, 0)};
        for (int id : out) {
            if (id >= vocabSize) throw r.error(field, "(" + id + ") is outside the vocabulary of " + vocabSize);
        }
        return out;
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }

    private static Optional<Integer> boxed(java.util.OptionalInt id) {
        return id.isPresent() ? Optional.of(id.getAsInt()) : Optional.empty();
    }

    private static int[] ints(Set<Integer> s) {
        return s.stream().mapToInt(Integer::intValue).toArray();
    }
}
