//! The fonts of the PDFs and how a line of text is set in them: the face each run of
//! text is drawn in (DejaVu Sans, then `pdf.fallback_fonts`, then — when that list is
//! empty — faces found on the system, see [`super::system_fonts`]), right-to-left runs
//! put in visual order (Unicode bidi, UAX #9, in a left-to-right paragraph) and runs of
//! Arabic, Hebrew and the Indic and South-East Asian scripts shaped with rustybuzz
//! (joining forms, ligatures, reordered vowel signs, marks). Used by `pdf` only.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use printpdf::ParsedFont;
use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};

use super::pdf::{FontError, PdfSettings, REPLACEMENT};
use super::system_fonts::SystemFonts;

/// The DejaVu Sans fonts shipped in `fonts/` (licence: `fonts/LICENSE-DejaVu.txt`).
const REGULAR: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");

/// One font face: parsed for printpdf (embedding, advances) and its file's bytes kept
/// for the shaper.
pub(super) struct Face {
    pub(super) font: ParsedFont,
    pub(super) upm: f32,
    bytes: Cow<'static, [u8]>,
    index: u32,
    /// How the run summary names it: "Droid Sans Fallback (/usr/share/…/x.ttf)".
    pub(super) label: String,
    /// The advance (font units) of each printable ASCII character, space to `~`, when
    /// the face has them all: lines of such text are measured without a cmap lookup.
    ascii: Option<[f32; 95]>,
}

impl Face {
    fn parse(bytes: Cow<'static, [u8]>, index: u32, label: String, path: &str) -> Result<Face, FontError> {
        let mut warnings = Vec::new();
        let font = ParsedFont::from_bytes(&bytes, index as usize, &mut warnings)
            .ok_or(FontError::Parse { path: path.into() })?;
        let upm = f32::from(font.pdf_font_metrics.units_per_em.max(1));
        let mut ascii = [0.0; 95];
        let mut all = true;
        for (i, c) in (' '..='~').enumerate() {
            match font.lookup_glyph_index(c as u32).filter(|&g| g != 0) {
                Some(g) => ascii[i] = f32::from(font.get_horizontal_advance(g)),
                None => all = false,
            }
        }
        Ok(Face { font, upm, bytes, index, label, ascii: all.then_some(ascii) })
    }

    pub(super) fn has(&self, c: char) -> bool {
        self.font.lookup_glyph_index(c as u32).is_some_and(|g| g != 0)
    }

    /// Advance of `c` in points at `size`.
    pub(super) fn advance(&self, c: char, size: f32) -> f32 {
        if let Some(table) = &self.ascii
            && let Some(a) = (c as usize).checked_sub(0x20).and_then(|i| table.get(i))
        {
            return a / self.upm * size;
        }
        let gid = self.font.lookup_glyph_index(c as u32).unwrap_or(0);
        f32::from(self.font.get_horizontal_advance(gid)) / self.upm * size
    }

    /// The advance of glyph `gid` in font units (what the PDF's `/W` says).
    pub(super) fn glyph_advance(&self, gid: u16) -> f32 {
        f32::from(self.font.get_horizontal_advance(gid))
    }
}

/// One glyph of a shaped run, in visual order; positions in font units.
#[derive(Debug, Clone)]
pub(super) struct Glyph {
    pub(super) gid: u16,
    /// The text this glyph stands for in a text extraction (`/ToUnicode`): its
    /// characters in logical order; empty for a second glyph of a cluster.
    pub(super) text: String,
    pub(super) x_advance: i32,
    pub(super) x_offset: i32,
    pub(super) y_offset: i32,
}

/// A piece of a line in one face, in visual (left-to-right) order.
#[derive(Debug, Clone)]
pub(super) enum Piece {
    /// Characters drawn one glyph each through the face's cmap, left to right.
    Text(usize, String),
    /// A shaped run: glyphs placed by the shaper, and the run's characters (logical
    /// order) for the text extraction.
    Glyphs(usize, Arc<Vec<Glyph>>, String),
}

impl Piece {
    pub(super) fn face(&self) -> usize {
        match self {
            Piece::Text(f, _) | Piece::Glyphs(f, _, _) => *f,
        }
    }
}

/// A shaped run's key: face, right to left, text.
type ShapeKey = (usize, bool, String);

/// The faces found on the system, each loaded on first choice.
struct Search {
    system: SystemFonts,
    faces: Vec<OnceLock<Option<Face>>>,
}

/// The fonts of a document: DejaVu Sans regular and bold, then the configured fallbacks
/// (used for both weights), then — with no fallbacks configured and `pdf.system_fonts`
/// on — the faces of the system's font folders (searched on the first character the
/// others lack). Load once per run: faces are parsed once, the printable ASCII's advances
/// tabled once per face, and each run of text shaped once. Render once what is the same
/// (issue 19): [`Fonts::share`] subsets each face once for a run's documents of one kind.
pub struct Fonts {
    faces: Vec<Face>,
    /// `None`: no search (fallbacks configured, or `pdf.system_fonts = false`).
    search: Option<OnceLock<Search>>,
    /// (characters, bold) -> the face drawing them all (system search results).
    choices: Mutex<HashMap<(String, bool), Option<usize>>>,
    /// (face, right to left, text) -> its shaped glyphs.
    shaped: Mutex<HashMap<ShapeKey, Arc<Vec<Glyph>>>>,
}

/// Hebrew's first code point: nothing below it (Latin, Greek, Cyrillic, Armenian, the
/// common punctuation) is right to left or in a shaped script, so [`complex`] and [`rtl`]
/// skip the script and bidi tables for most text (issue 19: 6 % of the jobs' CPU).
const FIRST_RTL_OR_SHAPED: u32 = 0x0590;

/// Scripts whose runs are shaped: joining (Arabic, Syriac, N'Ko, Mongolian), right to
/// left with marks (Hebrew, Thaana), and the Brahmic scripts whose vowel signs reorder
/// and conjoin (Devanagari … Sinhala, Thai, Lao, Tibetan, Myanmar, Khmer).
fn complex(c: char) -> bool {
    (c as u32) >= FIRST_RTL_OR_SHAPED && shaped_script(c.script())
}

/// Whether runs of `script` are shaped (see [`complex`]).
fn shaped_script(script: Script) -> bool {
    matches!(
        script,
        Script::Arabic
            | Script::Syriac
            | Script::Thaana
            | Script::Nko
            | Script::Mongolian
            | Script::Hebrew
            | Script::Devanagari
            | Script::Bengali
            | Script::Gurmukhi
            | Script::Gujarati
            | Script::Oriya
            | Script::Tamil
            | Script::Telugu
            | Script::Kannada
            | Script::Malayalam
            | Script::Sinhala
            | Script::Thai
            | Script::Lao
            | Script::Tibetan
            | Script::Myanmar
            | Script::Khmer
    )
}

/// A character of a right-to-left script, or a bidi control that starts such a run.
fn rtl(c: char) -> bool {
    use unicode_bidi::BidiClass::{AL, R, RLE, RLI, RLO};
    (c as u32) >= FIRST_RTL_OR_SHAPED && matches!(unicode_bidi::bidi_class(c), R | AL | RLE | RLO | RLI)
}

/// Bidi format characters (UAX #9): they steer the order of runs and are not drawn.
fn bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `name` followed by a LEFT-TO-RIGHT MARK when it holds right-to-left text, for
/// running text that puts figures after names: "3. שרה כהן ($40,000)" keeps the figure
/// after the name instead of the bidi algorithm drawing it to the name's left (the mark
/// is not drawn). Other names are returned as they are.
pub(crate) fn isolate(name: &str) -> Cow<'_, str> {
    if name.chars().any(rtl) { Cow::Owned(format!("{name}\u{200E}")) } else { Cow::Borrowed(name) }
}

impl Fonts {
    /// DejaVu Sans plus the fallback font files, in order; with none, the system's
    /// font folders are searched when needed (`pdf.system_fonts`).
    pub fn load(settings: &PdfSettings) -> Result<Fonts, FontError> {
        let builtin = |bytes: &'static [u8], name: &str, file: &str| {
            Face::parse(Cow::Borrowed(bytes), 0, format!("{name} (built in)"), file)
        };
        let mut faces = vec![
            builtin(REGULAR, "DejaVu Sans", "DejaVuSans.ttf")?,
            builtin(BOLD, "DejaVu Sans Bold", "DejaVuSans-Bold.ttf")?,
        ];
        for p in &settings.fallback_fonts {
            let shown = p.display().to_string();
            let bytes = std::fs::read(p).map_err(|source| FontError::Io { path: shown.clone(), source })?;
            let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            faces.push(Face::parse(Cow::Owned(bytes), 0, format!("{name} ({shown})"), &shown)?);
        }
        let search = (settings.fallback_fonts.is_empty() && settings.system_fonts).then(OnceLock::new);
        Ok(Fonts { faces, search, choices: Mutex::new(HashMap::new()), shaped: Mutex::new(HashMap::new()) })
    }

    /// The search of the system's fonts, made on first need; `None` when off.
    fn search(&self) -> Option<&Search> {
        self.search.as_ref().map(|s| {
            s.get_or_init(|| {
                let system = SystemFonts::scan();
                let faces = (0..system.found.len()).map(|_| OnceLock::new()).collect();
                Search { system, faces }
            })
        })
    }

    /// Face `i`: a built-in or configured face, or a found one already loaded.
    pub(super) fn face(&self, i: usize) -> &Face {
        match i.checked_sub(self.faces.len()) {
            None => &self.faces[i],
            Some(k) => self
                .search()
                .and_then(|s| s.faces[k].get())
                .and_then(|f| f.as_ref())
                .expect("a found face is loaded before its index is used"),
        }
    }

    /// Whether the face `k` found on the system is usable (loaded now if not yet).
    fn load_found(&self, s: &Search, k: usize) -> bool {
        s.faces[k]
            .get_or_init(|| {
                let (bytes, index) = s.system.bytes(k)?;
                let f = &s.system.found[k];
                let face = Face::parse(Cow::Owned(bytes), index, f.label(), &f.path.display().to_string()).ok();
                if face.is_none() {
                    tracing::warn!(font = %f.label(), "a font found on the system cannot be read; not used");
                }
                face
            })
            .is_some()
    }

    /// The first face, for `bold` or regular text, that has every character of
    /// `chars`: the weight's DejaVu face, the configured fallbacks, then the system's
    /// faces in their order of preference.
    fn choose(&self, chars: &str, bold: bool) -> Option<usize> {
        let fixed = std::iter::once(usize::from(bold)).chain(2..self.faces.len());
        for i in fixed {
            if chars.chars().all(|c| self.faces[i].has(c)) {
                return Some(i);
            }
        }
        let s = self.search()?;
        let key = (chars.to_string(), bold);
        if let Some(hit) = self.choices.lock().expect("font choices").get(&key) {
            return *hit;
        }
        let hit = s
            .system
            .order(bold)
            .iter()
            .copied()
            .find(|&k| chars.chars().all(|c| s.system.has(k, c)) && self.load_found(s, k))
            .map(|k| self.faces.len() + k);
        self.choices.lock().expect("font choices").insert(key, hit);
        hit
    }

    /// Splits `text` (logical order) into runs of one face each: a run of one script
    /// (spaces, digits and punctuation go with the script around them) takes the first
    /// face that has all of it; failing that, each character the first face that has
    /// it (staying in the face before it when that one has it). A character no face has
    /// becomes [`REPLACEMENT`] in the weight's own face and is added to `missing`.
    fn segments(&self, text: &str, bold: bool, missing: &mut BTreeSet<char>) -> Vec<(usize, String)> {
        // Runs of one script from its first character to its last; spaces, digits and
        // punctuation between two of its characters stay in it (the space of a two-word
        // name), the others are runs of their own (drawn in DejaVu Sans when it has
        // them); combining marks stay with the character before them.
        let mut scripts: Vec<(Script, String)> = Vec::new();
        let mut pending = String::new();
        for c in text.chars().filter(|&c| !bidi_control(c)) {
            let sc = c.script();
            if sc == Script::Inherited && pending.is_empty() && !scripts.is_empty() {
                scripts.last_mut().expect("a run").1.push(c);
                continue;
            }
            if matches!(sc, Script::Common | Script::Inherited | Script::Unknown) {
                pending.push(c);
                continue;
            }
            match scripts.last_mut() {
                Some((s, run)) if *s == sc => {
                    run.push_str(&std::mem::take(&mut pending));
                    run.push(c);
                }
                _ => {
                    if !pending.is_empty() {
                        scripts.push((Script::Common, std::mem::take(&mut pending)));
                    }
                    scripts.push((sc, c.to_string()));
                }
            }
        }
        if !pending.is_empty() {
            scripts.push((Script::Common, pending));
        }
        let mut out: Vec<(usize, String)> = Vec::new();
        let push = |out: &mut Vec<(usize, String)>, face: usize, s: &str| match out.last_mut() {
            Some((f, run)) if *f == face => run.push_str(s),
            _ => out.push((face, s.to_string())),
        };
        for (_, run) in scripts {
            if let Some(face) = self.choose(&run, bold) {
                push(&mut out, face, &run);
                continue;
            }
            let mut prev: Option<usize> = None;
            for c in run.chars() {
                let kept = prev.filter(|&f| self.face(f).has(c));
                match kept.or_else(|| self.choose(c.encode_utf8(&mut [0; 4]), bold)) {
                    Some(face) => {
                        prev = Some(face);
                        push(&mut out, face, c.encode_utf8(&mut [0; 4]));
                    }
                    None => {
                        missing.insert(c);
                        push(&mut out, usize::from(bold), REPLACEMENT.encode_utf8(&mut [0; 4]));
                    }
                }
            }
        }
        out
    }

    /// `text` (NFC-normalised, controls as spaces) as pieces in visual order, left to
    /// right: right-to-left runs reordered (UAX #9 in a left-to-right paragraph: the
    /// documents read left to right) and shaped, complex scripts shaped, the rest drawn
    /// character by character.
    pub(super) fn line(&self, text: &str, bold: bool, missing: &mut BTreeSet<char>) -> Vec<Piece> {
        let primary = usize::from(bold);
        // Printable ASCII (most of a document's text): already NFC, no control, no
        // right-to-left or complex script, and drawn in the weight's DejaVu face.
        if self.faces[primary].ascii.is_some() && text.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            return if text.is_empty() { Vec::new() } else { vec![Piece::Text(primary, text.to_string())] };
        }
        let s: String = text.nfc().map(|c| if c.is_control() { ' ' } else { c }).collect();
        if s.chars().all(|c| !complex(c) && !rtl(c) && self.faces[primary].has(c)) {
            return if s.is_empty() { Vec::new() } else { vec![Piece::Text(primary, s)] };
        }
        let runs: Vec<(std::ops::Range<usize>, bool)> = if s.chars().any(rtl) {
            let info = unicode_bidi::BidiInfo::new(&s, Some(unicode_bidi::Level::ltr()));
            let mut v = Vec::new();
            for para in &info.paragraphs {
                let (levels, runs) = info.visual_runs(para, para.range.clone());
                v.extend(runs.into_iter().map(|r| {
                    let rtl = levels[r.start].is_rtl();
                    (r, rtl)
                }));
            }
            v
        } else {
            vec![(0..s.len(), false)]
        };
        let mut out: Vec<Piece> = Vec::new();
        for (range, is_rtl) in runs {
            let mut segs = self.segments(&s[range], bold, missing);
            if is_rtl {
                segs.reverse();
            }
            for (face, t) in segs {
                if is_rtl || t.chars().any(complex) {
                    let glyphs = self.shape(face, &t, is_rtl);
                    out.push(Piece::Glyphs(face, glyphs, t));
                } else {
                    match out.last_mut() {
                        Some(Piece::Text(f, run)) if *f == face => run.push_str(&t),
                        _ => out.push(Piece::Text(face, t)),
                    }
                }
            }
        }
        out
    }

    /// `text` shaped in face `face` (rustybuzz), right to left when `rtl`; glyphs in
    /// visual order. Each glyph carries the characters it draws: the whole cluster
    /// when it is the cluster's only glyph, else the cluster's characters the font
    /// maps to it, the rest going to the cluster's first glyph in logical order.
    fn shape(&self, face: usize, text: &str, rtl: bool) -> Arc<Vec<Glyph>> {
        let key = (face, rtl, text.to_string());
        if let Some(hit) = self.shaped.lock().expect("shaped runs").get(&key) {
            return hit.clone();
        }
        let f = self.face(face);
        let glyphs = match rustybuzz::Face::from_slice(&f.bytes, f.index) {
            Some(rb) => {
                let mut buf = rustybuzz::UnicodeBuffer::new();
                buf.push_str(text);
                buf.set_direction(if rtl {
                    rustybuzz::Direction::RightToLeft
                } else {
                    rustybuzz::Direction::LeftToRight
                });
                buf.guess_segment_properties();
                let out = rustybuzz::shape(&rb, &[], buf);
                glyphs_of(text, out.glyph_infos(), out.glyph_positions(), rtl, |c| f.font.lookup_glyph_index(c as u32))
            }
            // Not an OpenType face the shaper reads: character by character.
            None => text
                .chars()
                .map(|c| {
                    let gid = f.font.lookup_glyph_index(c as u32).unwrap_or(0);
                    Glyph { gid, text: c.to_string(), x_advance: f.glyph_advance(gid) as i32, x_offset: 0, y_offset: 0 }
                })
                .collect(),
        };
        let glyphs = Arc::new(glyphs);
        self.shaped.lock().expect("shaped runs").insert(key, glyphs.clone());
        glyphs
    }

    /// Width of a piece in points at `size`.
    pub(super) fn piece_width(&self, p: &Piece, size: f32) -> f32 {
        match p {
            Piece::Text(f, s) => s.chars().map(|c| self.face(*f).advance(c, size)).sum(),
            Piece::Glyphs(f, g, _) => g.iter().map(|g| g.x_advance as f32).sum::<f32>() / self.face(*f).upm * size,
        }
    }

    /// Width of `text` in points at `size`, as it will be drawn.
    pub fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let mut ignored = BTreeSet::new();
        self.line(text, bold, &mut ignored).iter().map(|p| self.piece_width(p, size)).sum()
    }

    /// `text` cut to fit `max` points, ending in "…" when cut.
    pub fn fit(&self, text: &str, max: f32, size: f32, bold: bool) -> String {
        if self.width(text, size, bold) <= max {
            return text.to_string();
        }
        let mut chars: Vec<char> = text.nfc().collect();
        while !chars.is_empty() {
            chars.pop();
            let s: String = chars.iter().collect::<String>().trim_end().to_string() + "…";
            if self.width(&s, size, bold) <= max {
                return s;
            }
        }
        String::new()
    }

    /// `text` broken into lines of at most `max` points at word boundaries (a word
    /// longer than a line is cut with an ellipsis). A no-break space (U+00A0, U+202F,
    /// U+2007: CLDR puts them between a figure and its "%" or "€") is part of its word:
    /// "50,0 %" never ends one line with "50,0" and starts the next with "%".
    pub fn wrap(&self, text: &str, max: f32, size: f32, bold: bool) -> Vec<String> {
        let mut lines = Vec::new();
        let mut cur = String::new();
        let breaks = |c: char| c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{202f}' | '\u{2007}');
        for word in text.split(breaks).filter(|w| !w.is_empty()) {
            let candidate = if cur.is_empty() { word.to_string() } else { format!("{cur} {word}") };
            if self.width(&candidate, size, bold) <= max {
                cur = candidate;
            } else {
                if !cur.is_empty() {
                    lines.push(std::mem::take(&mut cur));
                }
                cur = self.fit(word, max, size, bold);
            }
        }
        if !cur.is_empty() {
            lines.push(cur);
        }
        lines
    }

    /// For each sample text, the face that draws it (regular weight): its label, or
    /// `None` when some character has no face. For `quotad check`.
    pub fn coverage(&self, samples: &[&str]) -> Vec<Option<String>> {
        samples
            .iter()
            .map(|t| {
                let mut missing = BTreeSet::new();
                let mut faces: Vec<String> = Vec::new();
                for p in self.line(t, false, &mut missing) {
                    let l = self.face(p.face()).label.clone();
                    if !faces.contains(&l) {
                        faces.push(l);
                    }
                }
                missing.is_empty().then(|| faces.join(" + "))
            })
            .collect()
    }

    /// Whether the system's fonts are searched (no `pdf.fallback_fonts`, and
    /// `pdf.system_fonts` on).
    pub fn searches_system(&self) -> bool {
        self.search.is_some()
    }
}

/// The glyphs of a shaped buffer (visual order) with the text each stands for; see
/// [`Fonts::shape`]. `cmap` is the face's character-to-glyph map.
fn glyphs_of(
    text: &str,
    infos: &[rustybuzz::GlyphInfo],
    positions: &[rustybuzz::GlyphPosition],
    rtl: bool,
    cmap: impl Fn(char) -> Option<u16>,
) -> Vec<Glyph> {
    let mut starts: Vec<usize> = infos.iter().map(|i| i.cluster as usize).collect();
    starts.sort_unstable();
    starts.dedup();
    let cluster_text = |start: usize| -> &str {
        let end = starts.iter().copied().find(|&s| s > start).unwrap_or(text.len());
        text.get(start..end).unwrap_or("")
    };
    let mut glyphs: Vec<Glyph> = infos
        .iter()
        .zip(positions)
        .map(|(i, p)| Glyph {
            gid: i.glyph_id as u16,
            text: String::new(),
            x_advance: p.x_advance,
            x_offset: p.x_offset,
            y_offset: p.y_offset,
        })
        .collect();
    // Logical order of the glyphs: visual order, reversed for right to left.
    let logical: Vec<usize> = if rtl { (0..glyphs.len()).rev().collect() } else { (0..glyphs.len()).collect() };
    for &start in &starts {
        let members: Vec<usize> = logical.iter().copied().filter(|&g| infos[g].cluster as usize == start).collect();
        let chars = cluster_text(start);
        if members.len() == 1 {
            glyphs[members[0]].text = chars.to_string();
            continue;
        }
        let mut left = String::new();
        for c in chars.chars() {
            match members.iter().find(|&&g| glyphs[g].text.is_empty() && cmap(c) == Some(glyphs[g].gid)) {
                Some(&g) => glyphs[g].text.push(c),
                None => left.push(c),
            }
        }
        if let Some(&first) = members.first() {
            glyphs[first].text.insert_str(0, &left);
        }
    }
    // A right-to-left glyph's characters are given in visual order like the glyphs
    // themselves: text extractors (poppler's pdftotext) reverse right-to-left text
    // character by character, which turns a lam-alef ligature's "لأ" back the right way.
    if rtl {
        for g in &mut glyphs {
            g.text = g.text.chars().rev().collect();
        }
    }
    glyphs
}

#[cfg(test)]
mod tests {
    /// What lets `complex` and `rtl` skip their tables: below U+0590 the tables
    /// themselves say no character is in a shaped script or right to left.
    #[test]
    fn nothing_below_hebrew_is_shaped_or_right_to_left() {
        use unicode_bidi::BidiClass::{AL, R, RLE, RLI, RLO};
        use unicode_script::UnicodeScript;
        let below: Vec<char> = (0..super::FIRST_RTL_OR_SHAPED).filter_map(char::from_u32).collect();
        assert_eq!(below.len(), 0x0590);
        for c in below {
            assert!(!matches!(unicode_bidi::bidi_class(c), R | AL | RLE | RLO | RLI), "{c:?}");
            assert!(!super::shaped_script(c.script()), "{c:?}: {:?}", c.script());
        }
        // And at the boundary the tables do say so.
        assert!(super::rtl('\u{05D0}') && super::complex('\u{05D0}'), "Hebrew alef");
    }
    use super::*;

    fn dejavu_only() -> Fonts {
        Fonts::load(&PdfSettings { system_fonts: false, ..Default::default() }).unwrap()
    }

    /// The glyphs of the one shaped piece of `text`, and its face.
    fn shaped(fonts: &Fonts, text: &str) -> (usize, Vec<Glyph>) {
        let mut missing = BTreeSet::new();
        let pieces = fonts.line(text, false, &mut missing);
        assert!(missing.is_empty(), "{missing:?}");
        match &pieces[..] {
            [Piece::Glyphs(face, g, _)] => (*face, g.to_vec()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn arabic_is_joined_and_laid_out_right_to_left() {
        let fonts = dejavu_only();
        let f = fonts.face(0);
        let nominal = |c: char| f.font.lookup_glyph_index(c as u32).unwrap();
        // محمد: meem, hah, meem, dal. Drawn right to left: the first glyph on the left is
        // the dal, the last on the right the first meem. Joined: each letter in its
        // contextual form (initial meem, medial hah and meem, final dal), never the
        // isolated form the cmap gives.
        let (face, g) = shaped(&fonts, "محمد");
        assert_eq!(face, 0);
        let texts: Vec<&str> = g.iter().map(|g| g.text.as_str()).collect();
        assert_eq!(texts, ["د", "م", "ح", "م"]);
        for (glyph, c) in g.iter().zip(['د', 'م', 'ح', 'م']) {
            assert_ne!(glyph.gid, nominal(c), "{c} is drawn isolated");
        }
        // The lam-alef of الأحمد is one glyph standing for "لأ", given in visual order
        // ("أل") like the glyphs, so that a text extractor reversing right-to-left text
        // gives it back as written.
        let (_, g) = shaped(&fonts, "الأحمد");
        assert_eq!(g.len(), 5, "{g:?}");
        assert!(g.iter().any(|g| g.text == "أل"), "{g:?}");
    }

    #[test]
    fn hebrew_and_mixed_lines_are_in_visual_order() {
        let fonts = dejavu_only();
        let (_, g) = shaped(&fonts, "שרה");
        assert_eq!(g.iter().map(|g| g.text.as_str()).collect::<Vec<_>>(), ["ה", "ר", "ש"]);
        // A left-to-right line (the documents read left to right) with an Arabic name and
        // a number in it: "Ali", then the Arabic run drawn right to left with the digit
        // kept left to right within it (UAX #9): visually "Ali ", "2", " محمد" reversed.
        let mut missing = BTreeSet::new();
        let pieces = fonts.line("Ali محمد 2", false, &mut missing);
        let shown: Vec<String> = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(_, s) => s.clone(),
                Piece::Glyphs(_, g, _) => g.iter().map(|g| g.text.as_str()).collect(),
            })
            .collect();
        assert_eq!(shown.concat(), "Ali 2 دمحم", "{pieces:?}");
        // A figure after a right-to-left name stays after it when the name is followed by
        // a left-to-right mark (the celebrations' "3. שרה ($40,000)"); the mark is not
        // drawn.
        let line = |t: &str| -> String {
            let mut missing = BTreeSet::new();
            let pieces = fonts.line(t, false, &mut missing);
            assert!(missing.is_empty(), "{missing:?}");
            pieces
                .iter()
                .map(|p| match p {
                    Piece::Text(_, s) => s.clone(),
                    Piece::Glyphs(_, g, _) => g.iter().map(|g| g.text.as_str()).collect(),
                })
                .collect()
        };
        assert_eq!(line(&format!("3. {} ($40,000)", isolate("שרה"))), "3. הרש ($40,000)");
        assert!(!line("3. שרה ($40,000)").ends_with("($40,000)"));
        assert_eq!(isolate("Ann"), "Ann");
        assert!(fonts.width("Ali محمد 2", 10.0, false) > fonts.width("Ali", 10.0, false));
    }

    #[test]
    fn a_script_no_font_has_is_missing_and_a_run_stays_in_one_face() {
        let fonts = dejavu_only();
        let mut missing = BTreeSet::new();
        let pieces = fonts.line("สมชาย Ann", false, &mut missing);
        assert_eq!(missing.iter().collect::<String>(), "ชมยสา");
        let text: String = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(_, s) => s.clone(),
                Piece::Glyphs(_, g, _) => g.iter().map(|g| g.text.as_str()).collect(),
            })
            .collect();
        assert_eq!(text, "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD} Ann");
        assert_eq!(fonts.coverage(&["李伟", "Ελένη"]), vec![None, Some("DejaVu Sans (built in)".to_string())]);
    }

    #[test]
    fn the_system_fonts_are_ordered_the_same_way_every_time() {
        let dir = std::path::PathBuf::from("/usr/share/fonts/truetype/dejavu");
        if !dir.exists() {
            return;
        }
        let a = SystemFonts::in_dirs(std::slice::from_ref(&dir));
        let b = SystemFonts::in_dirs(&[dir]);
        let names = |s: &SystemFonts, bold| s.order(bold).iter().map(|&i| s.found[i].label()).collect::<Vec<_>>();
        assert_eq!(names(&a, false), names(&b, false));
        // Upright, the weight asked for, normal width, proportional, sans first.
        assert!(names(&a, false)[0].starts_with("DejaVu Sans (") && names(&a, false)[0].ends_with("DejaVuSans.ttf)"));
        assert!(names(&a, true)[0].ends_with("DejaVuSans-Bold.ttf)"), "{:?}", names(&a, true));
    }

    #[test]
    fn a_no_break_space_keeps_a_figure_and_its_sign_on_one_line() {
        let f = Fonts::load(&PdfSettings { system_fonts: false, ..Default::default() }).unwrap();
        let figure = "50,0\u{a0}%";
        // Room for the figure alone: it moves to the next line whole, its no-break space kept.
        let lines = f.wrap(&format!("ab {figure} cd"), f.width(figure, 9.0, false), 9.0, false);
        assert_eq!(lines, ["ab", figure, "cd"]);
    }
}
