package dev.cm3leon.cli;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/** A grid of pictures, each enlarged without smoothing and labelled with its lines of text underneath. */
final class ContactSheet {
    record Cell(BufferedImage image, String... lines) {
    }

    private static final int COLUMNS = 4, PAD = 8, FONT_SIZE = 12, LINE_WIDTH = 150;

    private ContactSheet() {
    }

    /** Cells in rows of four; each picture scaled by {@code zoom} (nearest neighbour), labels wrapped to its width. */
    static BufferedImage render(List<Cell> cells, int zoom) {
        if (cells.isEmpty()) throw new IllegalArgumentException("no pictures to put in a grid");
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, FONT_SIZE);
        int side = cells.stream().mapToInt(c -> Math.max(c.image().getWidth(), c.image().getHeight())).max().orElseThrow() * zoom;
        int cellWidth = Math.max(side, LINE_WIDTH);
        FontMetrics fm = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics().getFontMetrics(font);
        List<List<String>> labels = cells.stream().map(c -> wrap(c.lines(), fm, cellWidth)).toList();
        int labelHeight = labels.stream().mapToInt(List::size).max().orElse(0) * fm.getHeight();
        int columns = Math.min(COLUMNS, cells.size()), rows = (cells.size() + columns - 1) / columns;
        int cw = cellWidth + PAD, ch = side + labelHeight + 2 * PAD;
        BufferedImage sheet = new BufferedImage(columns * cw + PAD, rows * ch + PAD, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, sheet.getWidth(), sheet.getHeight());
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setFont(font);
            for (int i = 0; i < cells.size(); i++) {
                int x = PAD + (i % columns) * cw, y = PAD + (i / columns) * ch;
                BufferedImage img = cells.get(i).image();
                g.drawImage(img, x + (cellWidth - side) / 2, y, side, side, null);
                g.setColor(Color.LIGHT_GRAY);
                g.drawRect(x + (cellWidth - side) / 2, y, side - 1, side - 1);
                g.setColor(Color.BLACK);
                int ty = y + side + PAD / 2 + fm.getAscent();
                for (String line : labels.get(i)) {
                    g.drawString(line, x, ty);
                    ty += fm.getHeight();
                }
            }
        } finally {
            g.dispose();
        }
        return sheet;
    }

    private static List<String> wrap(String[] lines, FontMetrics fm, int width) {
        List<String> out = new ArrayList<>();
        for (String line : lines) {
            StringBuilder current = new StringBuilder();
            for (String word : line.split(" ")) {
                String next = current.isEmpty() ? word : current + " " + word;
                if (fm.stringWidth(next) > width && !current.isEmpty()) {
                    out.add(current.toString());
                    current = new StringBuilder(word);
                } else {
                    current = new StringBuilder(next);
                }
            }
            if (!current.isEmpty()) out.add(current.toString());
        }
        return out;
    }
}
