//! Fallback fonts found on the system (issue 20.6): when `pdf.fallback_fonts` is empty
//! and `pdf.system_fonts` is on, the font folders fontconfig names (else
//! `/usr/share/fonts`, `/usr/local/share/fonts`, `~/.fonts`, `~/.local/share/fonts`)
//! are searched, once per job and only when a character DejaVu Sans lacks is drawn,
//! with `fontdb`. Owns fontdb; used by `pdf` only.
//!
//! The choice is deterministic: the faces are ordered once per weight — upright before
//! oblique and italic, the nearest weight to the text's (400 regular, 700 bold), normal
//! width, proportional before monospaced, sans before serif, then family name, file and
//! face index — and a run of text takes the first face in that order that has all its
//! characters. The same folders give the same choice, so the same PDF.

use std::path::PathBuf;
use std::sync::OnceLock;

/// One face found in a font folder.
pub(super) struct Found {
    id: fontdb::ID,
    /// The family name (English), e.g. "Droid Sans Fallback".
    pub family: String,
    /// The file holding the face.
    pub path: PathBuf,
    /// The face's index in the file (collections, `.ttc`).
    pub index: u32,
    weight: u16,
    upright: bool,
    normal_width: bool,
    mono: bool,
    /// 0 sans ("Sans" in the family name), 1 neither, 2 serif.
    serif: u8,
    /// The characters the face maps to a glyph, sorted; read on first need.
    cmap: OnceLock<Vec<u32>>,
}

impl Found {
    /// "Family (file)", as the run summary and `check` name a face.
    pub fn label(&self) -> String {
        format!("{} ({})", self.family, self.path.display())
    }
}

/// The faces of the system's font folders, in the two preference orders.
pub(super) struct SystemFonts {
    db: fontdb::Database,
    /// All faces, sorted by family, file and index.
    pub found: Vec<Found>,
    /// Indexes into `found`, best first, for regular text and for bold text.
    order: [Vec<usize>; 2],
}

impl SystemFonts {
    /// Scans the system's font folders (fontconfig's, else the usual ones).
    pub fn scan() -> SystemFonts {
        let mut db = fontdb::Database::new();
        db.load_system_fonts();
        SystemFonts::of(db)
    }

    /// The faces of the font files in `dirs` only (tests).
    #[cfg(test)]
    pub(super) fn in_dirs(dirs: &[PathBuf]) -> SystemFonts {
        let mut db = fontdb::Database::new();
        for d in dirs {
            db.load_fonts_dir(d);
        }
        SystemFonts::of(db)
    }

    fn of(db: fontdb::Database) -> SystemFonts {
        let mut found: Vec<Found> = db
            .faces()
            .filter_map(|f| {
                let path = match &f.source {
                    fontdb::Source::File(p) | fontdb::Source::SharedFile(p, _) => p.clone(),
                    fontdb::Source::Binary(_) => return None,
                };
                let family = f.families.first().map(|(n, _)| n.clone()).unwrap_or_else(|| f.post_script_name.clone());
                let lower = family.to_lowercase();
                let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
                let serif = if words.contains(&"sans") {
                    0
                } else if ["serif", "mincho", "naskh", "myungjo", "batang", "song", "ming"]
                    .iter()
                    .any(|w| words.contains(w))
                {
                    2
                } else {
                    1
                };
                Some(Found {
                    id: f.id,
                    family,
                    path,
                    index: f.index,
                    weight: f.weight.0,
                    upright: f.style == fontdb::Style::Normal,
                    normal_width: f.stretch == fontdb::Stretch::Normal,
                    mono: f.monospaced,
                    serif,
                    cmap: OnceLock::new(),
                })
            })
            .collect();
        found.sort_by(|a, b| (&a.family, &a.path, a.index).cmp(&(&b.family, &b.path, b.index)));
        let order_for = |weight: u16| {
            let mut idx: Vec<usize> = (0..found.len()).collect();
            idx.sort_by_key(|&i| {
                let f = &found[i];
                (!f.upright, f.weight.abs_diff(weight), !f.normal_width, f.mono, f.serif, i)
            });
            idx
        };
        let order = [order_for(400), order_for(700)];
        SystemFonts { db, found, order }
    }

    /// Indexes into `found`, best first, for `bold` or regular text.
    pub fn order(&self, bold: bool) -> &[usize] {
        &self.order[usize::from(bold)]
    }

    /// Whether face `i` maps `c` to a glyph.
    pub fn has(&self, i: usize, c: char) -> bool {
        let f = &self.found[i];
        let cmap = f.cmap.get_or_init(|| {
            self.db
                .with_face_data(f.id, |data, index| {
                    let mut cps = Vec::new();
                    if let Ok(face) = rustybuzz::ttf_parser::Face::parse(data, index)
                        && let Some(cmap) = face.tables().cmap
                    {
                        for sub in cmap.subtables.into_iter().filter(|s| s.is_unicode()) {
                            sub.codepoints(|cp| {
                                if sub.glyph_index(cp).is_some_and(|g| g.0 != 0) {
                                    cps.push(cp);
                                }
                            });
                        }
                    }
                    cps.sort_unstable();
                    cps.dedup();
                    cps
                })
                .unwrap_or_default()
        });
        cmap.binary_search(&(c as u32)).is_ok()
    }

    /// The bytes of face `i`'s file and the face's index in it.
    pub fn bytes(&self, i: usize) -> Option<(Vec<u8>, u32)> {
        self.db.with_face_data(self.found[i].id, |data, index| (data.to_vec(), index))
    }
}
