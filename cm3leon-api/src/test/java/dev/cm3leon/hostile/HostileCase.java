package dev.cm3leon.hostile;

import java.nio.file.Path;
import java.util.List;

/**
 * One malformed input and how the library is asked to read it.
 *
 * @param family    what kind of input it is ({@code safetensors}, {@code config}…), for reports
 * @param name      what is wrong with it, e.g. {@code header length beyond the file}
 * @param input     the file or checkpoint folder
 * @param reader    the library call that must refuse it
 * @param mustName  fragments the refusal's message must contain: the file, and the field or tensor at fault
 */
public record HostileCase(String family, String name, Path input, Reader reader, List<String> mustName) {

    /** A library call that reads an input; it must end in a typed exception for every case. */
    @FunctionalInterface
    public interface Reader {
        void read(Path input) throws Exception;
    }

    @Override
    public String toString() {
        return family + ": " + name;
    }
}
