package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;

/** Typed access to a JSON config whose errors name the file and the field. */
final class ConfigReader {
    private final Path file;
    private final JsonNode root;
    private final String prefix;

    private ConfigReader(Path file, JsonNode root, String prefix) {
        this.file = file;
        this.root = root;
        this.prefix = prefix;
    }

    static ConfigReader read(Path file) {
        JsonNode root = JsonFiles.read(file);
        if (root == null || !root.isObject()) throw CheckpointException.of(file, "must hold a JSON object");
        return new ConfigReader(file, root, "");
    }

    /** A reader over an already parsed tree (a YAML file, or a section of a larger config). */
    static ConfigReader of(Path file, JsonNode root) {
        if (root == null || !root.isObject()) throw CheckpointException.of(file, "must hold a mapping of settings");
        return new ConfigReader(file, root, "");
    }

    JsonNode root() {
        return root;
    }

    Path file() {
        return file;
    }

    boolean has(String field) {
        JsonNode n = root.get(field);
        return n != null && !n.isNull();
    }

    ConfigReader object(String field) {
        JsonNode n = root.get(field);
        if (n == null || !n.isObject()) throw error(field, "must be an object");
        return new ConfigReader(file, n, prefix + field + ".");
    }

    CheckpointException error(String field, String what) {
        return CheckpointException.of(file, "field '" + prefix + field + "' " + what);
    }

    int requireInt(String field, int min) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) throw error(field, "is missing");
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw error(field, "must be an integer, found " + n);
        int v = n.asInt();
        if (v < min) throw error(field, "must be at least " + min + ", found " + v);
        return v;
    }

    int optInt(String field, int dflt, int min) {
        return has(field) ? requireInt(field, min) : dflt;
    }

    double requirePositiveDouble(String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) throw error(field, "is missing");
        if (!n.isNumber()) throw error(field, "must be a number, found " + n);
        double v = n.asDouble();
        if (!(v > 0) || Double.isInfinite(v)) throw error(field, "must be a positive finite number, found " + v);
        return v;
    }

    double optPositiveDouble(String field, double dflt) {
        return has(field) ? requirePositiveDouble(field) : dflt;
    }

    boolean optBoolean(String field, boolean dflt) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isBoolean()) throw error(field, "must be true or false, found " + n);
        return n.asBoolean();
    }

    String optString(String field, String dflt) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isTextual()) throw error(field, "must be a string, found " + n);
        return n.asText();
    }

    int[] intArray(String field, int[] dflt, int min) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            if (dflt == null) throw error(field, "is missing");
            return dflt;
        }
        if (!n.isArray()) throw error(field, "must be an array of integers");
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = n.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt() || e.asInt() < min) {
                throw error(field, "element " + i + " must be an integer ≥ " + min + ", found " + e);
            }
            out[i] = e.asInt();
        }
        return out;
    }
}
