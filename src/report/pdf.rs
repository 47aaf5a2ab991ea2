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

/// A face is shared (subset once for a run's documents of one kind) when the union of
/// the glyphs they draw in it holds at most this many; past it (a roster of a thousand
/// Chinese names in a CJK fallback face) every document would carry every name's
/// glyphs, so each document subsets that face for itself.
pub const SHARED_MAX_GLYPHS: usize = 384;

/// The glyphs a set of documents draws: per face of [`Fonts`] (its run-local index), the
/// glyph ids of the whole face (after shaping: Arabic joining forms, ligatures, marks).
/// Made by laying the documents out with [`Embed::Collect`]; [`GlyphUsage::merge`]
/// takes the union.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlyphUsage(BTreeMap<usize, BTreeSet<u16>>);

impl GlyphUsage {
    /// The union of `self` and `other`.
    pub fn merge(mut self, other: GlyphUsage) -> GlyphUsage {
        for (face, gids) in other.0 {
            self.0.entry(face).or_default().extend(gids);
        }
        self
    }

    /// Glyphs drawn in face `face` (0 DejaVu Sans, 1 DejaVu Sans Bold, then fallbacks).
    pub fn glyphs(&self, face: usize) -> usize {
        self.0.get(&face).map_or(0, BTreeSet::len)
    }
}

/// How a document's fonts are embedded (issue 19: render once what is the same).
#[derive(Clone, Copy, Default)]
pub enum Embed<'a> {
    /// Each face subset for this document alone.
    #[default]
    Own,
    /// Lay the document out only to learn the glyphs it draws ([`Pdf::usage`]); the
    /// returned [`Pdf`] has no bytes.
    Collect,
    /// Each face the run's [`SharedFonts`] holds is embedded as that subset, made and
    /// compressed once; a face it does not hold is subset for this document.
    Shared(&'a SharedFonts),
}

/// The faces of a run's documents of one kind, each subset once to the union of the
/// glyphs they draw (see [`Fonts::share`]): every document embeds the same font program.
#[derive(Default)]
pub struct SharedFonts {
    faces: BTreeMap<usize, SharedSubset>,
}

impl SharedFonts {
    /// How many faces are shared.
    pub fn len(&self) -> usize {
        self.faces.len()
    }

    /// Whether no face is shared.
    pub fn is_empty(&self) -> bool {
        self.faces.is_empty()
    }

    /// The font program's size in bytes, compressed, of each shared face (by face index).
    pub fn sizes(&self) -> Vec<(usize, usize)> {
        self.faces.iter().map(|(f, s)| (*f, s.zipped.len())).collect()
    }
}

/// A face subset once: the glyphs it holds (ids in the whole face) and their ids in the
/// subset, the parsed subset to embed whole, and its bytes compressed once for the
/// `/FontFile2` stream.
struct SharedSubset {
    remap: BTreeMap<u16, u16>,
    font: ParsedFont,
    bytes: Vec<u8>,
    zipped: Vec<u8>,
}

impl SharedSubset {
    /// Subsets `face` to the glyphs `gids` (ids in the whole face; .notdef is always
    /// kept); `None` if the subset cannot be made (documents then subset that face one by
    /// one).
    fn of(face: &Face, gids: &BTreeSet<u16>) -> Option<SharedSubset> {
        use std::io::Write;
        let glyphs: BTreeMap<u16, String> = gids.iter().map(|&g| (g, String::new())).collect();
        let mut subset = printpdf::font::subset_font(&face.font, &glyphs).ok()?;
        if let Some(lean) = with_lean_names(&subset.bytes) {
            subset.bytes = lean;
        }
        let mut warnings = Vec::new();
        let font = ParsedFont::from_bytes(&subset.bytes, 0, &mut warnings)?;
        let mut remap: BTreeMap<u16, u16> = subset.glyph_mapping.iter().map(|(&old, (new, _))| (old, *new)).collect();
        remap.insert(0, 0);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&subset.bytes).ok()?;
        let zipped = z.finish().ok()?;
        Some(SharedSubset { remap, font, bytes: subset.bytes, zipped })
    }
}

/// The `name` records kept in a shared subset: family, subfamily, full and PostScript
/// names (ids 1, 2, 4, 6), from which the PDF's `/BaseFont` is made.
const KEPT_NAMES: [u16; 4] = [1, 2, 4, 6];

/// `name` table `data` (format 0 or 1) with only the records of [`KEPT_NAMES`], as
/// format 0; `None` if it cannot be read.
fn lean_name_table(data: &[u8]) -> Option<Vec<u8>> {
    let u16_at = |i: usize| Some(u16::from_be_bytes(data.get(i..i + 2)?.try_into().ok()?));
    let (count, storage) = (usize::from(u16_at(2)?), usize::from(u16_at(4)?));
    let mut records = Vec::new();
    let mut strings: Vec<u8> = Vec::new();
    for i in 0..count {
        let r = 6 + 12 * i;
        let id = u16_at(r + 6)?;
        if !KEPT_NAMES.contains(&id) {
            continue;
        }
        let (len, off) = (usize::from(u16_at(r + 8)?), usize::from(u16_at(r + 10)?));
        let text = data.get(storage + off..storage + off + len)?;
        let mut rec = data.get(r..r + 8)?.to_vec();
        rec.extend_from_slice(&(len as u16).to_be_bytes());
        rec.extend_from_slice(&(strings.len() as u16).to_be_bytes());
        records.push(rec);
        strings.extend_from_slice(text);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&(records.len() as u16).to_be_bytes());
    out.extend_from_slice(&(6 + 12 * records.len() as u16).to_be_bytes());
    records.iter().for_each(|r| out.extend_from_slice(r));
    out.extend_from_slice(&strings);
    Some(out)
}

/// The TrueType font `sfnt` with its `name` table cut to the names the PDF uses
/// ([`lean_name_table`]), or `None` when it has none or is not a single sfnt. PDF
/// 32000-1 §9.9 does not ask for the table in an embedded TrueType program, and
/// DejaVu's holds its licence text, 15.6 KB (about 6 KB compressed) in every PDF for
/// each face.
fn with_lean_names(sfnt: &[u8]) -> Option<Vec<u8>> {
    let u16_at = |i: usize| Some(u16::from_be_bytes(sfnt.get(i..i + 2)?.try_into().ok()?));
    let u32_at = |i: usize| Some(u32::from_be_bytes(sfnt.get(i..i + 4)?.try_into().ok()?));
    let version = u32_at(0)?;
    if version != 0x0001_0000 && version != u32::from_be_bytes(*b"OTTO") && version != u32::from_be_bytes(*b"true") {
        return None;
    }
    let count = usize::from(u16_at(4)?);
    let checksum = |data: &[u8]| {
        data.chunks(4).fold(0u32, |s, c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            s.wrapping_add(u32::from_be_bytes(w))
        })
    };
    // (tag, checksum, data)
    let mut tables: Vec<([u8; 4], u32, std::borrow::Cow<[u8]>)> = Vec::with_capacity(count);
    let mut found = false;
    for i in 0..count {
        let rec = 12 + 16 * i;
        let t: [u8; 4] = sfnt.get(rec..rec + 4)?.try_into().ok()?;
        let (sum, off, len) = (u32_at(rec + 4)?, u32_at(rec + 8)? as usize, u32_at(rec + 12)? as usize);
        let data = sfnt.get(off..off.checked_add(len)?)?;
        if &t == b"name" {
            let lean = lean_name_table(data)?;
            found = true;
            tables.push((t, checksum(&lean), std::borrow::Cow::Owned(lean)));
        } else {
            tables.push((t, sum, std::borrow::Cow::Borrowed(data)));
        }
    }
    if !found {
        return None;
    }
    let n = tables.len() as u16;
    let entry_selector = 15 - n.max(1).leading_zeros() as u16;
    let search_range = (1u16 << entry_selector) * 16;
    let mut out = Vec::with_capacity(sfnt.len());
    out.extend_from_slice(&version.to_be_bytes());
    for v in [n, search_range, entry_selector, n * 16 - search_range] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (t, sum, data) in &tables {
        if t == b"head" {
            head_at = Some(offset);
        }
        out.extend_from_slice(t);
        out.extend_from_slice(&sum.to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, _, data) in &tables {
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    // head.checkSumAdjustment: 0xB1B0AFBA minus the sum of the whole font with it zeroed.
    if let Some(h) = head_at
        && out.len() >= h + 12
    {
        out[h + 8..h + 12].fill(0);
        let sum = checksum(&out);
        out[h + 8..h + 12].copy_from_slice(&0xB1B0_AFBAu32.wrapping_sub(sum).to_be_bytes());
    }
    Some(out)
}

impl Fonts {
    /// Subsets each face that `usage` draws in once, to the union of its glyphs (faces
    /// with more than [`SHARED_MAX_GLYPHS`] are left to each document), for documents
    /// rendered with [`Embed::Shared`].
    pub fn share(&self, usage: &GlyphUsage) -> SharedFonts {
        let faces = usage
            .0
            .iter()
            .filter(|(_, gids)| !gids.is_empty() && gids.len() <= SHARED_MAX_GLYPHS)
            .filter_map(|(&face, gids)| Some((face, SharedSubset::of(self.face(face), gids)?)))
            .collect();
        SharedFonts { faces }
    }
}

/// The graphics state a page's ops have set so far ([`Canvas`] sets each only when it
/// changes): fill colour, stroke colour and width, font face and size.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct PageState {
    fill: Option<Rgb3>,
    stroke: Option<(Rgb3, f32)>,
    font: Option<(usize, f32)>,
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
    /// The graphics state at the end of the last page's ops, so that a fill colour, a
    /// stroke or a font already set is not set again (a 303-page ranking drew 64k texts,
    /// each with its own colour and font ops: ~80 MB of ops at its peak, issue 19).
    /// Each page's content stream starts from the default state.
    state: PageState,
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
    /// How the fonts are embedded.
    embed: Embed<'f>,
    /// The glyphs drawn in each face (ids in the whole face), kept with
    /// [`Embed::Collect`] and [`Embed::Shared`].
    gids: BTreeMap<usize, BTreeSet<u16>>,
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
            state: PageState::default(),
            width,
            height,
            margin: 40.0,
            top: 40.0,
            bottom: height - 48.0,
            y: 40.0,
            missing: BTreeSet::new(),
            used: BTreeMap::new(),
            embed: Embed::Own,
            gids: BTreeMap::new(),
        }
    }

    /// The same canvas with its fonts embedded as `embed` says (default [`Embed::Own`]).
    pub fn embedding(mut self, embed: Embed<'f>) -> Canvas<'f> {
        self.embed = embed;
        self
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
        self.state = PageState::default();
        self.y = self.top;
    }

    /// Whether `h` more points fit above the bottom margin.
    pub fn fits(&self, h: f32) -> bool {
        self.y + h <= self.bottom
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a canvas always has a page")
    }

    /// The document's handle of face `face`, added on first use: the run's shared subset
    /// of it when there is one (a small font; the whole face's parsed tables are copied
    /// into a document only when it is subset for itself).
    fn font_id(&mut self, face: usize) -> FontId {
        let fonts = self.fonts;
        let doc = &mut self.doc;
        let shared = match self.embed {
            Embed::Shared(s) => s.faces.get(&face),
            _ => None,
        };
        self.ids
            .entry(face)
            .or_insert_with(|| match shared {
                Some(sub) => doc.add_font(&sub.font),
                None => doc.add_font(&fonts.face(face).font),
            })
            .clone()
    }

    /// Draws `text` with its baseline at `baseline` (points from the top), starting at
    /// `x`. Characters no font has are drawn as U+FFFD and remembered. Right-to-left
    /// runs are drawn right to left, complex scripts shaped (see [`Fonts`]).
    pub fn text(&mut self, x: f32, baseline: f32, size: f32, bold: bool, color: Rgb3, text: &str) {
        let pieces = self.fonts.line(text, bold, &mut self.missing);
        if !matches!(self.embed, Embed::Own) {
            for piece in &pieces {
                let gids = self.gids.entry(piece.face()).or_default();
                match piece {
                    Piece::Text(f, s) => {
                        let font = &self.fonts.face(*f).font;
                        gids.extend(s.chars().map(|c| font.lookup_glyph_index(c as u32).unwrap_or(0)));
                    }
                    Piece::Glyphs(_, glyphs, _) => gids.extend(glyphs.iter().map(|g| g.gid)),
                }
            }
            if matches!(self.embed, Embed::Collect) {
                for piece in &pieces {
                    let chars = match piece {
                        Piece::Text(_, s) | Piece::Glyphs(_, _, s) => s,
                    };
                    self.used.entry(piece.face()).or_default().extend(chars.chars());
                }
                return;
            }
        }
        let py = self.height - baseline;
        let mut x = x;
        let mut ops = Vec::new();
        if self.state.fill != Some(color) {
            self.state.fill = Some(color);
            ops.push(Op::SetFillColor { col: color.color() });
        }
        for piece in pieces {
            let face = piece.face();
            // The font and size stay set after ET (they are graphics state, PDF 32000-1
            // 9.3.1): set only when they change on this page.
            // A shaped piece of no glyphs draws nothing, so it must not count as setting
            // the font either.
            let draws_nothing = matches!(&piece, Piece::Glyphs(_, glyphs, _) if glyphs.is_empty());
            let set_font = if draws_nothing || self.state.font == Some((face, size)) {
                None
            } else {
                self.state.font = Some((face, size));
                Some(Op::SetFont { font: PdfFontHandle::External(self.font_id(face)), size: Pt(size) })
            };
            match piece {
                Piece::Text(_, s) => {
                    let w = self.fonts.piece_width(&Piece::Text(face, s.clone()), size);
                    self.used.entry(face).or_default().extend(s.chars());
                    ops.push(Op::StartTextSection);
                    ops.extend(set_font);
                    ops.extend([
                        Op::SetTextCursor { pos: Point { x: Pt(x), y: Pt(py) } },
                        Op::ShowText { items: vec![TextItem::Text(s)] },
                        Op::EndTextSection,
                    ]);
                    x += w;
                }
                Piece::Glyphs(_, glyphs, chars) => {
                    self.used.entry(face).or_default().extend(chars.chars());
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
        if self.state.fill != Some(color) {
            self.state.fill = Some(color);
            self.ops().push(Op::SetFillColor { col: color.color() });
        }
        self.ops().push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(x),
                y: Pt(py),
                width: Pt(w.max(0.0)),
                height: Pt(h),
                mode: Some(PaintMode::Fill),
                winding_order: None,
            },
        });
    }

    /// An outlined rectangle whose top-left corner is (x, y).
    pub fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb3, thickness: f32) {
        let py = self.height - y - h;
        self.set_stroke(color, thickness);
        self.ops().push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(x),
                y: Pt(py),
                width: Pt(w),
                height: Pt(h),
                mode: Some(PaintMode::Stroke),
                winding_order: None,
            },
        });
    }

    /// A straight line from (x1, y1) to (x2, y2).
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, color: Rgb3, thickness: f32) {
        let (h, p) = (self.height, |x: f32, y: f32| LinePoint { p: Point { x: Pt(x), y: Pt(y) }, bezier: false });
        self.set_stroke(color, thickness);
        self.ops().push(Op::DrawLine { line: Line { points: vec![p(x1, h - y1), p(x2, h - y2)], is_closed: false } });
    }

    /// Sets the stroke colour and line width unless the page has them set already.
    fn set_stroke(&mut self, color: Rgb3, thickness: f32) {
        if self.state.stroke != Some((color, thickness)) {
            self.state.stroke = Some((color, thickness));
            self.ops()
                .extend([Op::SetOutlineColor { col: color.color() }, Op::SetOutlineThickness { pt: Pt(thickness) }]);
        }
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
            // The footer, drawn after the page's own ops, sets its colours and font again
            // (a few ops a page) rather than keeping each page's end state for it.
            self.state = PageState::default();
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
        let fonts = self
            .used
            .iter()
            .filter(|(face, chars)| **face >= 2 && !chars.is_empty())
            .map(|(face, chars)| (self.fonts.face(*face).label.clone(), chars.clone()))
            .collect();
        let usage = GlyphUsage(std::mem::take(&mut self.gids));
        let shared_fonts = match self.embed {
            Embed::Collect => return Pdf { bytes: Vec::new(), pages: total, missing: self.missing, fonts, usage },
            Embed::Own => None,
            Embed::Shared(s) => Some(s),
        };
        // Each face the run's shared subsets hold, with every glyph drawn here in it, is
        // embedded as that subset, whole: no subsetting and no compression of its own.
        // Its glyph ids are the subset's: the ops drawing in it are renumbered.
        let mut shared: BTreeMap<FontId, &SharedSubset> = BTreeMap::new();
        for (face, id) in &self.ids {
            let Some(sub) = shared_fonts.and_then(|s| s.faces.get(face)) else { continue };
            if usage.0.get(face).is_some_and(|g| g.iter().all(|g| sub.remap.contains_key(g))) {
                if let Some(font) = self.doc.resources.fonts.map.get_mut(id) {
                    font.meta = printpdf::PrintpdfFontMeta {
                        embedding_mode: printpdf::FontEmbeddingMode::Full,
                        requires_subsetting: false,
                        ..Default::default()
                    };
                }
                shared.insert(id.clone(), sub);
            } else {
                // A glyph outside the run's union (a document not laid out with the
                // others): the whole face, subset for this document.
                let whole = printpdf::PdfFont::new(self.fonts.face(*face).font.clone());
                self.doc.resources.fonts.map.insert(id.clone(), whole);
            }
        }
        if !shared.is_empty() {
            let whole: BTreeMap<&FontId, &Face> = self.ids.iter().map(|(f, id)| (id, self.fonts.face(*f))).collect();
            for page in &mut pages {
                renumber(page, &shared, &whole);
            }
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
        let mut warnings = Vec::new();
        // printpdf compresses every stream at zlib's best level (9), a third of a sheet's
        // rendering time in issue 8's profile; the default level (6) is ~30% faster overall
        // for the same size within a few percent.
        let opts = PdfSaveOptions { subset_fonts: true, optimize: false, ..Default::default() };
        let mut doc = self.doc.to_lopdf_document(&opts, &mut warnings);
        let shared: Vec<&SharedSubset> = shared.into_values().collect();
        compress_fast(&mut doc, &shared);
        let mut bytes = Vec::new();
        if doc.save_to(&mut bytes).is_err() {
            // Writing to memory cannot fail; fall back to printpdf's own path if it does.
            bytes = self.doc.save(&PdfSaveOptions { subset_fonts: true, ..Default::default() }, &mut warnings);
        }
        Pdf { bytes, pages: total, missing: self.missing, fonts, usage }
    }
}

/// Renumbers the glyphs that `ops` draws in the faces of `shared` (by the document's
/// font id) to the subset's ids: shaped glyph ids through the subset's map; a run of
/// characters stays characters when the subset's own cmap gives each the same glyph,
/// else it is drawn by glyph id (with the characters kept for text extraction).
fn renumber(ops: &mut [Op], shared: &BTreeMap<FontId, &SharedSubset>, whole: &BTreeMap<&FontId, &Face>) {
    let mut current: Option<(&SharedSubset, &Face)> = None;
    for op in ops {
        match op {
            Op::SetFont { font: PdfFontHandle::External(id), .. } => {
                current = shared.get(id).copied().zip(whole.get(id).copied());
            }
            Op::ShowText { items } => {
                let Some((sub, face)) = current else { continue };
                for item in items.iter_mut() {
                    match item {
                        TextItem::GlyphIds(glyphs) => {
                            for g in glyphs {
                                g.gid = sub.remap.get(&g.gid).copied().unwrap_or(0);
                            }
                        }
                        TextItem::Text(s) => {
                            let new_gid = |c: char| {
                                face.font.lookup_glyph_index(c as u32).and_then(|g| sub.remap.get(&g).copied())
                            };
                            if s.chars()
                                .all(|c| new_gid(c).is_some_and(|g| sub.font.lookup_glyph_index(c as u32) == Some(g)))
                            {
                                continue;
                            }
                            let glyphs = s
                                .chars()
                                .map(|c| printpdf::text::Codepoint {
                                    gid: new_gid(c).unwrap_or(0),
                                    offset: 0.0,
                                    cid: Some(c.to_string()),
                                })
                                .collect();
                            *item = TextItem::GlyphIds(glyphs);
                        }
                        TextItem::Offset(_) => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// Appends the ops drawing shaped `glyphs` of `face` from `x` on baseline `py`
/// (points from the bottom) at `size`; returns the x after them. Glyphs are shown with
/// the face's own advances (`/W`), corrected by TJ adjustments to the shaper's advances
/// and x offsets; a glyph raised or lowered by the shaper (a mark) is placed on its own.
fn shaped_ops(
    ops: &mut Vec<Op>,
    face: &Face,
    set_font: Option<Op>,
    glyphs: &[super::fonts::Glyph],
    x: f32,
    py: f32,
    size: f32,
) -> f32 {
    let scale = size / face.upm;
    let em = 1000.0 / face.upm;
    let mut pen = x;
    let mut chunk: Option<(f32, f32, Vec<TextItem>)> = None;
    // The font is set in the first text section only: it stays set after ET.
    let mut set_font = set_font;
    let mut flush = |ops: &mut Vec<Op>, chunk: &mut Option<(f32, f32, Vec<TextItem>)>| {
        if let Some((cx, cy, items)) = chunk.take() {
            ops.push(Op::StartTextSection);
            ops.extend(set_font.take());
            ops.extend([
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
    /// The glyphs drawn, per face (kept with [`Embed::Collect`] and [`Embed::Shared`];
    /// empty with [`Embed::Own`]).
    pub usage: GlyphUsage,
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

    fn one_page(fonts: &Fonts, embed: Embed, regular: &str, bold: &str) -> Pdf {
        let mut c = Canvas::new(fonts, Paper::A4, "t").embedding(embed);
        c.text(40.0, 60.0, 10.0, false, colors::MUTED, regular);
        c.text(40.0, 80.0, 10.0, true, colors::MUTED, bold);
        c.finish("footer", 0)
    }

    /// The glyph count of each font program of a PDF (decompressed), by font name.
    fn glyph_counts(bytes: &[u8]) -> BTreeMap<String, u16> {
        let doc = pdf_objects::Document::load_mem(bytes).unwrap();
        let mut out = BTreeMap::new();
        for object in doc.objects.values() {
            if let pdf_objects::Object::Dictionary(d) = object
                && let Ok(name) = d.get(b"FontName").and_then(|n| n.as_name())
                && let Ok(r) = d.get(b"FontFile2").and_then(|r| r.as_reference())
                && let Ok(pdf_objects::Object::Stream(st)) = doc.get_object(r)
            {
                let program = st.decompressed_content().unwrap_or_else(|_| st.content.clone());
                let n = rustybuzz::ttf_parser::Face::parse(&program, 0).unwrap().number_of_glyphs();
                let name = String::from_utf8_lossy(name);
                out.insert(name.split('+').next_back().unwrap_or_default().to_string(), n);
            }
        }
        out
    }

    /// Each page's content stream, decoded: (operator, its first operand as text).
    fn page_ops(bytes: &[u8]) -> Vec<Vec<(String, String)>> {
        let doc = pdf_objects::Document::load_mem(bytes).unwrap();
        doc.get_pages()
            .values()
            .map(|id| {
                let content = pdf_objects::content::Content::decode(&doc.get_page_content(*id)).unwrap();
                content
                    .operations
                    .into_iter()
                    .map(|o| {
                        let first = o.operands.first().map(|x| format!("{x:?}")).unwrap_or_default();
                        (o.operator, first)
                    })
                    .collect()
            })
            .collect()
    }

    /// A page sets its fill colour and font only when they change (issue 19: the
    /// ranking's 64k texts each set both), each page starts from the default state (its
    /// first text sets both), and the footer drawn at `finish` sets its own once. Counts
    /// worked out by hand from the calls below.
    #[test]
    fn colour_and_font_are_set_once_per_change_and_again_on_each_page() {
        let fonts = Fonts::load(&PdfSettings { system_fonts: false, ..Default::default() }).unwrap();
        let mut c = Canvas::new(&fonts, Paper::A4, "t");
        c.text(40.0, 60.0, 10.0, false, colors::TEXT, "Ana Davis");
        c.text(40.0, 80.0, 10.0, false, colors::TEXT, "Zoë Ødegaard");
        c.text(40.0, 100.0, 10.0, true, colors::TEXT, "Bold");
        c.text(40.0, 120.0, 10.0, false, colors::GOOD, "Good");
        c.fill(40.0, 130.0, 50.0, 10.0, colors::GOOD);
        c.line(40.0, 150.0, 90.0, 150.0, colors::RULE, 0.5);
        c.line(40.0, 160.0, 90.0, 160.0, colors::RULE, 0.5);
        c.new_page();
        c.text(40.0, 60.0, 10.0, false, colors::TEXT, "Page two");
        let pdf = c.finish("footer", 0);
        let pages = page_ops(&pdf.bytes);
        assert_eq!(pages.len(), 2);
        let count = |page: &[(String, String)], op: &str| page.iter().filter(|(o, _)| o == op).count();
        // Page 1: rg TEXT, Tf regular 10 (two texts), Tf bold, rg GOOD + Tf regular 10
        // (the rectangle keeps GOOD), one stroke set for two lines, then the footer:
        // its rule's RG again, rg MUTED, Tf regular 7.5, two texts.
        assert_eq!(count(&pages[0], "rg"), 3, "{:?}", pages[0]);
        assert_eq!(count(&pages[0], "Tf"), 4, "{:?}", pages[0]);
        assert_eq!(count(&pages[0], "RG"), 2, "{:?}", pages[0]);
        assert_eq!(count(&pages[0], "BT"), 6);
        // Page 2 starts over: rg TEXT, Tf regular 10, then the footer's RG, rg, Tf.
        assert_eq!(count(&pages[1], "rg"), 2, "{:?}", pages[1]);
        assert_eq!(count(&pages[1], "Tf"), 2, "{:?}", pages[1]);
        assert_eq!(count(&pages[1], "RG"), 1, "{:?}", pages[1]);
        assert_eq!(count(&pages[1], "BT"), 3);
        for page in &pages {
            // Every text is shown after a font is set on its page.
            let first_tf = page.iter().position(|(o, _)| o == "Tf").unwrap();
            let first_show = page.iter().position(|(o, _)| o == "Tj" || o == "TJ").unwrap();
            assert!(first_tf < first_show, "{page:?}");
        }
        // Same-font texts in a row share one Tf: the regular face's resource is set
        // before "Ana Davis" and still in force for "Zoë Ødegaard".
        let tfs: Vec<&String> = pages[0].iter().filter(|(o, _)| o == "Tf").map(|(_, f)| f).collect();
        assert_eq!(tfs[0], tfs[2], "regular, bold, regular again: {tfs:?}");
        assert_ne!(tfs[0], tfs[1]);
    }

    #[test]
    fn documents_of_a_run_embed_one_subset_per_face_holding_the_union_of_their_glyphs() {
        let fonts = Fonts::load(&PdfSettings { system_fonts: false, ..Default::default() }).unwrap();
        // Two documents of one run: accents, Latin Extended-A, and an Arabic name (shaped:
        // joining forms, not the cmap's glyphs).
        let docs = [("José Núñez – 98.5% ▲ ★", "Zoë Ødegaard · 1st"), ("Łukasz Żółć محمد", "Bo")];
        let collected: Vec<Pdf> = docs.iter().map(|(r, b)| one_page(&fonts, Embed::Collect, r, b)).collect();
        assert!(collected.iter().all(|p| p.bytes.is_empty()), "collecting writes no PDF");
        let usage = collected.into_iter().fold(GlyphUsage::default(), |u, p| u.merge(p.usage));
        let shared = fonts.share(&usage);
        assert_eq!(shared.len(), 2);
        let a = one_page(&fonts, Embed::Shared(&shared), docs[0].0, docs[0].1);
        let b = one_page(&fonts, Embed::Shared(&shared), docs[1].0, docs[1].1);
        // The same two font programs in both (subset once, compressed once), named as
        // subsets.
        let (pa, na) = font_programs(&a.bytes);
        let (pb, nb) = font_programs(&b.bytes);
        assert_eq!(pa.len(), 2);
        assert_eq!(pa, pb);
        assert_eq!(na, nb);
        assert!(
            na.iter().all(|n| n.len() > 7 && n.as_bytes()[6] == b'+' && n[..6].bytes().all(|c| c.is_ascii_uppercase())),
            "{na:?}"
        );
        // Exactly the union: the glyphs of one document drawing both documents' text,
        // subset for itself.
        let both = one_page(&fonts, Embed::Own, &format!("{} {}", docs[0].0, docs[1].0), "Zoë Ødegaard · 1st Bo");
        assert_eq!(glyph_counts(&a.bytes), glyph_counts(&both.bytes));
        // What a reader extracts is what each document says, as when subset on its own.
        for (pdf, (r, bold)) in [(&a, docs[0]), (&b, docs[1])] {
            let own = one_page(&fonts, Embed::Own, r, bold);
            let text = |bytes: &[u8]| pdf_objects::Document::load_mem(bytes).unwrap().extract_text(&[1]).unwrap();
            assert_eq!(text(&pdf.bytes), text(&own.bytes));
            assert!(pdf.usage.glyphs(0) > 0);
        }
        // A document drawing a glyph outside the union (Ω) subsets that face for itself;
        // the bold stays shared.
        let c = one_page(&fonts, Embed::Shared(&shared), "Ω", "Bo");
        let (pc, _) = font_programs(&c.bytes);
        assert_eq!(pc.iter().filter(|p| pa.contains(p)).count(), 1);
        // A face whose union is larger than SHARED_MAX_GLYPHS is left to each document.
        let mut wide = BTreeMap::new();
        wide.insert(0, (1..=SHARED_MAX_GLYPHS as u16 + 1).collect::<BTreeSet<u16>>());
        wide.insert(1, (1..=SHARED_MAX_GLYPHS as u16).collect::<BTreeSet<u16>>());
        assert_eq!(fonts.share(&GlyphUsage(wide)).sizes().iter().map(|(f, _)| *f).collect::<Vec<_>>(), [1]);
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
