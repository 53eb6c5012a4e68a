//! A small layout layer on top of printpdf: A4 pages, a cursor that moves down, measured text,
//! paragraphs broken at spaces (never at U+00A0), headings, key–value blocks, tables that break
//! across pages and repeat their header, a DIN 5008 letter head, and "Seite x von y" footers.
//!
//! Layout and emission are separate steps: a document is first laid out into [`Page`]s of plain
//! items (text runs, rules, fills) in millimetre-free top-down coordinates (pt from the top-left
//! corner). Only when the page count is known are the footers added and the items turned into
//! printpdf operations. That is what makes "Seite x von y" possible, and it keeps the renderers
//! free of PDF details.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use printpdf::{
    Color, FontId, Greyscale, Line, LinePoint, Op, PaintMode, PdfDocument, PdfFont, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt,
    Rect, Rgb, TextItem, TextMatrix,
};

use crate::error::DocError;
use crate::font::{fonts, Face, Weight};
use crate::model::{Party, Sender};

/// A4 in pt.
pub const PAGE_W: f32 = 595.276;
pub const PAGE_H: f32 = 841.89;

/// Millimetres to pt (DIN 5008 measures are in mm).
pub const fn mm(v: f32) -> f32 {
    v * 72.0 / 25.4
}

/// Left and right text edges (DIN 5008: 25 mm left, at least 20 mm right).
pub const LEFT: f32 = mm(25.0);
pub const RIGHT: f32 = PAGE_W - mm(20.0);
/// Top of the text area on continuation pages (below the running head).
const TOP: f32 = mm(22.0);
/// Lowest point body text may reach; the footer lives below.
const BOTTOM: f32 = PAGE_H - mm(24.0);

/// Colour of ink.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ink {
    Black,
    /// Grey level, 0 = black, 1 = white.
    Grey(f32),
    /// The documents' single accent colour (a dark petrol blue), for the letter head and titles.
    Accent,
}

impl Ink {
    fn color(self) -> Color {
        match self {
            Ink::Black => Color::Greyscale(Greyscale::new(0.0, None)),
            Ink::Grey(g) => Color::Greyscale(Greyscale::new(g, None)),
            Ink::Accent => Color::Rgb(Rgb::new(0.08, 0.30, 0.42, None)),
        }
    }
}

/// Font size, weight and colour of a run of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub size: f32,
    pub weight: Weight,
    pub ink: Ink,
}

impl Style {
    pub const BODY: Style = Style { size: 10.0, weight: Weight::Regular, ink: Ink::Black };
    pub const BOLD: Style = Style { size: 10.0, weight: Weight::Bold, ink: Ink::Black };
    pub const SMALL: Style = Style { size: 8.0, weight: Weight::Regular, ink: Ink::Grey(0.35) };
    pub const TABLE: Style = Style { size: 9.0, weight: Weight::Regular, ink: Ink::Black };
    pub const TABLE_BOLD: Style = Style { size: 9.0, weight: Weight::Bold, ink: Ink::Black };
    pub const HEADING: Style = Style { size: 11.0, weight: Weight::Bold, ink: Ink::Accent };
    pub const TITLE: Style = Style { size: 14.0, weight: Weight::Bold, ink: Ink::Black };

    pub const fn with_size(self, size: f32) -> Style {
        Style { size, ..self }
    }
    pub const fn with_ink(self, ink: Ink) -> Style {
        Style { ink, ..self }
    }

    /// Distance between baselines.
    pub fn line_height(self) -> f32 {
        self.size * 1.32
    }
    fn face(self) -> &'static Face {
        fonts().face(self.weight)
    }
    pub fn width(self, text: &str) -> f32 {
        self.face().width(text, self.size)
    }
    /// Baseline offset from the top of a line box: text sits so that capitals are centred-ish.
    fn baseline(self) -> f32 {
        self.line_height() * 0.76
    }
}

/// Horizontal alignment in a table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One thing drawn on a page. `y` is measured from the top edge (layout is top-down; it is
/// flipped to PDF's bottom-up coordinates only on emission).
#[derive(Debug, Clone)]
enum Item {
    /// Text with its baseline at `y`.
    Text {
        x: f32,
        y: f32,
        style: Style,
        text: String,
    },
    Rule {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        ink: Ink,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        ink: Ink,
    },
}

/// A laid-out page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    items: Vec<Item>,
}

impl Page {
    /// All text on the page, in drawing order (for unit tests).
    #[cfg(test)]
    pub fn texts(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Breaks `text` into lines no wider than `max_w`. Breaks only at U+0020 and at "\n"; U+00A0
/// binds (amounts, IBANs). A single word wider than the line is split by characters as a last
/// resort, so text is never cut off at the margin.
pub fn wrap(text: &str, style: Style, max_w: f32) -> Vec<String> {
    let face = style.face();
    let per_unit = style.size / 1000.0;
    let space = face.char_width(' ') * per_unit;
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut line_w = 0.0f32;
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let word_w = face.width(word, style.size);
            if line.is_empty() {
                // fall through to placing the word below
            } else if line_w + space + word_w <= max_w {
                line.push(' ');
                line.push_str(word);
                line_w += space + word_w;
                continue;
            } else {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            if word_w <= max_w {
                line.push_str(word);
                line_w = word_w;
            } else {
                // Overlong word (wider than the whole line): break after a hyphen or, for
                // nbsp-joined groups, after a U+00A0 if one fits ("Straßburger-|Höß"), else
                // split by characters. Either way everything stays visible.
                let mut rest = word;
                while !rest.is_empty() {
                    let room = max_w - line_w;
                    let fits_hyphen = rest
                        .match_indices(['-', '\u{a0}'])
                        .map(|(i, m)| &rest[..i + m.len()])
                        .take_while(|prefix| face.width(prefix, style.size) <= room)
                        .last();
                    let take = match fits_hyphen {
                        _ if face.width(rest, style.size) <= room => rest.len(),
                        Some(prefix) => prefix.len(),
                        _ => {
                            // As many characters as fit (at least one on an empty line).
                            let mut w = 0.0;
                            let mut end = 0;
                            for (i, c) in rest.char_indices() {
                                let cw = face.char_width(c) * per_unit;
                                if w + cw > room && (end > 0 || !line.is_empty()) {
                                    break;
                                }
                                w += cw;
                                end = i + c.len_utf8();
                            }
                            end
                        }
                    };
                    if take == 0 {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0.0;
                        continue;
                    }
                    line.push_str(&rest[..take]);
                    line_w += face.width(&rest[..take], style.size);
                    rest = &rest[take..];
                    if !rest.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0.0;
                    }
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// A table column: heading, width in pt, alignment.
#[derive(Debug, Clone)]
pub struct Column {
    pub title: String,
    pub width: f32,
    pub align: Align,
}

impl Column {
    pub fn new(title: &str, width: f32, align: Align) -> Column {
        Column { title: title.to_string(), width, align }
    }
}

/// The width a column needs so that none of `texts` wraps (content plus cell padding).
pub fn fit_width<'a>(texts: impl IntoIterator<Item = &'a str>, style: Style) -> f32 {
    texts.into_iter().map(|t| style.width(t)).fold(0.0, f32::max) + 2.0 * CELL_PAD + 1.0
}

/// How a table row is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Normal,
    /// Bold with a thin rule above (subtotals).
    Subtotal,
    /// Bold on a tinted band with a strong rule above (the total).
    Total,
    /// Bold, spanning group heading (e.g. a child's name in a family invoice); text in cell 0.
    Group,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub cells: Vec<String>,
    pub kind: RowKind,
}

impl Row {
    pub fn new(kind: RowKind, cells: Vec<String>) -> Row {
        Row { cells, kind }
    }
}

/// Horizontal padding inside table cells.
const CELL_PAD: f32 = 4.0;
/// Vertical padding above and below the text of a table row.
const ROW_PAD: f32 = 2.6;

/// The page builder: a list of pages and a cursor on the last one.
pub struct Layout {
    pages: Vec<Page>,
    /// Cursor: top of the next line box, pt from the top edge.
    pub y: f32,
    /// Shown small above the text of every page after the first.
    running_head: String,
    /// Left footer lines (document name and reference; sender summary).
    footer: Vec<String>,
    /// First character the bundled font cannot draw, reported on `finish`.
    missing: Option<(char, String)>,
}

impl Layout {
    /// A new document with one empty page. `footer` lines are printed at the bottom left of
    /// every page, `running_head` on top of every page but the first.
    pub fn new(running_head: String, footer: Vec<String>) -> Layout {
        Layout { pages: vec![Page::default()], y: TOP, running_head, footer, missing: None }
    }

    pub fn width(&self) -> f32 {
        RIGHT - LEFT
    }

    fn page(&mut self) -> &mut Page {
        self.pages.last_mut().expect("a layout always has a page")
    }

    /// Places a text run with its baseline at `y` (pt from the top).
    pub fn text(&mut self, x: f32, y: f32, style: Style, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.missing.is_none() {
            let face = style.face();
            if let Some(c) = text.chars().find(|c| !face.has_char(*c)) {
                self.missing = Some((c, text.to_string()));
            }
        }
        self.page().items.push(Item::Text { x, y, style, text: text.to_string() });
    }

    /// Places a text run ending at `x_right`.
    pub fn text_right(&mut self, x_right: f32, y: f32, style: Style, text: &str) {
        let w = style.width(text);
        self.text(x_right - w, y, style, text);
    }

    pub fn rule(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32, ink: Ink) {
        self.page().items.push(Item::Rule { x1, y1, x2, y2, width, ink });
    }

    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, ink: Ink) {
        self.page().items.push(Item::Fill { x, y, w, h, ink });
    }

    /// Starts a new page; continuation pages carry the running head.
    pub fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = TOP;
        if !self.running_head.is_empty() {
            let head = self.running_head.clone();
            self.text(LEFT, mm(14.0), Style::SMALL, &head);
            self.rule(LEFT, mm(16.0), RIGHT, mm(16.0), 0.4, Ink::Grey(0.7));
        }
    }

    /// Makes room for `h` pt: starts a new page if the rest of this one is too short.
    pub fn ensure(&mut self, h: f32) -> bool {
        if self.y + h > BOTTOM {
            self.new_page();
            true
        } else {
            false
        }
    }

    pub fn gap(&mut self, h: f32) {
        self.y += h;
    }

    /// A wrapped paragraph across the full text width (may continue on the next page).
    pub fn paragraph(&mut self, text: &str, style: Style) {
        self.paragraph_at(LEFT, RIGHT - LEFT, text, style);
        self.y += style.size * 0.5;
    }

    /// A wrapped paragraph starting at `x`, `w` wide; leaves the cursor under the last line.
    pub fn paragraph_at(&mut self, x: f32, w: f32, text: &str, style: Style) {
        let lh = style.line_height();
        for line in wrap(text, style, w) {
            self.ensure(lh);
            let y = self.y + style.baseline();
            self.text(x, y, style, &line);
            self.y += lh;
        }
    }

    /// A section heading; kept together with at least three lines of what follows.
    pub fn heading(&mut self, text: &str) {
        let style = Style::HEADING;
        self.y += 6.0;
        self.ensure(style.line_height() + 3.0 * Style::BODY.line_height());
        let y = self.y + style.baseline();
        self.text(LEFT, y, style, text);
        self.y += style.line_height() + 2.0;
    }

    /// Bulleted list items with a hanging indent.
    pub fn bullets(&mut self, items: &[String], style: Style) {
        let indent = 12.0;
        for item in items {
            let lines = wrap(item, style, self.width() - indent);
            for (i, line) in lines.iter().enumerate() {
                self.ensure(style.line_height());
                let y = self.y + style.baseline();
                if i == 0 {
                    self.text(LEFT + 2.0, y, style, "•");
                }
                self.text(LEFT + indent, y, style, line);
                self.y += style.line_height();
            }
            self.y += 1.5;
        }
        self.y += style.size * 0.4;
    }

    /// Label–value lines: labels in a column `key_w` wide, values wrapped beside them.
    pub fn key_values(&mut self, rows: &[(String, String)], key_w: f32) {
        let key = Style::BODY.with_ink(Ink::Grey(0.3));
        let val = Style::BODY;
        for (k, v) in rows {
            let lines = wrap(v, val, self.width() - key_w);
            self.ensure(val.line_height() * lines.len().min(3) as f32);
            let y0 = self.y + val.baseline();
            self.text(LEFT, y0, key, k);
            for line in lines {
                self.ensure(val.line_height());
                let y = self.y + val.baseline();
                self.text(LEFT + key_w, y, val, &line);
                self.y += val.line_height();
            }
            self.y += 1.5;
        }
        self.y += 3.0;
    }

    /// A table over the full text width at the standard 9 pt. Rows are wrapped per cell; a row
    /// that does not fit goes to the next page, where the header row is repeated.
    pub fn table(&mut self, columns: &[Column], rows: &[Row]) {
        self.table_sized(columns, rows, 9.0);
    }

    /// [`Layout::table`] with another font size (dense lists).
    pub fn table_sized(&mut self, columns: &[Column], rows: &[Row], size: f32) {
        let header_style = Style::TABLE_BOLD.with_size(size).with_ink(Ink::Grey(0.2));
        self.table_header(columns, header_style);
        let full_w = self.width();
        for row in rows {
            let style = match row.kind {
                RowKind::Normal => Style::TABLE.with_size(size),
                RowKind::Subtotal | RowKind::Group => Style::TABLE_BOLD.with_size(size),
                RowKind::Total => Style::TABLE_BOLD.with_size(size + 0.5),
            };
            // Each cell as (x, width, alignment, lines). A group row is one cell across the
            // table; in sum rows a left-aligned label may run on into empty cells to its right.
            let mut cells: Vec<(f32, f32, Align, Vec<String>)> = Vec::with_capacity(columns.len());
            if row.kind == RowKind::Group {
                let text = row.cells.first().map(String::as_str).unwrap_or("");
                cells.push((LEFT, full_w, Align::Left, wrap(text, style, full_w - 2.0 * CELL_PAD)));
            } else {
                let mut x = LEFT;
                for (i, col) in columns.iter().enumerate() {
                    let text = row.cells.get(i).map(String::as_str).unwrap_or("");
                    let mut w = col.width;
                    if row.kind != RowKind::Normal && col.align == Align::Left && !text.is_empty() {
                        for (j, next) in columns.iter().enumerate().skip(i + 1) {
                            if row.cells.get(j).is_some_and(|c| !c.is_empty()) {
                                break;
                            }
                            w += next.width;
                        }
                    }
                    if !text.is_empty() {
                        cells.push((x, w, col.align, wrap(text, style, w - 2.0 * CELL_PAD)));
                    }
                    x += col.width;
                }
            }
            let n_lines = cells.iter().map(|c| c.3.len()).max().unwrap_or(1).max(1);
            let extra = if row.kind == RowKind::Group { 4.0 } else { 0.0 };
            let h = n_lines as f32 * style.line_height() + 2.0 * ROW_PAD + extra;
            // A group heading needs its first row below it on the same page.
            let keep = if row.kind == RowKind::Group { style.line_height() + 2.0 * ROW_PAD } else { 0.0 };
            if self.ensure(h + keep) {
                self.table_header(columns, header_style);
            }
            let top = self.y;
            match row.kind {
                RowKind::Total => {
                    self.fill(LEFT, top, full_w, h, Ink::Grey(0.92));
                    self.rule(LEFT, top, RIGHT, top, 1.0, Ink::Black);
                }
                RowKind::Subtotal => self.rule(LEFT, top, RIGHT, top, 0.5, Ink::Grey(0.4)),
                RowKind::Group | RowKind::Normal => {}
            }
            for (x, w, align, lines) in &cells {
                for (j, line) in lines.iter().enumerate() {
                    let y = top + extra + ROW_PAD + j as f32 * style.line_height() + style.baseline();
                    match align {
                        Align::Left => self.text(x + CELL_PAD, y, style, line),
                        Align::Right => self.text_right(x + w - CELL_PAD, y, style, line),
                    }
                }
            }
            self.y = top + h;
            if row.kind == RowKind::Normal {
                self.rule(LEFT, self.y, RIGHT, self.y, 0.3, Ink::Grey(0.82));
            }
        }
        self.y += 8.0;
    }

    fn table_header(&mut self, columns: &[Column], style: Style) {
        let lines: Vec<Vec<String>> = columns.iter().map(|c| wrap(&c.title, style, c.width - 2.0 * CELL_PAD)).collect();
        let n = lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let h = n as f32 * style.line_height() + 2.0 * ROW_PAD;
        // The header never stands alone at the foot of a page.
        self.ensure(h + 2.0 * style.line_height() + 2.0 * ROW_PAD);
        let top = self.y;
        self.fill(LEFT, top, self.width(), h, Ink::Grey(0.93));
        let mut x = LEFT;
        for (col, col_lines) in columns.iter().zip(&lines) {
            for (j, line) in col_lines.iter().enumerate() {
                let y = top + ROW_PAD + j as f32 * style.line_height() + style.baseline();
                match col.align {
                    Align::Left => self.text(x + CELL_PAD, y, style, line),
                    Align::Right => self.text_right(x + col.width - CELL_PAD, y, style, line),
                }
            }
            x += col.width;
        }
        self.y = top + h;
        self.rule(LEFT, self.y, RIGHT, self.y, 0.8, Ink::Grey(0.3));
    }

    /// Signature fields, two per row: a line to sign on, the role and the name under it.
    pub fn signatures(&mut self, fields: &[(String, String)]) {
        let col_w = (self.width() - mm(12.0)) / 2.0;
        for pair in fields.chunks(2) {
            let h = 58.0;
            self.ensure(h);
            let line_y = self.y + 30.0;
            for (i, (role, name)) in pair.iter().enumerate() {
                let x = LEFT + i as f32 * (col_w + mm(12.0));
                self.rule(x, line_y, x + col_w, line_y, 0.6, Ink::Black);
                self.text(x, line_y + 10.0, Style::SMALL.with_ink(Ink::Grey(0.2)), role);
                self.text(x, line_y + 20.0, Style::SMALL.with_ink(Ink::Grey(0.2)), name);
            }
            self.y += h;
        }
    }

    /// Sender at the top of the first page: provider name large, facility and contact below,
    /// an accent rule under it (at 32 mm, above the DIN 5008 address field).
    fn sender_block(&mut self, sender: &Sender) {
        let p = &sender.provider;
        let f = &sender.facility;
        self.text(LEFT, mm(17.0), Style::TITLE.with_size(15.0).with_ink(Ink::Accent), &p.name);
        let mut y = mm(17.0) + 13.0;
        if !f.name.is_empty() && f.name != p.name {
            self.text(LEFT, y, Style::BODY.with_size(9.0).with_ink(Ink::Grey(0.25)), &format!("{} · {}", f.name, address_line(f)));
            y += 11.0;
        }
        if !sender.contact.is_empty() {
            self.text(LEFT, y, Style::SMALL, &sender.contact);
        }
        self.rule(LEFT, mm(32.0), RIGHT, mm(32.0), 0.8, Ink::Accent);
    }

    /// Head of a document that is not a letter (the contract): sender block, a large title,
    /// a subtitle, and label–value lines on the right. Leaves the cursor below.
    pub fn document_head(&mut self, sender: &Sender, title: &str, subtitle: &str, info: &[(String, String)]) {
        self.sender_block(sender);
        let title_style = Style::TITLE.with_size(20.0);
        self.y = mm(38.0);
        self.text(LEFT, self.y + title_style.baseline(), title_style, title);
        self.y += title_style.line_height();
        self.paragraph_at(LEFT, mm(100.0), subtitle, Style::BOLD.with_ink(Ink::Grey(0.25)));
        let ix = mm(125.0);
        let vx = ix + mm(27.0);
        let mut iy = mm(38.0) + 8.0;
        for (k, v) in info {
            self.text(ix, iy, Style::SMALL.with_size(8.5), k);
            self.text(vx, iy, Style::BODY.with_size(9.0), v);
            iy += 12.5;
        }
        self.y = self.y.max(iy) + 8.0;
    }

    /// DIN 5008 (form B) letter head on the first page: sender at the top, the window address
    /// field at 45 mm (return line, then recipient), an information block on the right from
    /// 50 mm, fold and punch marks on the left edge, and the subject line. Leaves the cursor
    /// under the subject, ready for the salutation.
    pub fn letter_head(&mut self, sender: &Sender, recipient: &[String], info: &[(String, String)], title: &str, subtitle: &str) {
        let p = &sender.provider;
        self.sender_block(sender);

        // Window: return line (Rücksendeangabe) at the top of the 45 mm field, underlined.
        let field_x = LEFT;
        let field_w = mm(85.0);
        let ret = format!("{} · {}", p.name, address_line(p));
        let ret_style = Style::SMALL.with_size(7.0);
        let ret_lines = wrap(&ret, ret_style, field_w - 2.0);
        let ret_line = ret_lines.first().cloned().unwrap_or_default();
        self.text(field_x, mm(45.0) + 10.0, ret_style, &ret_line);
        self.rule(field_x, mm(45.0) + 12.5, field_x + ret_style.width(&ret_line), mm(45.0) + 12.5, 0.3, Ink::Grey(0.35));
        // Address zone: starts 17.7 mm into the field; up to six lines.
        let mut ay = mm(45.0 + 17.7);
        for line in recipient.iter().take(6) {
            for part in wrap(line, Style::BODY, field_w).into_iter().take(1) {
                self.text(field_x, ay + Style::BODY.baseline(), Style::BODY, &part);
                ay += Style::BODY.line_height();
            }
        }

        // Information block on the right, from 50 mm.
        let ix = mm(125.0);
        let vx = ix + mm(27.0);
        let mut iy = mm(50.0) + 8.0;
        for (k, v) in info {
            self.text(ix, iy, Style::SMALL.with_size(8.5), k);
            let vs = Style::BODY.with_size(9.0);
            for (i, line) in wrap(v, vs, RIGHT - vx).into_iter().enumerate() {
                self.text(vx, iy + i as f32 * vs.line_height(), vs, &line);
                if i > 0 {
                    iy += vs.line_height();
                }
            }
            iy += 12.5;
        }

        // Fold marks (105 mm, 210 mm) and the punch mark (148.5 mm) on the left edge.
        for (at, len) in [(105.0, 5.0), (148.5, 8.0), (210.0, 5.0)] {
            self.rule(mm(4.0), mm(at), mm(4.0 + len), mm(at), 0.4, Ink::Grey(0.6));
        }

        // Subject line below the address field (form B: 98.5 mm and after).
        self.y = mm(100.0).max(iy + 6.0);
        self.text(LEFT, self.y + Style::TITLE.baseline(), Style::TITLE, title);
        self.y += Style::TITLE.line_height();
        if !subtitle.is_empty() {
            self.paragraph_at(LEFT, self.width(), subtitle, Style::BOLD.with_ink(Ink::Grey(0.25)));
        }
        self.y += 10.0;
    }

    /// Adds the footers ("Seite x von y" on the right) and returns the pages.
    pub fn finish(mut self) -> Result<Vec<Page>, DocError> {
        if let Some((c, text)) = self.missing {
            return Err(DocError::InvalidInput(format!(
                "das Zeichen „{c}“ (U+{:04X}) in „{text}“ ist in der Schrift nicht enthalten",
                c as u32
            )));
        }
        let n = self.pages.len();
        let footer = std::mem::take(&mut self.footer);
        for (i, page) in self.pages.iter_mut().enumerate() {
            let top = PAGE_H - mm(17.0);
            page.items.push(Item::Rule { x1: LEFT, y1: top, x2: RIGHT, y2: top, width: 0.4, ink: Ink::Grey(0.7) });
            let mut y = top + 10.0;
            for line in &footer {
                page.items.push(Item::Text { x: LEFT, y, style: Style::SMALL.with_size(7.5), text: line.clone() });
                y += 9.5;
            }
            let label = format!("Seite {} von {}", i + 1, n);
            let style = Style::SMALL.with_size(8.0).with_ink(Ink::Grey(0.2));
            let w = style.width(&label);
            page.items.push(Item::Text { x: RIGHT - w, y: top + 10.0, style, text: label });
        }
        Ok(self.pages)
    }
}

/// "Straße 1, 04109 Leipzig".
pub fn address_line(p: &Party) -> String {
    match (p.street.is_empty(), p.postal_code.is_empty() && p.city.is_empty()) {
        (false, false) => format!("{}, {} {}", p.street, p.postal_code, p.city),
        (true, false) => format!("{} {}", p.postal_code, p.city),
        (false, true) => p.street.clone(),
        (true, true) => String::new(),
    }
}

/// The lines of a window address for one or more addressees: all names, then the address of
/// the first (guardians of one child usually share it; differing addresses are named in the
/// body of the letter by the caller).
pub fn address_block(parties: &[Party]) -> Vec<String> {
    let mut lines: Vec<String> = parties.iter().map(|p| p.name.clone()).collect();
    if let Some(first) = parties.first() {
        lines.push(first.street.clone());
        lines.push(format!("{} {}", first.postal_code, first.city));
    }
    lines.retain(|l| !l.trim().is_empty());
    lines
}

/// Document information for the PDF's metadata.
#[derive(Debug, Clone)]
pub struct DocMeta {
    pub title: String,
    pub author: String,
    pub subject: String,
}

/// The characters set in one face, as a bit set (the width table's range) plus a sorted list
/// for anything beyond it. Cheaper than a `BTreeSet<char>` for the few thousand characters of
/// a letter.
#[derive(Default)]
struct CharSet {
    bits: Vec<u64>,
    other: BTreeSet<char>,
}

impl CharSet {
    const WORDS: usize = 0x2400 / 64;

    fn extend(&mut self, text: &str) {
        if self.bits.is_empty() {
            self.bits = vec![0; Self::WORDS];
        }
        for c in text.chars() {
            let i = c as usize;
            match self.bits.get_mut(i / 64) {
                Some(w) => *w |= 1 << (i % 64),
                None => {
                    self.other.insert(c);
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0) && self.other.is_empty()
    }

    /// A deterministic subset tag (six capital letters): the same characters give the same
    /// file, different subsets get different tags.
    fn subset_tag(&self, weight: Weight) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ weight as u64;
        let mut mix = |v: u64| h = (h ^ v).wrapping_mul(0x0000_0100_0000_01b3);
        for w in &self.bits {
            mix(*w);
        }
        for c in &self.other {
            mix(*c as u64);
        }
        (0..6).map(|i| (b'A' + ((h >> (i * 10)) % 26) as u8) as char).collect()
    }
}

/// Turns laid-out pages into a finished PDF/A-2b file.
pub fn to_pdf(pages: Vec<Page>, meta: &DocMeta, created: NaiveDateTime) -> Result<Vec<u8>, DocError> {
    let fonts = fonts();
    // Which characters each face sets: decides the subset tags (and is what printpdf subsets).
    let mut used = [CharSet::default(), CharSet::default()];
    for page in &pages {
        for item in &page.items {
            if let Item::Text { style, text, .. } = item {
                used[style.weight as usize].extend(text);
            }
        }
    }
    let mut ids = [FontId(used[0].subset_tag(Weight::Regular)), FontId(used[1].subset_tag(Weight::Bold))];
    if ids[0] == ids[1] {
        ids[1].0.replace_range(0..1, if ids[1].0.starts_with('Z') { "Y" } else { "Z" });
    }

    let mut doc = PdfDocument::new(&meta.title);
    for (weight, id) in [Weight::Regular, Weight::Bold].into_iter().zip(&ids) {
        if !used[weight as usize].is_empty() {
            doc.resources.fonts.map.insert(id.clone(), PdfFont::new(fonts.face(weight).parsed.clone()));
        }
    }
    doc.pages = pages.into_iter().map(|p| PdfPage::new(printpdf::Mm(210.0), printpdf::Mm(297.0), page_ops(p, &ids))).collect();

    let mut warnings = Vec::new();
    let lo = doc
        .to_lopdf_document(&PdfSaveOptions { optimize: false, subset_fonts: true, secure: true, image_optimization: None }, &mut warnings);
    if let Some(w) = warnings.iter().find(|w| matches!(w.severity, printpdf::PdfParseErrorSeverity::Error)) {
        return Err(DocError::Pdf(w.msg.clone()));
    }
    crate::pdfa::finish(lo, meta, created)
}

/// printpdf operations for one page: graphics first, then all text in one text object.
fn page_ops(page: Page, ids: &[FontId; 2]) -> Vec<Op> {
    let mut ops = Vec::with_capacity(page.items.len() * 3 + 8);
    let mut stroke: Option<(Ink, f32)> = None;
    let mut fill: Option<Ink> = None;
    for item in &page.items {
        match *item {
            Item::Rule { x1, y1, x2, y2, width, ink } => {
                if stroke != Some((ink, width)) {
                    ops.push(Op::SetOutlineColor { col: ink.color() });
                    ops.push(Op::SetOutlineThickness { pt: Pt(width) });
                    stroke = Some((ink, width));
                }
                let pt = |x: f32, y: f32| LinePoint { p: Point { x: Pt(x), y: Pt(PAGE_H - y) }, bezier: false };
                ops.push(Op::DrawLine { line: Line { points: vec![pt(x1, y1), pt(x2, y2)], is_closed: false } });
            }
            Item::Fill { x, y, w, h, ink } => {
                if fill != Some(ink) {
                    ops.push(Op::SetFillColor { col: ink.color() });
                    fill = Some(ink);
                }
                ops.push(Op::DrawRectangle {
                    rectangle: Rect {
                        x: Pt(x),
                        y: Pt(PAGE_H - y - h),
                        width: Pt(w),
                        height: Pt(h),
                        mode: Some(PaintMode::Fill),
                        winding_order: None,
                    },
                });
            }
            Item::Text { .. } => {}
        }
    }
    ops.push(Op::StartTextSection);
    let mut font: Option<(Weight, f32)> = None;
    for item in page.items {
        if let Item::Text { x, y, style, text } = item {
            if font != Some((style.weight, style.size)) {
                ops.push(Op::SetFont { font: PdfFontHandle::External(ids[style.weight as usize].clone()), size: Pt(style.size) });
                font = Some((style.weight, style.size));
            }
            if fill != Some(style.ink) {
                ops.push(Op::SetFillColor { col: style.ink.color() });
                fill = Some(style.ink);
            }
            // Absolute placement: `Tm` replaces the text matrix (`Td` would be relative).
            ops.push(Op::SetTextMatrix { matrix: TextMatrix::Translate(Pt(x), Pt(PAGE_H - y)) });
            ops.push(Op::ShowText { items: vec![TextItem::Text(text)] });
        }
    }
    ops.push(Op::EndTextSection);
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_never_breaks_at_no_break_space() {
        let iban = "DE89\u{a0}3704\u{a0}0044\u{a0}0532\u{a0}0130\u{a0}00";
        let text = format!("Bitte überweisen Sie 1.234,56\u{a0}€ auf das Konto IBAN {iban} bis zum 05.11.2026.");
        let iban_w = Style::BODY.width(iban);
        for w in (0..60).map(|i| iban_w + i as f32 * 5.0) {
            let lines = wrap(&text, Style::BODY, w);
            assert!(lines.iter().any(|l| l.contains(iban)), "IBAN split at width {w}: {lines:?}");
            assert!(lines.iter().any(|l| l.contains("1.234,56\u{a0}€")), "amount split at width {w}: {lines:?}");
            for l in &lines {
                assert!(!l.starts_with(' ') && !l.ends_with(' '));
            }
        }
        // Narrower than the IBAN itself: the fallback breaks at a no-break space, not inside a group.
        let lines = wrap(iban, Style::BODY, iban_w * 0.6);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines.iter().all(|l| l.trim_end_matches('\u{a0}').split('\u{a0}').all(|g| g.len() == 4 || g == "00")), "{lines:?}");
    }

    #[test]
    fn wrap_respects_width_and_keeps_all_words() {
        let text =
            "Die Eltern verpflichten sich, Änderungen der Anschrift, der Telefonnummern und der Bankverbindung unverzüglich mitzuteilen.";
        let lines = wrap(text, Style::BODY, 150.0);
        assert!(lines.len() > 3);
        for l in &lines {
            assert!(Style::BODY.width(l) <= 150.0 + 0.01, "{l} too wide");
        }
        assert_eq!(lines.join(" "), text);
        // Hard line breaks are kept; an overlong word is split rather than cut off.
        assert_eq!(wrap("a\nb", Style::BODY, 100.0), vec!["a", "b"]);
        let long = wrap("Xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Style::BODY, 50.0);
        assert!(long.len() > 1 && long.iter().all(|l| Style::BODY.width(l) <= 50.0));
    }

    #[test]
    fn table_breaks_pages_and_repeats_header() {
        let mut l = Layout::new("Kopf".into(), vec!["Fuß".into()]);
        let cols = [Column::new("Kind", 200.0, Align::Left), Column::new("Betrag", RIGHT - LEFT - 200.0, Align::Right)];
        let rows: Vec<Row> = (0..120).map(|i| Row::new(RowKind::Normal, vec![format!("Kind {i}"), "1,00".into()])).collect();
        l.table(&cols, &rows);
        let pages = l.finish().unwrap();
        assert!(pages.len() >= 3, "{} pages", pages.len());
        for (i, p) in pages.iter().enumerate() {
            let t = p.texts();
            assert!(t.contains(&"Kind"), "header missing on page {}", i + 1);
            assert!(t.contains(&format!("Seite {} von {}", i + 1, pages.len()).as_str()));
        }
        let all: Vec<&str> = pages.iter().flat_map(|p| p.texts()).collect();
        for i in 0..120 {
            assert_eq!(all.iter().filter(|t| **t == format!("Kind {i}")).count(), 1);
        }
    }

    #[test]
    fn missing_glyph_is_an_error() {
        let mut l = Layout::new(String::new(), vec![]);
        l.paragraph("Name: 王", Style::BODY);
        assert!(matches!(l.finish(), Err(DocError::InvalidInput(_))));
    }
}
