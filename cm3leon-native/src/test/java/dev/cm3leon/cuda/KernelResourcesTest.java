package dev.cm3leon.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What cm3leon-kernels packages: every source always; with nvcc at build time, a fatbin and PTX per op. */
class KernelResourcesTest {
    final KernelImages images = KernelImages.load();

    @Test
    void everyKernelSourceIsPackagedWithTheSharedHeader() throws IOException {
        Path sources = Path.of("../cm3leon-kernels/src/main/cuda");
        assumeTrue(Files.isDirectory(sources), "the kernel sources are not beside this module");
        try (Stream<Path> files = Files.list(sources)) {
            assertThat(images.ops()).extracting(KernelImages.Op::source)
                    .containsExactlyInAnyOrderElementsOf(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu")).toList());
        }
        for (KernelImages.Op op : images.ops()) {
            assertThat(images.text(op.source())).as(op.source()).isEqualTo(Files.readString(sources.resolve(op.source())));
        }
        assertThat(images.text(KernelImages.HEADER)).isEqualTo(Files.readString(sources.resolve(KernelImages.HEADER)));
    }

    @Test
    void whenNvccRanEveryOpHasAFatbinAndNulTerminatedPtx() {
        assumeTrue(images.compiled(), "nvcc did not run at build time (nvcc: " + images.nvccVersion() + ")");
        for (KernelImages.Op op : images.ops()) {
            byte[] fatbin = images.bytes(op.fatbin().orElseThrow());
            assertThat(fatbin.length).as(op.name()).isGreaterThan(1000);
            // fatbin magic 0xBA55ED50, little-endian
            assertThat(new byte[]{fatbin[0], fatbin[1], fatbin[2], fatbin[3]}).containsExactly(0x50, 0xED, 0x55, 0xBA);
            for (String[] ptx : new String[][]{{op.ptx80().orElseThrow(), "sm_80"}, {op.ptx90().orElseThrow(), "sm_90"}}) {
                byte[] image = images.ptx(ptx[0]);
                assertThat(image[image.length - 1]).as("%s ends with NUL", ptx[0]).isZero();
                assertThat(new String(image, StandardCharsets.US_ASCII)).contains(".target " + ptx[1]);
            }
        }
    }

    @Test
    void sampleAndSoftmaxKernelsAreNotBuiltWithFastMath() {
        for (KernelImages.Op op : images.ops()) {
            if (op.name().startsWith("attention") || op.name().equals("sample") || op.name().equals("contrastive")
                    || op.name().equals("rmsnorm") || op.name().equals("qk_norm_rope")) {
                assertThat(op.fastMath()).as(op.name()).isFalse();
            }
        }
    }
}
