package dev.cm3leon.retrieval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cm3leon.checkpoint.CheckpointException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE ({@code vocab.json} + {@code merges.txt}), token for token as HF's slow
 * {@code CLIPTokenizer}: special tokens are split off first, the rest is cleaned ({@link ClipTextCleaner}), cut into
 * words by CLIP's regex, each word's UTF-8 bytes mapped to printable characters, its last symbol marked with
 * {@code </w>}, and the merges applied lowest rank first. Thread-safe.
 */
public final class ClipTokenizer {
    static final String WORD_END = "</w>";
    /** OpenAI's merges file holds 48 894 merges after its version line; HF reads no more than that. */
    private static final int MAX_MERGES = 49152 - 256 - 2;
    private static final int CACHE_LIMIT = 1 << 16;
    private static final Pattern WORDS = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final Map<Character, Integer> CHAR_TO_BYTE = new HashMap<>();

    static {
        // GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards in order.
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int next = 256;
        for (int b = 0; b < 256; b++) {
            BYTE_TO_CHAR[b] = (char) (printable[b] ? b : next++);
            CHAR_TO_BYTE.put(BYTE_TO_CHAR[b], b);
        }
    }

    private final Map<String, Integer> encoder;
    private final String[] decoder;
    private final Map<String, Integer> mergeRanks;
    private final List<String> specialTokens;   // split off before cleanup, longest first
    private final int bosId, eosId, padId, unkId;
    private final Map<String, String[]> cache = new ConcurrentHashMap<>();

    private ClipTokenizer(Map<String, Integer> encoder, Map<String, Integer> mergeRanks, List<String> specialTokens,
                          String bos, String eos, String pad, String unk) {
        this.encoder = encoder;
        int maxId = encoder.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.decoder = new String[maxId + 1];
        encoder.forEach((tok, id) -> decoder[id] = tok);
        this.mergeRanks = mergeRanks;
        this.specialTokens = specialTokens.stream().sorted((a, b) -> b.length() - a.length()).toList();
        this.bosId = require(bos);
        this.eosId = require(eos);
        this.padId = require(pad);
        this.unkId = require(unk);
    }

    private int require(String token) {
        Integer id = encoder.get(token);
        if (id == null) throw new CheckpointException("CLIP tokenizer: special token '" + token + "' is not in vocab.json");
        return id;
    }

    /**
     * Reads {@code vocab.json}, {@code merges.txt} and, when present, {@code tokenizer_config.json} (special token
     * names and added tokens) from an HF CLIP folder.
     */
    public static ClipTokenizer load(Path folder) {
        ObjectMapper json = new ObjectMapper();
        Path vocabFile = folder.resolve("vocab.json"), mergesFile = folder.resolve("merges.txt");
        Map<String, Integer> encoder = new HashMap<>();
        Map<String, Integer> ranks = new HashMap<>();
        String bos = "<|startoftext|>", eos = "<|endoftext|>", pad = eos, unk = eos;
        List<String> special = new ArrayList<>();
        try {
            JsonNode vocab = json.readTree(Files.readAllBytes(vocabFile));
            if (vocab == null || !vocab.isObject()) throw CheckpointException.of(vocabFile, "must hold a JSON object");
            for (var e : vocab.properties()) {
                if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                    throw CheckpointException.of(vocabFile, "id of '" + e.getKey() + "' must be a non-negative integer");
                }
                encoder.put(e.getKey(), e.getValue().asInt());
            }
            // HF: read().strip().split("\n")[1 : 49152-256-2+1]; the first line is the version header.
            String[] lines = Files.readString(mergesFile, StandardCharsets.UTF_8).strip().split("\n");
            for (int i = 1; i < Math.min(lines.length, MAX_MERGES + 1); i++) {
                String[] pair = lines[i].strip().split("\\s+");
                if (pair.length != 2) throw CheckpointException.of(mergesFile, "line " + (i + 1) + " is not a pair of symbols");
                ranks.put(pair[0] + ' ' + pair[1], i - 1);
            }
            Path config = folder.resolve("tokenizer_config.json");
            if (Files.isRegularFile(config)) {
                JsonNode c = json.readTree(Files.readAllBytes(config));
                bos = tokenName(c.get("bos_token"), bos);
                eos = tokenName(c.get("eos_token"), eos);
                pad = tokenName(c.get("pad_token"), pad);
                unk = tokenName(c.get("unk_token"), unk);
                JsonNode added = c.get("added_tokens_decoder");
                if (added != null && added.isObject()) {
                    for (var e : added.properties()) special.add(tokenName(e.getValue(), null));
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw CheckpointException.of(Path.of(e.getFile()), "file not found (a CLIP tokenizer needs vocab.json and merges.txt)");
        } catch (IOException e) {
            throw CheckpointException.of(folder, "cannot read the CLIP tokenizer: " + e.getMessage());
        }
        for (String s : List.of(bos, eos)) if (!special.contains(s)) special.add(s);
        special.removeIf(s -> s == null || s.isEmpty());
        return new ClipTokenizer(encoder, ranks, special, bos, eos, pad, unk);
    }

    private static String tokenName(JsonNode n, String dflt) {
        if (n == null || n.isNull()) return dflt;
        if (n.isTextual()) return n.asText();
        JsonNode content = n.get("content");
        return content != null && content.isTextual() ? content.asText() : dflt;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public int padId() {
        return padId;
    }

    public int vocabSize() {
        return decoder.length;
    }

    /** BPE tokens of {@code text}, without the begin and end tokens. */
    public List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        for (String chunk : splitSpecial(text)) {
            if (specialTokens.contains(chunk)) {
                out.add(chunk);
                continue;
            }
            Matcher m = WORDS.matcher(ClipTextCleaner.clean(chunk));
            while (m.find()) out.addAll(Arrays.asList(bpe(byteEncode(m.group()))));
        }
        return out;
    }

    /** Token ids of {@code text}, without the begin and end tokens; unknown tokens map to the unknown id. */
    public int[] encode(String text) {
        return tokenize(text).stream().mapToInt(t -> encoder.getOrDefault(t, unkId)).toArray();
    }

    /**
     * {@code [bos] + ids + [eos]}, the ids truncated so that the whole fits {@code maxLength} (HF's
     * {@code truncation=True}); no padding.
     */
    public int[] encodeForModel(String text, int maxLength) {
        if (maxLength < 2) throw new IllegalArgumentException("maxLength must leave room for the begin and end tokens");
        int[] ids = encode(text);
        int n = Math.min(ids.length, maxLength - 2);
        int[] out = new int[n + 2];
        out[0] = bosId;
        System.arraycopy(ids, 0, out, 1, n);
        out[n + 1] = eosId;
        return out;
    }

    /** Decodes ids as HF does: bytes back to UTF-8 (invalid sequences replaced), each {@code </w>} becomes a space. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        StringBuilder symbols = new StringBuilder();
        for (int id : ids) {
            if (id < 0 || id >= decoder.length || decoder[id] == null) throw new IllegalArgumentException("unknown token id " + id);
            if (skipSpecialTokens && (id == bosId || id == eosId || id == padId || id == unkId)) continue;
            symbols.append(decoder[id]);
        }
        byte[] bytes = new byte[symbols.length()];
        int n = 0;
        for (int i = 0; i < symbols.length(); i++) {
            Integer b = CHAR_TO_BYTE.get(symbols.charAt(i));
            if (b != null) bytes[n++] = (byte) (int) b;
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8).replace(WORD_END, " ").strip();
    }

    /** Splits around special tokens (longest first at the leftmost position), keeping them as chunks. */
    private List<String> splitSpecial(String text) {
        List<String> chunks = new ArrayList<>();
        int from = 0;
        while (from < text.length()) {
            int best = -1;
            String found = null;
            for (String s : specialTokens) {
                int at = text.indexOf(s, from);
                if (at >= 0 && (best < 0 || at < best)) {
                    best = at;
                    found = s;
                }
            }
            if (found == null) break;
            if (best > from) chunks.add(text.substring(from, best));
            chunks.add(found);
            from = best + found.length();
        }
        if (from < text.length()) chunks.add(text.substring(from));
        return chunks;
    }

    private static String byteEncode(String word) {
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) out[i] = BYTE_TO_CHAR[utf8[i] & 0xFF];
        return new String(out);
    }

    /** Merges the symbols of one byte-encoded word, lowest-ranked pair first, every occurrence left to right. */
    private String[] bpe(String word) {
        // HF seeds its BPE cache with these two, so the regex's matches of them stay whole.
        if (word.equals("<|startoftext|>") || word.equals("<|endoftext|>")) return new String[]{word};
        String[] cached = cache.get(word);
        if (cached != null) return cached;
        List<String> symbols = new ArrayList<>(word.length());
        for (int i = 0; i < word.length(); i++) symbols.add(String.valueOf(word.charAt(i)));
        symbols.set(symbols.size() - 1, symbols.getLast() + WORD_END);
        while (symbols.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String first = null, second = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer r = mergeRanks.get(symbols.get(i) + ' ' + symbols.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    first = symbols.get(i);
                    second = symbols.get(i + 1);
                }
            }
            if (first == null) break;
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(first) && symbols.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(symbols.get(i));
                }
            }
            symbols = merged;
        }
        String[] result = symbols.toArray(String[]::new);
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(word, result);
        return result;
    }
}
