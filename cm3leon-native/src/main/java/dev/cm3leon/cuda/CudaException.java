package dev.cm3leon.cuda;

import dev.cm3leon.Cm3LeonException;

/** A CUDA, cuBLAS or NVRTC call failed; the message names the call and the library's error. */
public final class CudaException extends Cm3LeonException {
    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
