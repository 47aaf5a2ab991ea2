//! A small page-layout layer over printpdf 0.12's op API: fonts with fallbacks and
//! visible replacement of characters no font has, text measured for right alignment
//! and ellipsis, rectangles and lines, page breaks and "n / N" footers.
//!
//! Coordinates here are points (1/72 in) measured from the page's **top**-left corner
//! (printpdf's origin is bottom-left; [`Canvas`] converts). Owns printpdf: nothing
//! outside `report` sees it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use printpdf::{
    Color, FontId, Line, LinePoint, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, Rect, Rgb, TextItem,
};
use serde::Deserialize;

pub use super::fonts::Fonts;
use super::fonts::{Face, Piece};

/// The character drawn for one that no font has (U+FFFD REPLACEMENT CHARACTER).
pub const REPLACEMENT: char = '\u{FFFD}';

/// Paper size of the PDFs (config `pdf.paper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    /// ISO A4, 210 × 297 mm (595 × 842 pt).
    #[default]
    A4,
    /// US Letter, 8.5 × 11 in (612 × 792 pt).
    Letter,
}

impl Paper {
    /// Width and height in points (portrait).
    pub fn size_pt(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        }
    }
}

/// How the 1:1 prep sheets are mailed (config `pdf.one_on_one_mail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OneOnOneMail {
    /// One e-mail per manager with all their reps' sheets attached.
    #[default]
    Pack,
    /// One e-mail per rep's sheet, to the rep's manager.
    PerRep,
}

/// PDF settings (config `[pdf]`).
#[derive(Debug, Clone)]
pub struct PdfSettings {
    /// Paper size.
    pub paper: Paper,
    /// TrueType/OpenType files tried, in order, for characters DejaVu Sans lacks.
    pub fallback_fonts: Vec<PathBuf>,
    /// With no `fallback_fonts`: search the system's font folders for characters
    /// DejaVu Sans lacks (config `pdf.system_fonts`, default true).
    pub system_fonts: bool,
    /// How the 1:1 sheets are mailed.
    pub one_on_one_mail: OneOnOneMail,
    /// Months in the 1:1 sheet's trend table and chart, 2..=12 (default 6), ending with
    /// the sheet's month.
    pub trend_months: u32,
    /// Whether each 1:1 sheet goes with an .xlsx of the rep's month-to-date deals (config
    /// `pdf.attach_deals_xlsx`, default false).
    pub attach_deals_xlsx: bool,
}

impl Default for PdfSettings {
    fn default() -> Self {
        PdfSettings {
            paper: Paper::default(),
            fallback_fonts: Vec::new(),
            system_fonts: true,
            one_on_one_mail: OneOnOneMail::default(),
            trend_months: 6,
            attach_deals_xlsx: false,
        }
    }
}

/// Errors loading fonts name the file.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// A fallback font file could not be read.
    #[error("pdf.fallback_fonts: cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A font file is not a TrueType/OpenType font.
    #[error("pdf.fallback_fonts: {path} is not a TrueType or OpenType font")]
    Parse {
        /// The file.
        path: String,
    },
}

/// The characters of each DejaVu face's shared subset: printable ASCII and Latin-1 (the
/// letters of most Western European names), and the punctuation and symbols the
/// documents draw (dashes, quotes, ellipsis, middle dot, ▲ ▼ ★ ✓, …). Latin Extended-A
/// doubled a 1:1 sheet's size (37 → 71 KB at 1M rows): a name with such a letter (Ł, ć)
/// has its sheet subset for itself.
pub const SHARED_CHARS: &[(char, char)] = &[
    (' ', '~'),
    ('\u{A0}', '\u{FF}'),
    ('\u{2013}', '\u{2014}'),
    ('\u{2018}', '\u{2019}'),
    ('\u{201C}', '\u{201D}'),
    ('\u{2022}', '\u{2022}'),
    ('\u{2026}', '\u{2026}'),
    ('\u{20AC}', '\u{20AC}'),
    ('\u{2212}', '\u{2212}'),
    ('\u{2264}', '\u{2265}'),
    ('\u{25B2}', '\u{25B2}'),
    ('\u{25BC}', '\u{25BC}'),
    ('\u{2605}', '\u{2605}'),
    ('\u{2713}', '\u{2713}'),
    (REPLACEMENT, REPLACEMENT),
];

/// The longest document (pages) that embeds the shared subsets; longer ones are subset
/// for themselves.
const SHARED_MAX_PAGES: usize = 3;

/// A face subset once: the characters it holds (each checked to map to the same
/// outline's advance as in the whole face), the parsed subset to embed whole, and its
/// bytes compressed once for the `/FontFile2` stream.
pub(super) struct SharedSubset {
    chars: BTreeSet<char>,
    font: ParsedFont,
    bytes: Vec<u8>,
    zipped: Vec<u8>,
}

impl SharedSubset {
    /// Subsets `face` to the characters of [`SHARED_CHARS`] it has; `None` if the subset
    /// cannot be made (documents are then subset one by one).
    pub(super) fn of(face: &Face) -> Option<SharedSubset> {
        use std::io::Write;
        let mut glyphs: std::collections::BTreeMap<u16, String> = std::collections::BTreeMap::new();
        let wanted: Vec<char> = SHARED_CHARS.iter().flat_map(|&(a, b)| a..=b).filter(|&c| face.has(c)).collect();
        for &c in &wanted {
            if let Some(g) = face.font.lookup_glyph_index(c as u32) {
                glyphs.entry(g).or_insert_with(|| c.to_string());
            }
        }
        let subset = printpdf::font::subset_font(&face.font, &glyphs).ok()?;
        let mut warnings = Vec::new();
        let font = ParsedFont::from_bytes(&subset.bytes, 0, &mut warnings)?;
        let upm = f32::from(font.pdf_font_metrics.units_per_em.max(1));
        // Keep only the characters the subset draws as the whole face does.
        let chars = wanted
            .into_iter()
            .filter(|&c| {
                font.lookup_glyph_index(c as u32)
                    .is_some_and(|g| g != 0 && f32::from(font.get_horizontal_advance(g)) / upm == face.advance(c, 1.0))
            })
            .collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&subset.bytes).ok()?;
        let zipped = z.finish().ok()?;
        Some(SharedSubset { chars, font, bytes: subset.bytes, zipped })
    }
}

/// An RGB colour, components 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb3(pub f32, pub f32, pub f32);

impl Rgb3 {
    fn color(self) -> Color {
        Color::Rgb(Rgb::new(self.0, self.1, self.2, None))
    }
}

/// Colours of the documents.
pub mod colors {
    use super::Rgb3;
    /// Body text.
    pub const TEXT: Rgb3 = Rgb3(0.11, 0.12, 0.14);
    /// Secondary text.
    pub const MUTED: Rgb3 = Rgb3(0.42, 0.45, 0.50);
    /// Accent (headings, bars).
    pub const ACCENT: Rgb3 = Rgb3(0.12, 0.33, 0.62);
    /// Light accent fill (table header, tiles).
    pub const ACCENT_LIGHT: Rgb3 = Rgb3(0.91, 0.94, 0.98);
    /// Zebra stripe.
    pub const STRIPE: Rgb3 = Rgb3(0.965, 0.97, 0.975);
    /// Rules.
    pub const RULE: Rgb3 = Rgb3(0.80, 0.82, 0.85);
    /// Good (at quota, moved up).
    pub const GOOD: Rgb3 = Rgb3(0.10, 0.55, 0.25);
    /// Bad (moved down, below standard).
    pub const BAD: Rgb3 = Rgb3(0.75, 0.18, 0.15);
    /// Bar track.
    pub const TRACK: Rgb3 = Rgb3(0.88, 0.89, 0.91);
}

/// Horizontal alignment of text in a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Flush left.
    Left,
    /// Flush right (numbers).
    Right,
    /// Centred.
    Center,
}

/// A document being laid out: pages of ops, a cursor `y` (points from the top) and
/// the set of characters no font had.
pub struct Canvas<'f> {
    fonts: &'f Fonts,
    doc: PdfDocument,
    /// Each face drawn in, added to the document on first use.
    ids: BTreeMap<usize, FontId>,
    pages: Vec<Vec<Op>>,
    /// Page width in points.
    pub width: f32,
    /// Page height in points.
    pub height: f32,
    /// Left/right margin in points.
    pub margin: f32,
    /// Top margin (where content starts on a page).
    pub top: f32,
    /// The lowest y content may reach (above the footer).
    pub bottom: f32,
    /// The layout cursor: points from the top of the current page.
    pub y: f32,
    missing: BTreeSet<char>,
    /// The characters drawn in each face.
    used: BTreeMap<usize, BTreeSet<char>>,
    /// The faces drawn in by glyph id (shaped runs): never replaced by a shared subset,
    /// whose glyph ids differ.
    shaped: BTreeSet<usize>,
}

impl<'f> Canvas<'f> {
    /// A new document titled `title` with one empty page of `paper` size.
    pub fn new(fonts: &'f Fonts, paper: Paper, title: &str) -> Canvas<'f> {
        let doc = PdfDocument::new(title);
        let (width, height) = paper.size_pt();
        Canvas {
            fonts,
            doc,
            ids: BTreeMap::new(),
            pages: vec![Vec::new()],
            width,
            height,
            margin: 40.0,
            top: 40.0,
            bottom: height - 48.0,
            y: 40.0,
            missing: BTreeSet::new(),
            used: BTreeMap::new(),
            shaped: BTreeSet::new(),
        }
    }

    /// The fonts (for measuring).
    pub fn fonts(&self) -> &'f Fonts {
        self.fonts
    }

    /// Usable width between the margins.
    pub fn content_width(&self) -> f32 {
        self.width - 2.0 * self.margin
    }

    /// Starts a new page and puts the cursor at its top.
    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.top;
    }

    /// Whether `h` more points fit above the bottom margin.
    pub fn fits(&self, h: f32) -> bool {
        self.y + h <= self.bottom
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a canvas always has a page")
    }

    /// The document's handle of face `face`, added on first use.
    fn font_id(&mut self, face: usize) -> FontId {
        let fonts = self.fonts;
        let doc = &mut self.doc;
        self.ids.entry(face).or_insert_with(|| doc.add_font(&fonts.face(face).font)).clone()
    }

    /// Draws `text` with its baseline at `baseline` (points from the top), starting at
    /// `x`. Characters no font has are drawn as U+FFFD and remembered. Right-to-left
    /// runs are drawn right to left, complex scripts shaped (see [`Fonts`]).
    pub fn text(&mut self, x: f32, baseline: f32, size: f32, bold: bool, color: Rgb3, text: &str) {
        let pieces = self.fonts.line(text, bold, &mut self.missing);
        let py = self.height - baseline;
        let mut x = x;
        let mut ops = vec![Op::SetFillColor { col: color.color() }];
        for piece in pieces {
            let face = piece.face();
            let id = self.font_id(face);
            let set_font = Op::SetFont { font: PdfFontHandle::External(id), size: Pt(size) };
            match piece {
                Piece::Text(_, s) => {
                    let w = self.fonts.piece_width(&Piece::Text(face, s.clone()), size);
                    self.used.entry(face).or_default().extend(s.chars());
                    ops.extend([
                        Op::StartTextSection,
                        set_font,
                        Op::SetTextCursor { pos: Point { x: Pt(x), y: Pt(py) } },
                        Op::ShowText { items: vec![TextItem::Text(s)] },
                        Op::EndTextSection,
                    ]);
                    x += w;
                }
                Piece::Glyphs(_, glyphs, chars) => {
                    self.used.entry(face).or_default().extend(chars.chars());
                    self.shaped.insert(face);
                    x = shaped_ops(&mut ops, self.fonts.face(face), set_font, &glyphs, x, py, size);
                }
            }
        }
        self.ops().extend(ops);
    }

    /// Draws `text` in the box [x, x + w], aligned, cut with "…" to fit.
    #[allow(clippy::too_many_arguments)]
    pub fn text_in(
        &mut self,
        x: f32,
        w: f32,
        baseline: f32,
        size: f32,
        bold: bool,
        color: Rgb3,
        align: Align,
        text: &str,
    ) {
        let s = self.fonts.fit(text, w, size, bold);
        let tw = self.fonts.width(&s, size, bold);
        let x = match align {
            Align::Left => x,
            Align::Right => x + w - tw,
            Align::Center => x + (w - tw) / 2.0,
        };
        self.text(x, baseline, size, bold, color, &s);
    }

    /// A filled rectangle whose top-left corner is (x, y).
    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb3) {
        let py = self.height - y - h;
        self.ops().extend([
            Op::SetFillColor { col: color.color() },
            Op::DrawRectangle {
                rectangle: Rect {
                    x: Pt(x),
                    y: Pt(py),
                    width: Pt(w.max(0.0)),
                    height: Pt(h),
                    mode: Some(PaintMode::Fill),
                    winding_order: None,
                },
            },
        ]);
    }

    /// An outlined rectangle whose top-left corner is (x, y).
    pub fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb3, thickness: f32) {
        let py = self.height - y - h;
        self.ops().extend([
            Op::SetOutlineColor { col: color.color() },
            Op::SetOutlineThickness { pt: Pt(thickness) },
            Op::DrawRectangle {
                rectangle: Rect {
                    x: Pt(x),
                    y: Pt(py),
                    width: Pt(w),
                    height: Pt(h),
                    mode: Some(PaintMode::Stroke),
                    winding_order: None,
                },
            },
        ]);
    }

    /// A straight line from (x1, y1) to (x2, y2).
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, color: Rgb3, thickness: f32) {
        let (h, p) = (self.height, |x: f32, y: f32| LinePoint { p: Point { x: Pt(x), y: Pt(y) }, bezier: false });
        self.ops().extend([
            Op::SetOutlineColor { col: color.color() },
            Op::SetOutlineThickness { pt: Pt(thickness) },
            Op::DrawLine { line: Line { points: vec![p(x1, h - y1), p(x2, h - y2)], is_closed: false } },
        ]);
    }

    /// Characters that no font had (drawn as U+FFFD), in code point order.
    pub fn missing(&self) -> &BTreeSet<char> {
        &self.missing
    }

    /// Adds the footer (`left` text and "n / N") to every page and returns the PDF
    /// (fonts subset, dated `created`, Unix seconds UTC), its page count, the
    /// characters no font had and the fallback fonts drawn in.
    pub fn finish(mut self, left: &str, created: i64) -> Pdf {
        let total = self.pages.len();
        let fy = self.height - 24.0;
        let mut pages = std::mem::take(&mut self.pages);
        for (i, page) in pages.iter_mut().enumerate() {
            self.pages = vec![std::mem::take(page)];
            let (m, w) = (self.margin, self.content_width());
            self.line(m, fy - 12.0, m + w, fy - 12.0, colors::RULE, 0.5);
            self.text_in(m, w * 0.75, fy, 7.5, false, colors::MUTED, Align::Left, left);
            self.text_in(
                m + w * 0.75,
                w * 0.25,
                fy,
                7.5,
                false,
                colors::MUTED,
                Align::Right,
                &format!("{} / {total}", i + 1),
            );
            *page = self.pages.pop().expect("one page");
        }
        let (w, h) = (self.width, self.height);
        let pdf_pages = pages
            .into_iter()
            .map(|ops| PdfPage::new(printpdf::Mm::from(Pt(w)), printpdf::Mm::from(Pt(h)), ops))
            .collect();
        if let Ok(d) = printpdf::DateTime::from_unix_timestamp(created) {
            self.doc.metadata.info.creation_date = d;
            self.doc.metadata.info.modification_date = d;
            self.doc.metadata.info.metadata_date = d;
        }
        self.doc.metadata.info.creator = format!("quotad {}", env!("CARGO_PKG_VERSION"));
        self.doc.with_pages(pdf_pages);
        // Each DejaVu face whose characters here its shared subset holds is embedded as
        // that subset, whole: no subsetting and no compression of its own. Only in short
        // documents, the kind a job makes by the hundred (1:1 sheets, team editions): a
        // long one is alone in its job, so sharing saves nothing there, and the shared
        // subset's unused glyphs took a 140-rep ranking past 100 KB.
        let mut shared = Vec::new();
        for face in (0..2).filter(|_| total <= SHARED_MAX_PAGES) {
            if let Some(sub) = self.fonts.shared(face)
                && !self.shaped.contains(&face)
                && let Some(used) = self.used.get(&face)
                && !used.is_empty()
                && used.is_subset(&sub.chars)
            {
                let meta = printpdf::PrintpdfFontMeta {
                    embedding_mode: printpdf::FontEmbeddingMode::Full,
                    requires_subsetting: false,
                    ..Default::default()
                };
                self.doc
                    .resources
                    .fonts
                    .map
                    .insert(self.ids[&face].clone(), printpdf::PdfFont::with_meta(sub.font.clone(), meta));
                shared.push(sub);
            }
        }
        let mut warnings = Vec::new();
        // printpdf compresses every stream at zlib's best level (9), a third of a sheet's
        // rendering time in issue 8's profile; the default level (6) is ~30% faster overall
        // for the same size within a few percent.
        let opts = PdfSaveOptions { subset_fonts: true, optimize: false, ..Default::default() };
        let mut doc = self.doc.to_lopdf_document(&opts, &mut warnings);
        compress_fast(&mut doc, &shared);
        let mut bytes = Vec::new();
        if doc.save_to(&mut bytes).is_err() {
            // Writing to memory cannot fail; fall back to printpdf's own path if it does.
            bytes = self.doc.save(&PdfSaveOptions { subset_fonts: true, ..Default::default() }, &mut warnings);
        }
        let fonts = self
            .used
            .iter()
            .filter(|(face, chars)| **face >= 2 && !chars.is_empty())
            .map(|(face, chars)| (self.fonts.face(*face).label.clone(), chars.clone()))
            .collect();
        Pdf { bytes, pages: total, missing: self.missing, fonts }
    }
}

/// Appends the ops drawing shaped `glyphs` of `face` from `x` on baseline `py`
/// (points from the bottom) at `size`; returns the x after them. Glyphs are shown with
/// the face's own advances (`/W`), corrected by TJ adjustments to the shaper's advances
/// and x offsets; a glyph raised or lowered by the shaper (a mark) is placed on its own.
fn shaped_ops(
    ops: &mut Vec<Op>,
    face: &Face,
    set_font: Op,
    glyphs: &[super::fonts::Glyph],
    x: f32,
    py: f32,
    size: f32,
) -> f32 {
    let scale = size / face.upm;
    let em = 1000.0 / face.upm;
    let mut pen = x;
    let mut chunk: Option<(f32, f32, Vec<TextItem>)> = None;
    let flush = |ops: &mut Vec<Op>, chunk: &mut Option<(f32, f32, Vec<TextItem>)>| {
        if let Some((cx, cy, items)) = chunk.take() {
            ops.extend([
                Op::StartTextSection,
                set_font.clone(),
                Op::SetTextCursor { pos: Point { x: Pt(cx), y: Pt(cy) } },
                Op::ShowText { items },
                Op::EndTextSection,
            ]);
        }
    };
    for g in glyphs {
        let (adv, xo, yo) = (g.x_advance as f32, g.x_offset as f32, g.y_offset as f32);
        let cp = |after: f32| printpdf::text::Codepoint { gid: g.gid, offset: after, cid: Some(g.text.clone()) };
        if g.y_offset != 0 {
            flush(ops, &mut chunk);
            let own = vec![TextItem::GlyphIds(vec![cp(0.0)])];
            chunk = Some((pen + xo * scale, py + yo * scale, own));
            flush(ops, &mut chunk);
        } else {
            let items = &mut chunk.get_or_insert_with(|| (pen, py, Vec::new())).2;
            if g.x_offset != 0 {
                items.push(TextItem::Offset(-xo * em));
            }
            // After the glyph the viewer moves by its /W width; move to pen + advance.
            items.push(TextItem::GlyphIds(vec![cp((face.glyph_advance(g.gid) + xo - adv) * em)]));
        }
        pen += adv * scale;
    }
    flush(ops, &mut chunk);
    pen
}

/// A rendered PDF.
#[derive(Debug, Clone)]
pub struct Pdf {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Pages.
    pub pages: usize,
    /// Characters no font had: drawn as U+FFFD (report them).
    pub missing: BTreeSet<char>,
    /// The fallback fonts drawn in (configured or found on the system), as "Family
    /// (file)", with the characters drawn in each.
    pub fonts: Vec<(String, BTreeSet<char>)>,
}

/// Compresses each stream that allows it (FlateDecode, zlib's default level), keeping the
/// uncompressed form when compression does not pay; a shared subset's font program takes
/// the bytes compressed once.
fn compress_fast(doc: &mut pdf_objects::Document, shared: &[&SharedSubset]) {
    use std::io::Write;
    for object in doc.objects.values_mut() {
        if !shared.is_empty()
            && let pdf_objects::Object::Dictionary(dict) = object
        {
            tag_subset_names(dict);
        }
        if let pdf_objects::Object::Stream(stream) = object
            && stream.allows_compression
            && stream.dict.get(b"Filter").is_err()
        {
            if let Some(sub) = shared.iter().find(|s| s.bytes == stream.content) {
                stream.dict.set("Filter", "FlateDecode");
                stream.set_content(sub.zipped.clone());
                continue;
            }
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            if z.write_all(&stream.content).is_ok()
                && let Ok(packed) = z.finish()
                && packed.len() + 19 < stream.content.len()
            {
                stream.dict.set("Filter", "FlateDecode");
                stream.set_content(packed);
            }
        }
    }
}

/// Names a font embedded whole from a shared subset as the subset it is (PDF 32000-1
/// §9.6.4: `ABCDEF+Name`, six capitals, what `pdffonts` reads as "sub"): the font and
/// CID font's `/BaseFont` and the descriptor's `/FontName`. Every other font here was
/// subset by printpdf and is tagged already. The tag is the name's own hash, so the same
/// face gets the same tag in every document.
fn tag_subset_names(dict: &mut pdf_objects::Dictionary) {
    for key in [&b"BaseFont"[..], &b"FontName"[..]] {
        if let Ok(pdf_objects::Object::Name(name)) = dict.get_mut(key)
            && !name.contains(&b'+')
        {
            let mut h: u32 = 0x811c_9dc5;
            for b in name.iter() {
                h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
            }
            let mut tagged: Vec<u8> = (0..6).map(|i| b'A' + ((h >> (i * 5)) % 26) as u8).collect();
            tagged.push(b'+');
            tagged.extend_from_slice(name);
            *name = tagged;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_render_and_unknown_characters_are_reported() {
        // No system fonts: DejaVu Sans alone.
        let fonts = Fonts::load(&PdfSettings { system_fonts: false, ..Default::default() }).unwrap();
        let mut missing = BTreeSet::new();
        for name in ["José Núñez", "Zoë Ødegaard", "Łukasz Żółć", "Nguyễn Thị Minh", "▲▼★✓…"] {
            fonts.line(name, false, &mut missing);
            fonts.line(name, true, &mut missing);
        }
        assert!(missing.is_empty(), "{missing:?}");
        let runs = fonts.line("李伟 Li", false, &mut missing);
        assert_eq!(missing.into_iter().collect::<String>(), "伟李");
        assert!(matches!(&runs[..], [Piece::Text(0, s)] if s == "\u{FFFD}\u{FFFD} Li"), "{runs:?}");
    }

    /// The font programs (`/FontFile2`, still compressed) and base font names of a PDF.
    fn font_programs(bytes: &[u8]) -> (Vec<Vec<u8>>, Vec<String>) {
        let doc = pdf_objects::Document::load_mem(bytes).unwrap();
        let mut programs = Vec::new();
        let mut names = Vec::new();
        for object in doc.objects.values() {
            if let pdf_objects::Object::Dictionary(d) = object {
                if let Ok(n) = d.get(b"FontName").and_then(|n| n.as_name()) {
                    names.push(String::from_utf8_lossy(n).into_owned());
                }
                if let Ok(r) = d.get(b"FontFile2").and_then(|r| r.as_reference())
                    && let Ok(pdf_objects::Object::Stream(st)) = doc.get_object(r)
                {
                    programs.push(st.content.clone());
                }
            }
        }
        programs.sort();
        names.sort();
        (programs, names)
    }

    fn one_page(fonts: &Fonts, regular: &str, bold: &str) -> Vec<u8> {
        let mut c = Canvas::new(fonts, Paper::A4, "t");
        c.text(40.0, 60.0, 10.0, false, colors::MUTED, regular);
        c.text(40.0, 80.0, 10.0, true, colors::MUTED, bold);
        c.finish("footer", 0).bytes
    }

    #[test]
    fn documents_share_one_subset_per_face_and_a_rarer_letter_gets_its_own() {
        let fonts = Fonts::load(&PdfSettings::default()).unwrap();
        // Two documents with different text in the shared characters: the same two
        // font programs (subset once, compressed once), named as subsets.
        let a = font_programs(&one_page(&fonts, "José Núñez – 98.5% ▲ ★ ✓ …", "Zoë Ødegaard · 1st"));
        let b = font_programs(&one_page(&fonts, "Ann Lee — 12,000", "Bo"));
        assert_eq!(a.0.len(), 2);
        assert_eq!(a.0, b.0);
        assert!(
            a.1.iter()
                .all(|n| n.len() > 7 && n.as_bytes()[6] == b'+' && n[..6].bytes().all(|c| c.is_ascii_uppercase())),
            "{:?}",
            a.1
        );
        assert_eq!(a.1, b.1);
        // "Łukasz Żółć" (Latin Extended-A) is outside the shared regular subset: that face
        // is subset for this document alone, a program of its own; the bold stays shared.
        let c = font_programs(&one_page(&fonts, "Łukasz Żółć", "Bo"));
        assert_eq!(c.0.len(), 2);
        assert_eq!(c.0.iter().filter(|p| a.0.contains(p)).count(), 1);
        let shared = fonts.shared(0).unwrap();
        for ch in "José Núñez Zoë Ødegaard–—…·▲▼★✓\u{FFFD}".chars() {
            assert!(shared.chars.contains(&ch), "{ch} not shared");
        }
        assert!(!shared.chars.contains(&'Ł'));
    }

    #[test]
    fn fit_and_wrap_stay_inside_the_width() {
        let fonts = Fonts::load(&PdfSettings::default()).unwrap();
        let long = "anna-katharina.maximiliane.theodora.von.hohenzollern@example-homes.com";
        let cut = fonts.fit(long, 100.0, 9.0, false);
        assert!(cut.ends_with('…') && fonts.width(&cut, 9.0, false) <= 100.0, "{cut}");
        assert_eq!(fonts.fit("Ana", 100.0, 9.0, false), "Ana");
        let lines = fonts.wrap("one two three four five six seven eight nine ten", 60.0, 9.0, false);
        assert!(lines.len() > 1 && lines.iter().all(|l| fonts.width(l, 9.0, false) <= 60.0), "{lines:?}");
        assert!(fonts.width("1,000", 9.0, false) > 0.0);
    }
}
