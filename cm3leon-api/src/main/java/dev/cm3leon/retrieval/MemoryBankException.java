package dev.cm3leon.retrieval;

import dev.cm3leon.Cm3LeonException;

/** A memory bank that cannot be opened or used as asked: the message names the bank and what is wrong. */
public class MemoryBankException extends Cm3LeonException {
    public MemoryBankException(String message) {
        super(message);
    }

    public MemoryBankException(String message, Throwable cause) {
        super(message, cause);
    }
}
