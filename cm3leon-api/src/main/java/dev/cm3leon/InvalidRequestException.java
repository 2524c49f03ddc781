package dev.cm3leon;

/** A request that cannot run as asked (bad parameter, prompt too long, missing capability); thrown before any work. */
public class InvalidRequestException extends Cm3LeonException {
    public InvalidRequestException(String message) {
        super(message);
    }
}
