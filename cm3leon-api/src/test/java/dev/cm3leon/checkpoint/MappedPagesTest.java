package dev.cm3leon.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class MappedPagesTest {
    @TempDir
    Path dir;

    /** A hint on an unaligned slice of a mapped file is given (on Linux, with native access) and changes no byte. */
    @Test
    void aMappedSliceIsAdvisedAndReadsTheSame() throws IOException {
        byte[] bytes = new byte[3 * 4096 + 123];
        new Random(7).nextBytes(bytes);
        Path file = Files.write(dir.resolve("table.bin"), bytes);
        try (FileChannel ch = FileChannel.open(file); Arena arena = Arena.ofConfined()) {
            MemorySegment whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes.length, arena);
            MemorySegment slice = whole.asSlice(1000, 2 * 4096);   // starts inside a page
            boolean linux = System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux");
            assertThat(MappedPages.adviseRandom(slice)).isEqualTo(linux && MappedPages.class.getModule().isNativeAccessEnabled());
            assertThat(whole.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(bytes);
            assertThat(MappedPages.adviseRandom(whole.asSlice(5, 0))).as("empty").isFalse();
        }
    }

    @Test
    void memoryThatIsNotAMappedFileIsLeftAlone() {
        assertThat(MappedPages.adviseRandom(MemorySegment.ofArray(new byte[8192]))).isFalse();
        try (Arena arena = Arena.ofConfined()) {
            assertThat(MappedPages.adviseRandom(arena.allocate(8192))).isFalse();
        }
    }
}
