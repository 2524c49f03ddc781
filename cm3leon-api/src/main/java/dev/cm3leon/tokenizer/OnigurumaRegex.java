package dev.cm3leon.tokenizer;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles the Oniguruma patterns found in {@code tokenizer.json} files with {@link java.util.regex}.
 *
 * <p>HF {@code tokenizers} runs Oniguruma on UTF-8 text, where {@code \s}, {@code \w}, {@code \d} and case-insensitive
 * groups are Unicode-aware; {@link Pattern#UNICODE_CHARACTER_CLASS} gives Java the same meaning. The few escapes whose
 * meaning differs between the two engines are rewritten: {@code \h} is a hexadecimal digit in Oniguruma (horizontal
 * space in Java), and {@code \p{^X}} is Oniguruma's negated property. Property names without a prefix get Java's
 * {@code Is} prefix when Java knows them that way, so scripts such as {@code \p{Han}} compile.
 */
final class OnigurumaRegex {
    private OnigurumaRegex() {
    }

    /** @throws PatternSyntaxException if the pattern is not valid for Java's engine */
    static Pattern compile(String onigPattern) {
        return Pattern.compile(translate(onigPattern), Pattern.UNICODE_CHARACTER_CLASS);
    }

    static String translate(String pattern) {
        StringBuilder out = new StringBuilder(pattern.length() + 16);
        int classDepth = 0;
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c != '\\' || i + 1 == pattern.length()) {
                if (c == '[') {
                    classDepth++;
                } else if (c == ']' && classDepth > 0) {
                    classDepth--;
                }
                out.append(c);
                continue;
            }
            char next = pattern.charAt(++i);
            switch (next) {
                case 'h' -> out.append(classDepth > 0 ? "0-9a-fA-F" : "[0-9a-fA-F]");
                case 'H' -> {
                    if (classDepth > 0) {
                        throw new PatternSyntaxException("\\H inside a character class is not supported", pattern, i);
                    }
                    out.append("[^0-9a-fA-F]");
                }
                case 'p', 'P' -> i = appendProperty(pattern, i, next == 'P', out);
                default -> out.append('\\').append(next);
            }
        }
        return out.toString();
    }

    /** Appends a {@code \p{...}} escape whose letter is at {@code at}; returns the index of its last character. */
    private static int appendProperty(String pattern, int at, boolean negated, StringBuilder out) {
        if (at + 1 >= pattern.length() || pattern.charAt(at + 1) != '{') {
            out.append('\\').append(pattern.charAt(at));
            return at;
        }
        int close = pattern.indexOf('}', at);
        if (close < 0) {
            throw new PatternSyntaxException("unclosed property name", pattern, at);
        }
        String name = pattern.substring(at + 2, close);
        if (name.startsWith("^")) {
            negated = !negated;
            name = name.substring(1);
        }
        out.append(negated ? "\\P{" : "\\p{").append(javaPropertyName(name)).append('}');
        return close;
    }

    private static String javaPropertyName(String name) {
        if (name.contains("=") || name.startsWith("Is") || name.startsWith("In") || name.startsWith("java")) {
            return name;
        }
        try {
            Pattern.compile("\\p{" + name + "}");
            return name;
        } catch (PatternSyntaxException notACategory) {
            return "Is" + name;
        }
    }
}
