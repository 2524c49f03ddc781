package dev.cm3leon.service;

/**
 * A request the service answers with an error: the HTTP status, and what goes into OpenAI's error object
 * ({@code {"error": {"message", "type", "param", "code"}}}) so that clients and SDKs show it as they show OpenAI's.
 */
final class ApiException extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;
    /** Seconds a client should wait before trying again (429 and 503), or 0. */
    final long retryAfterSeconds;

    ApiException(int status, String type, String param, String code, String message, long retryAfterSeconds) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** A malformed or unsupported request (400), naming the field at fault. */
    static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message, 0);
    }

    static ApiException notFound(String param, String code, String message) {
        return new ApiException(404, "invalid_request_error", param, code, message, 0);
    }
}
