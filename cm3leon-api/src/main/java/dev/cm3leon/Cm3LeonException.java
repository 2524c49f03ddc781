package dev.cm3leon;

/** Base of every exception the library throws on purpose: bad input, bad files, bad parameters. */
public class Cm3LeonException extends RuntimeException {
    public Cm3LeonException(String message) {
        super(message);
    }

    public Cm3LeonException(String message, Throwable cause) {
        super(message, cause);
    }
}
