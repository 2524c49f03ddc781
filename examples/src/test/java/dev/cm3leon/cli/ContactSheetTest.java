package dev.cm3leon.cli;

import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ContactSheetTest {
    @Test
    void everyPictureIsEnlargedPixelForPixelInRowsOfFour() {
        SplittableRandom random = new SplittableRandom();
        List<BufferedImage> pictures = IntStream.range(0, 5).mapToObj(i -> {
            BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) img.setRGB(x, y, random.nextInt(1 << 24));
            return img;
        }).toList();
        List<ContactSheet.Cell> cells = pictures.stream().map(p -> new ContactSheet.Cell(p, "a large red circle at the top left", "→ caption")).toList();
        BufferedImage sheet = ContactSheet.render(cells, 4);
        assertThat(sheet.getWidth()).isGreaterThan(4 * 128);
        // first row: pictures 0-3; the fifth starts the second row
        int cellWidth = (sheet.getWidth() - 8) / 4, side = 128;
        int x0 = 8 + (cellWidth - 8 - side) / 2;
        for (int i : new int[]{0, 3}) {
            int left = x0 + i * cellWidth;
            for (int y = 1; y < side - 1; y += 7) for (int x = 1; x < side - 1; x += 5) {
                assertThat(sheet.getRGB(left + x, 8 + y) & 0xffffff).as("picture %d at %d,%d", i, x, y)
                        .isEqualTo(pictures.get(i).getRGB(x / 4, y / 4) & 0xffffff);
            }
        }
        int secondRowTop = sheet.getHeight() / 2 + 4;
        assertThat(sheet.getRGB(x0 + 64, secondRowTop + 64) & 0xffffff).isEqualTo(pictures.get(4).getRGB(16, 16) & 0xffffff);
    }

    @Test
    void anEmptyGridIsRefused() {
        assertThatThrownBy(() -> ContactSheet.render(List.of(), 4)).isInstanceOf(IllegalArgumentException.class);
    }
}
