package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The part of YAML that model configs such as Meta's {@code vqgan.yaml} use, read into a Jackson tree: block mappings
 * and sequences by indentation, one-line flow collections ({@code [1, 2]}, {@code {a: b}}), plain and quoted scalars,
 * comments. Anything else (anchors, tags, multi-line strings, several documents) is refused with the line named, so a
 * file is never half understood. Scalars are typed as PyYAML's {@code safe_load} types them: null, booleans, integers,
 * floats, else strings.
 */
final class YamlSubset {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Pattern INT = Pattern.compile("[-+]?(0|[1-9][0-9_]*)");
    private static final Pattern FLOAT = Pattern.compile("[-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+");
    private static final int MAX_DEPTH = 64;

    private record Line(int number, int indent, String text) {
    }

    private final Path file;
    private final List<Line> lines = new ArrayList<>();
    private int pos;

    private YamlSubset(Path file, String text) {
        this.file = file;
        String[] raw = text.split("\r?\n", -1);
        for (int i = 0; i < raw.length; i++) {
            String s = raw[i];
            if (i == 0 && s.startsWith("\uFEFF")) s = s.substring(1);
            int indent = 0;
            while (indent < s.length() && s.charAt(indent) == ' ') indent++;
            if (indent < s.length() && s.charAt(indent) == '\t') throw error(i + 1, "tabs are not allowed for indentation");
            String body = stripComment(s.substring(indent), i + 1).stripTrailing();
            if (body.isEmpty()) continue;
            if (body.equals("---") && lines.isEmpty()) continue;
            if (body.equals("---") || body.equals("...")) throw error(i + 1, "only one YAML document is supported");
            lines.add(new Line(i + 1, indent, body));
        }
    }

    static JsonNode parse(Path file, String text) {
        YamlSubset y = new YamlSubset(file, text);
        if (y.lines.isEmpty()) return NODES.nullNode();
        JsonNode root = y.block(y.lines.getFirst().indent, 0);
        if (y.pos < y.lines.size()) throw y.error(y.lines.get(y.pos).number, "unexpected indentation");
        return root;
    }

    private CheckpointException error(int line, String what) {
        return CheckpointException.of(file, "line " + line + ": " + what);
    }

    private JsonNode block(int indent, int depth) {
        if (depth > MAX_DEPTH) throw error(lines.get(pos).number, "nesting deeper than " + MAX_DEPTH);
        Line first = lines.get(pos);
        return isSequenceItem(first.text) ? sequence(indent, depth) : mapping(indent, depth);
    }

    private static boolean isSequenceItem(String text) {
        return text.equals("-") || text.startsWith("- ");
    }

    private ObjectNode mapping(int indent, int depth) {
        ObjectNode map = NODES.objectNode();
        while (pos < lines.size() && lines.get(pos).indent == indent) {
            Line line = lines.get(pos);
            if (isSequenceItem(line.text)) throw error(line.number, "a sequence item where a mapping key was expected");
            int colon = keyColon(line);
            String key = unquote(line.text.substring(0, colon).strip(), line.number);
            String rest = line.text.substring(colon + 1).strip();
            if (map.has(key)) throw error(line.number, "duplicate key '" + key + "'");
            pos++;
            map.set(key, rest.isEmpty() ? nestedValue(indent, depth) : inline(rest, line.number, depth));
        }
        if (pos < lines.size() && lines.get(pos).indent > indent) throw error(lines.get(pos).number, "unexpected indentation");
        return map;
    }

    /** The value of a key written alone on its line: a deeper block, a sequence at the key's indent, or null. */
    private JsonNode nestedValue(int indent, int depth) {
        if (pos >= lines.size()) return NODES.nullNode();
        Line next = lines.get(pos);
        if (next.indent > indent) return block(next.indent, depth + 1);
        if (next.indent == indent && isSequenceItem(next.text)) return sequence(indent, depth + 1);
        return NODES.nullNode();
    }

    private ArrayNode sequence(int indent, int depth) {
        ArrayNode list = NODES.arrayNode();
        while (pos < lines.size() && lines.get(pos).indent == indent && isSequenceItem(lines.get(pos).text)) {
            Line line = lines.get(pos);
            String item = line.text.length() == 1 ? "" : line.text.substring(2).strip();
            if (item.isEmpty()) {
                pos++;
                list.add(pos < lines.size() && lines.get(pos).indent > indent ? block(lines.get(pos).indent, depth + 1) : NODES.nullNode());
            } else if (looksLikeMappingEntry(item)) {
                // "- key: value" opens a mapping whose keys line up with "key".
                int column = line.indent + line.text.indexOf(item);
                lines.set(pos, new Line(line.number, column, item));
                list.add(mapping(column, depth + 1));
            } else {
                pos++;
                list.add(inline(item, line.number, depth));
            }
        }
        return list;
    }

    private boolean looksLikeMappingEntry(String text) {
        char c = text.charAt(0);
        if (c == '[' || c == '{') return false;
        return findKeyColon(text) >= 0;
    }

    private int keyColon(Line line) {
        int colon = findKeyColon(line.text);
        if (colon < 0) throw error(line.number, "expected 'key: value', found '" + line.text + "'");
        return colon;
    }

    /** Index of the ':' ending a key (followed by a space or the end), outside quotes; -1 if none. */
    private static int findKeyColon(String text) {
        char quote = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote != 0) {
                if (c == quote) quote = 0;
            } else if (c == '"' || c == '\'') {
                if (i == 0) quote = c;
            } else if (c == ':' && (i + 1 == text.length() || text.charAt(i + 1) == ' ')) {
                return i;
            }
        }
        return -1;
    }

    private String stripComment(String s, int line) {
        char quote = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == quote) quote = 0;
            } else if ((c == '"' || c == '\'') && (i == 0 || " [{,:-".indexOf(s.charAt(i - 1)) >= 0)) {
                quote = c;
            } else if (c == '#' && (i == 0 || s.charAt(i - 1) == ' ')) {
                return s.substring(0, i);
            }
        }
        if (quote != 0) throw error(line, "unterminated quoted string (multi-line strings are not supported)");
        return s;
    }

    private JsonNode inline(String text, int line, int depth) {
        char c = text.charAt(0);
        if (c == '[' || c == '{') {
            int[] at = {0};
            JsonNode node = flow(text, at, line, depth);
            if (at[0] != text.length()) throw error(line, "unexpected text after a flow collection: '" + text.substring(at[0]) + "'");
            return node;
        }
        if (c == '&' || c == '*' || c == '!' || c == '|' || c == '>' || c == '%' || c == '@' || c == '`') {
            throw error(line, "'" + c + "' (anchors, aliases, tags, block scalars) is not supported");
        }
        return scalar(text, line);
    }

    /** A one-line flow collection starting at at[0]; leaves at[0] after its closing bracket. */
    private JsonNode flow(String s, int[] at, int line, int depth) {
        if (depth > MAX_DEPTH) throw error(line, "nesting deeper than " + MAX_DEPTH);
        char open = s.charAt(at[0]++);
        char close = open == '[' ? ']' : '}';
        ArrayNode list = open == '[' ? NODES.arrayNode() : null;
        ObjectNode map = open == '{' ? NODES.objectNode() : null;
        skipSpaces(s, at);
        if (at[0] < s.length() && s.charAt(at[0]) == close) {
            at[0]++;
            return open == '[' ? list : map;
        }
        while (true) {
            skipSpaces(s, at);
            if (at[0] >= s.length()) throw error(line, "unterminated '" + open + "' (flow collections must fit on one line)");
            if (map != null) {
                String key = unquote(flowToken(s, at, line, true).strip(), line);
                if (at[0] >= s.length() || s.charAt(at[0]) != ':') throw error(line, "expected ':' after key '" + key + "'");
                at[0]++;
                skipSpaces(s, at);
                map.set(key, flowValue(s, at, line, depth));
            } else {
                list.add(flowValue(s, at, line, depth));
            }
            skipSpaces(s, at);
            if (at[0] >= s.length()) throw error(line, "unterminated '" + open + "' (flow collections must fit on one line)");
            char c = s.charAt(at[0]++);
            if (c == close) return open == '[' ? list : map;
            if (c != ',') throw error(line, "expected ',' or '" + close + "' in a flow collection, found '" + c + "'");
        }
    }

    private JsonNode flowValue(String s, int[] at, int line, int depth) {
        if (at[0] < s.length() && (s.charAt(at[0]) == '[' || s.charAt(at[0]) == '{')) return flow(s, at, line, depth + 1);
        return scalar(flowToken(s, at, line, false).strip(), line);
    }

    /** A scalar inside a flow collection: quoted, or plain up to ',', ']', '}' (and ':' for keys). */
    private String flowToken(String s, int[] at, int line, boolean key) {
        int start = at[0];
        if (start < s.length() && (s.charAt(start) == '"' || s.charAt(start) == '\'')) {
            char q = s.charAt(start);
            int end = s.indexOf(q, start + 1);
            while (q == '\'' && end >= 0 && end + 1 < s.length() && s.charAt(end + 1) == '\'') end = s.indexOf(q, end + 2);
            if (end < 0) throw error(line, "unterminated quoted string");
            at[0] = end + 1;
            return s.substring(start, end + 1);
        }
        int i = start;
        while (i < s.length() && ",]}".indexOf(s.charAt(i)) < 0 && !(key && s.charAt(i) == ':')) i++;
        at[0] = i;
        return s.substring(start, i);
    }

    private static void skipSpaces(String s, int[] at) {
        while (at[0] < s.length() && s.charAt(at[0]) == ' ') at[0]++;
    }

    private String unquote(String s, int line) {
        if (s.length() >= 2 && (s.charAt(0) == '"' || s.charAt(0) == '\'') && s.charAt(s.length() - 1) == s.charAt(0)) {
            String inner = s.substring(1, s.length() - 1);
            if (s.charAt(0) == '\'') return inner.replace("''", "'");
            if (inner.indexOf('\\') >= 0) throw error(line, "escape sequences in double-quoted strings are not supported");
            return inner;
        }
        return s;
    }

    private JsonNode scalar(String s, int line) {
        if (s.isEmpty()) return NODES.nullNode();
        if (s.charAt(0) == '"' || s.charAt(0) == '\'') {
            String u = unquote(s, line);
            if (u.equals(s)) throw error(line, "malformed quoted string " + s);
            return NODES.textNode(u);
        }
        switch (s) {
            case "~", "null", "Null", "NULL" -> {
                return NODES.nullNode();
            }
            case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" -> {
                return NODES.booleanNode(true);
            }
            case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" -> {
                return NODES.booleanNode(false);
            }
            default -> {
            }
        }
        String digits = s.replace("_", "");
        if (INT.matcher(s).matches()) {
            try {
                return NODES.numberNode(Long.parseLong(digits));
            } catch (NumberFormatException e) {
                return NODES.numberNode(new java.math.BigInteger(digits));
            }
        }
        if (FLOAT.matcher(s).matches() && !digits.equals(".") && !digits.matches("[-+]?\\.")) {
            return NODES.numberNode(Double.parseDouble(digits));
        }
        return NODES.textNode(s);
    }
}
