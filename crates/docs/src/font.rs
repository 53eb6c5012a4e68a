//! The two bundled faces (Liberation Sans 2 Regular and Bold, SIL OFL 1.1, see `fonts/OFL.txt`).
//!
//! Parsing a TrueType file costs far more than laying out a whole letter, so each face is parsed
//! once per process (`OnceLock`) and shared by every document. Text is measured from the font's
//! own advance widths (`hmtx`), looked up once per character and kept in a flat table, so
//! measuring a line is a few array reads per character.

use std::sync::OnceLock;

use printpdf::ParsedFont;

const REGULAR_TTF: &[u8] = include_bytes!("../fonts/LiberationSans-Regular.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../fonts/LiberationSans-Bold.ttf");

/// Characters below this code point have their advance width in a flat table; it covers
/// Latin-1, Latin Extended-A/B and the General Punctuation/Currency/Math blocks (–, „, €, −).
const WIDTH_TABLE_LEN: usize = 0x2300;

/// Which of the two faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weight {
    Regular,
    Bold,
}

/// One parsed face with its width table.
pub struct Face {
    pub(crate) parsed: ParsedFont,
    /// Advance width per code point in 1/1000 em (PDF text space units); `u16::MAX`: no glyph.
    widths: Vec<u16>,
    /// Font units per em, to scale `hmtx` values and metrics.
    units_per_em: f32,
}

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Face").field("name", &self.parsed.font_name).finish_non_exhaustive()
    }
}

impl Face {
    fn load(bytes: &[u8]) -> Face {
        let mut warnings = Vec::new();
        // The font is part of the binary; failing to parse it is a build defect, not a runtime
        // condition a caller could handle.
        let parsed = ParsedFont::from_bytes(bytes, 0, &mut warnings).expect("bundled font parses");
        let upm = f32::from(parsed.pdf_font_metrics.units_per_em.max(1));
        let scale = 1000.0 / upm;
        let widths = (0..WIDTH_TABLE_LEN as u32)
            .map(|cp| match parsed.lookup_glyph_index(cp) {
                Some(gid) if gid != 0 => (f32::from(parsed.get_horizontal_advance(gid)) * scale).round() as u16,
                _ => u16::MAX,
            })
            .collect();
        Face { parsed, widths, units_per_em: upm }
    }

    /// Whether the face can draw `c` (else it would show as the .notdef box).
    pub fn has_char(&self, c: char) -> bool {
        match self.widths.get(c as usize) {
            Some(w) => *w != u16::MAX,
            None => self.parsed.lookup_glyph_index(c as u32).is_some_and(|g| g != 0),
        }
    }

    /// Advance width of one character in 1/1000 em.
    #[inline]
    pub fn char_width(&self, c: char) -> f32 {
        match self.widths.get(c as usize) {
            Some(&w) if w != u16::MAX => f32::from(w),
            Some(_) => 0.0,
            None => match self.parsed.lookup_glyph_index(c as u32) {
                Some(gid) => f32::from(self.parsed.get_horizontal_advance(gid)) * 1000.0 / self.units_per_em,
                None => 0.0,
            },
        }
    }

    /// Width of `text` set at `size` pt, in pt. No kerning: we write plain `Tj` strings, so the
    /// viewer advances by exactly these widths too.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.char_width(c)).sum::<f32>() * size / 1000.0
    }
}

/// Both faces.
#[derive(Debug)]
pub struct Fonts {
    pub regular: Face,
    pub bold: Face,
}

impl Fonts {
    pub fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

/// The process-wide faces, parsed on first use.
pub fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts { regular: Face::load(REGULAR_TTF), bold: Face::load(BOLD_TTF) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_match_arial_metrics() {
        // Liberation Sans is metric-compatible with Arial: "H" is 722/1000 em, space 278.
        let f = fonts();
        assert_eq!(f.regular.char_width('H'), 722.0);
        assert_eq!(f.regular.char_width(' '), 278.0);
        assert_eq!(f.regular.char_width('\u{a0}'), 278.0);
        assert!((f.regular.width("HH", 10.0) - 14.44).abs() < 0.01);
        assert!(f.bold.char_width('i') > f.regular.char_width('i'));
    }

    #[test]
    fn german_and_symbol_glyphs_exist() {
        let f = fonts();
        for c in "äöüÄÖÜßẞ€−–„“§•…".chars() {
            assert!(f.regular.has_char(c), "regular lacks {c}");
            assert!(f.bold.has_char(c), "bold lacks {c}");
        }
    }
}
