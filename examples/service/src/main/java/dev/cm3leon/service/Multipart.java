package dev.cm3leon.service;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A {@code multipart/form-data} body already read into memory (its size capped by the caller), split into named
 * parts. Only what form uploads use: a boundary from the content type, each part's {@code Content-Disposition}
 * name and filename, its bytes.
 */
record Multipart(List<Part> parts) {
    record Part(String name, String filename, byte[] content) {
        String text() {
            return new String(content, StandardCharsets.UTF_8);
        }
    }

    Optional<Part> part(String... names) {
        for (String n : names) {
            for (Part p : parts) if (p.name().equals(n)) return Optional.of(p);
        }
        return Optional.empty();
    }

    Optional<String> text(String name) {
        return part(name).map(Part::text);
    }

    static Multipart parse(String contentType, byte[] body) {
        String boundary = parameter(contentType, "boundary")
                .orElseThrow(() -> ApiException.invalid(null, "a multipart/form-data body needs a boundary in its Content-Type"));
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        List<Part> parts = new ArrayList<>();
        int at = indexOf(body, delimiter, 0);
        if (at < 0) throw ApiException.invalid(null, "the multipart body has no part boundary");
        while (true) {
            int start = at + delimiter.length;
            if (start + 1 < body.length && body[start] == '-' && body[start + 1] == '-') break;     // the closing boundary
            start = skipLineEnd(body, start);
            int headersEnd = indexOf(body, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), start);
            if (headersEnd < 0) throw ApiException.invalid(null, "a multipart part has no end to its headers");
            String headers = new String(body, start, headersEnd - start, StandardCharsets.ISO_8859_1);
            int contentStart = headersEnd + 4;
            int next = indexOf(body, ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1), contentStart);
            if (next < 0) throw ApiException.invalid(null, "the multipart body ends inside a part");
            String disposition = headers.lines().filter(l -> l.toLowerCase(Locale.ROOT).startsWith("content-disposition:"))
                    .findFirst().orElseThrow(() -> ApiException.invalid(null, "a multipart part has no Content-Disposition"));
            String name = parameter(disposition, "name")
                    .orElseThrow(() -> ApiException.invalid(null, "a multipart part has no name"));
            byte[] content = java.util.Arrays.copyOfRange(body, contentStart, next);
            parts.add(new Part(name, parameter(disposition, "filename").orElse(null), content));
            at = next + 2;
        }
        return new Multipart(List.copyOf(parts));
    }

    /** {@code key=value} or {@code key="value"} from a header's {@code ;}-separated parameters. */
    static Optional<String> parameter(String header, String key) {
        for (String piece : header.split(";")) {
            String p = piece.trim();
            int eq = p.indexOf('=');
            if (eq < 0 || !p.substring(0, eq).trim().equalsIgnoreCase(key)) continue;
            String v = p.substring(eq + 1).trim();
            if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) v = v.substring(1, v.length() - 1);
            return Optional.of(v);
        }
        return Optional.empty();
    }

    private static int skipLineEnd(byte[] b, int i) {
        if (i + 1 < b.length && b[i] == '\r' && b[i + 1] == '\n') return i + 2;
        if (i < b.length && b[i] == '\n') return i + 1;
        return i;
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
