package dev.cm3leon.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.Optional;

/** A JSON request body and its fields, each read with the type OpenAI's API gives it and a 400 naming it otherwise. */
record JsonRequest(JsonNode body) {
    static final ObjectMapper MAPPER = new ObjectMapper();

    static JsonRequest parse(byte[] bytes) {
        if (bytes.length == 0) throw ApiException.invalid(null, "the request body is empty; send a JSON object");
        JsonNode node;
        try {
            node = MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw ApiException.invalid(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw ApiException.invalid(null, "the request body could not be read: " + e.getMessage());
        }
        if (node == null || !node.isObject()) throw ApiException.invalid(null, "the request body must be a JSON object");
        return new JsonRequest(node);
    }

    String requiredText(String field) {
        return text(field).orElseThrow(() -> ApiException.invalid(field, "'" + field + "' is required"));
    }

    Optional<String> text(String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return Optional.empty();
        if (!v.isTextual()) throw ApiException.invalid(field, "'" + field + "' must be a string, got " + kind(v));
        return Optional.of(v.asText());
    }

    int integer(String field, int orElse, int min, int max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return orElse;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw ApiException.invalid(field, "'" + field + "' must be an integer, got " + kind(v));
        }
        int i = v.asInt();
        if (i < min || i > max) throw ApiException.invalid(field, "'" + field + "' must be between " + min + " and " + max + ", got " + i);
        return i;
    }

    Optional<Long> longInteger(String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return Optional.empty();
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw ApiException.invalid(field, "'" + field + "' must be an integer, got " + kind(v));
        return Optional.of(v.asLong());
    }

    Optional<Double> number(String field, double min, double max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return Optional.empty();
        if (!v.isNumber()) throw ApiException.invalid(field, "'" + field + "' must be a number, got " + kind(v));
        double d = v.asDouble();
        if (!(d >= min && d <= max)) throw ApiException.invalid(field, "'" + field + "' must be between " + min + " and " + max + ", got " + d);
        return Optional.of(d);
    }

    boolean bool(String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw ApiException.invalid(field, "'" + field + "' must be true or false, got " + kind(v));
        return v.asBoolean();
    }

    static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
