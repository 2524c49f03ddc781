package dev.cm3leon.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Typed reads of {@code tokenizer.json} fields. A missing or mistyped field throws an
 * {@link IllegalArgumentException} whose message starts with the field's path (e.g. {@code model.vocab}); the reader
 * adds the file name in front.
 */
final class JsonFields {
    private JsonFields() {
    }

    static String path(String parent, String field) {
        return parent.isEmpty() ? field : parent + "." + field;
    }

    static boolean isAbsent(JsonNode object, String field) {
        JsonNode value = object.get(field);
        return value == null || value.isNull();
    }

    static JsonNode object(JsonNode object, String field, String parent) {
        JsonNode value = object.get(field);
        if (value == null || !value.isObject()) {
            throw new IllegalArgumentException(path(parent, field) + (value == null || value.isNull()
                    ? " is missing" : " must be an object"));
        }
        return value;
    }

    static JsonNode array(JsonNode object, String field, String parent) {
        JsonNode value = object.get(field);
        if (value == null || !value.isArray()) {
            throw new IllegalArgumentException(path(parent, field) + (value == null || value.isNull()
                    ? " is missing" : " must be a list"));
        }
        return value;
    }

    static String string(JsonNode object, String field, String parent) {
        String value = optionalString(object, field, parent);
        if (value == null) {
            throw new IllegalArgumentException(path(parent, field) + " is missing");
        }
        return value;
    }

    /** A string field, or {@code null} when absent or null. */
    static String optionalString(JsonNode object, String field, String parent) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw new IllegalArgumentException(path(parent, field) + " must be a string");
        }
        return value.textValue();
    }

    static String string(JsonNode object, String field, String parent, String fallback) {
        String value = optionalString(object, field, parent);
        return value == null ? fallback : value;
    }

    /** A string field holding exactly one character, returned as a code point. */
    static int character(JsonNode object, String field, String parent) {
        String value = string(object, field, parent);
        if (value.isEmpty() || value.codePointCount(0, value.length()) != 1) {
            throw new IllegalArgumentException(path(parent, field) + " must be a single character, not '" + value + "'");
        }
        return value.codePointAt(0);
    }

    static boolean bool(JsonNode object, String field, String parent, boolean fallback) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isBoolean()) {
            throw new IllegalArgumentException(path(parent, field) + " must be true or false");
        }
        return value.booleanValue();
    }

    static int nonNegativeInt(JsonNode object, String field, String parent, int fallback) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return fallback;
        }
        return nonNegativeInt(value, path(parent, field));
    }

    static int nonNegativeInt(JsonNode value, String path) {
        if (!value.canConvertToInt() || !value.isIntegralNumber() || value.intValue() < 0) {
            throw new IllegalArgumentException(path + " must be a non-negative integer, not " + value);
        }
        return value.intValue();
    }
}
