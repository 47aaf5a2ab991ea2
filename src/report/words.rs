//! The org's language (config `org.language`, issue 20): which language the memos and
//! documents are written in, and the catalog of short strings that Rust code puts on
//! them (PDF headings and table headers, celebration labels, "no quota", …).
//!
//! A catalog is a TOML file of `key = "text"` entries, grouped in tables (`[pdf]
//! rank = "Rank"` is the key `pdf.rank`). `{name}` in a text is filled by the code
//! (`{n}`, `{month}`, …); a text whose wording depends on a count is a table of CLDR
//! plural categories (`months = { one = "{n} month", other = "{n} months" }`), chosen by
//! ICU4X's plural rules for the language (French says "0 mois", "1 erreur", "0 erreur").
//! English is `templates/strings.toml`; another language is `templates/<lang>/strings.toml`,
//! bundled for de, fr and es, or in the operator's `paths.templates` folder (which also
//! overrides a bundled one key by key). A key a language lacks is taken from English and
//! listed by [`Words::missing`] (`quotad check` names each).
//!
//! Imports `toml` (catalog files) and ICU4X plural rules; nothing else of quotad.

use std::collections::BTreeMap;
use std::path::Path;

use icu_plurals::{PluralCategory, PluralRules};

/// The languages quotad ships templates and a catalog for.
pub const BUNDLED: &[&str] = &["en", "de", "fr", "es"];

/// The bundled catalogs: (language, text).
const CATALOGS: &[(&str, &str)] = &[
    ("en", include_str!("../../templates/strings.toml")),
    ("de", include_str!("../../templates/de/strings.toml")),
    ("fr", include_str!("../../templates/fr/strings.toml")),
    ("es", include_str!("../../templates/es/strings.toml")),
];

/// How the org's language was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LanguageFrom {
    /// Set by `org.language`.
    Configured,
    /// `org.language` unset: the language of `org.locale`, which has templates.
    Locale,
    /// `org.language` unset and `org.locale`'s language (named) has no templates, bundled
    /// or in `paths.templates`: English is used, and `check` and every run say so.
    EnglishFallback(String),
}

/// The language memos and documents are written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language {
    /// ISO 639 code, lower case: "en", "de", "fr", "es", or an operator's own folder name.
    pub code: String,
    /// How it was chosen.
    pub from: LanguageFrom,
}

impl Language {
    /// English, as for a config without `org.language` and an English locale.
    pub fn english() -> Language {
        Language { code: "en".into(), from: LanguageFrom::Locale }
    }

    /// Chooses the language: `configured` (`org.language`) if given, else the language of
    /// `locale` (a BCP 47 tag), else English when that language has no templates.
    /// A language has templates when it is bundled ([`BUNDLED`]) or `templates` (the
    /// operator's `paths.templates`) has a folder of that name.
    ///
    /// Errors: a configured language with no templates, as a sentence naming what exists.
    pub fn choose(configured: Option<&str>, locale: &str, templates: Option<&Path>) -> Result<Language, String> {
        let has = |code: &str| BUNDLED.contains(&code) || templates.is_some_and(|d| d.join(code).is_dir());
        if let Some(c) = configured {
            let code = c.trim().to_ascii_lowercase();
            if code.is_empty() || !code.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(format!(
                    "'{c}' is not a language code such as en, de, fr or es (a BCP 47 language, without region)"
                ));
            }
            if !has(&code) {
                let folder = templates
                    .map(|d| d.join(&code).display().to_string())
                    .unwrap_or_else(|| format!("<paths.templates>/{code}"));
                return Err(format!(
                    "no templates for language '{code}': quotad ships {}; add them in a folder {folder} (see the README, \"The org's language\")",
                    BUNDLED.join(", ")
                ));
            }
            return Ok(Language { code, from: LanguageFrom::Configured });
        }
        let language = locale.split(['-', '_']).next().unwrap_or("en").to_ascii_lowercase();
        if has(&language) {
            Ok(Language { code: language, from: LanguageFrom::Locale })
        } else {
            Ok(Language { code: "en".into(), from: LanguageFrom::EnglishFallback(language) })
        }
    }

    /// One line for `check` and the run summaries: "de (from org.locale de-DE)", or why
    /// the memos are in English.
    pub fn describe(&self, locale: &str) -> String {
        match &self.from {
            LanguageFrom::Configured => format!("{} (org.language)", self.code),
            LanguageFrom::Locale => format!("{} (from org.locale {locale})", self.code),
            LanguageFrom::EnglishFallback(l) => format!(
                "en: org.locale {locale}'s language '{l}' has no templates (quotad ships {}), so memos and documents are in English; add a folder <paths.templates>/{l}/ or set org.language",
                BUNDLED.join(", ")
            ),
        }
    }
}

/// A catalog entry: one text, or one per CLDR plural category.
#[derive(Debug, Clone)]
enum Entry {
    Text(String),
    Plural(BTreeMap<String, String>),
}

/// Why a catalog could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {detail}")]
pub struct WordsError {
    /// The catalog file.
    pub file: String,
    /// What is wrong (TOML error with its line, or the key).
    pub detail: String,
}

/// The org language's short strings, over English.
#[derive(Debug, Clone)]
pub struct Words {
    language: Language,
    own: BTreeMap<String, Entry>,
    english: BTreeMap<String, Entry>,
    plurals: Option<std::sync::Arc<PluralRules>>,
    missing: Vec<String>,
}

fn parse(text: &str, file: &str) -> Result<BTreeMap<String, Entry>, WordsError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| WordsError { file: file.into(), detail: e.to_string().trim().to_string() })?;
    let mut out = BTreeMap::new();
    fn walk(prefix: &str, t: &toml::Table, out: &mut BTreeMap<String, Entry>, file: &str) -> Result<(), WordsError> {
        for (k, v) in t {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                toml::Value::String(s) => {
                    out.insert(key, Entry::Text(s.clone()));
                }
                toml::Value::Table(t) if t.contains_key("other") => {
                    let mut forms = BTreeMap::new();
                    for (cat, text) in t {
                        let Some(text) = text.as_str() else {
                            return Err(WordsError {
                                file: file.into(),
                                detail: format!("{key}.{cat}: expected a string"),
                            });
                        };
                        forms.insert(cat.clone(), text.to_string());
                    }
                    out.insert(key, Entry::Plural(forms));
                }
                toml::Value::Table(t) => walk(&key, t, out, file)?,
                _ => return Err(WordsError { file: file.into(), detail: format!("{key}: expected a string") }),
            }
        }
        Ok(())
    }
    walk("", &table, &mut out, file)?;
    Ok(out)
}

fn bundled(code: &str) -> Option<&'static str> {
    CATALOGS.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
}

impl Default for Words {
    fn default() -> Words {
        Words::load(None, &Language::english()).expect("the bundled English catalog parses")
    }
}

impl Words {
    /// The catalog of `language`: English (bundled, then `<templates>/strings.toml`'s
    /// keys over it), and for another language its bundled catalog then
    /// `<templates>/<code>/strings.toml` over that.
    ///
    /// Errors: a catalog file that cannot be read or is not a catalog (named, with the line).
    pub fn load(templates: Option<&Path>, language: &Language) -> Result<Words, WordsError> {
        let read = |path: &Path| -> Result<Option<BTreeMap<String, Entry>>, WordsError> {
            if !path.is_file() {
                return Ok(None);
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| WordsError { file: path.display().to_string(), detail: e.to_string() })?;
            parse(&text, &path.display().to_string()).map(Some)
        };
        let mut english = parse(bundled("en").unwrap_or_default(), "templates/strings.toml")?;
        if let Some(over) = templates.map(|d| d.join("strings.toml")).as_deref().map(read).transpose()?.flatten() {
            english.extend(over);
        }
        let code = language.code.as_str();
        let mut own = BTreeMap::new();
        if code != "en" {
            if let Some(text) = bundled(code) {
                own = parse(text, &format!("templates/{code}/strings.toml"))?;
            }
            let file = templates.map(|d| d.join(code).join("strings.toml"));
            if let Some(over) = file.as_deref().map(read).transpose()?.flatten() {
                own.extend(over);
            }
        } else {
            own = english.clone();
        }
        let missing = english.keys().filter(|k| !own.contains_key(*k)).cloned().collect();
        let plurals = code
            .parse::<icu_locale_core::Locale>()
            .ok()
            .and_then(|l| PluralRules::try_new_cardinal((&l).into()).ok())
            .map(std::sync::Arc::new);
        Ok(Words { language: language.clone(), own, english, plurals, missing })
    }

    /// The language.
    pub fn language(&self) -> &Language {
        &self.language
    }

    /// The catalog keys this language lacks (English is used for each), sorted.
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

    fn entry(&self, key: &str) -> Option<&Entry> {
        self.own.get(key).or_else(|| self.english.get(key))
    }

    /// The text of `key` with each `{name}` in `args` filled in. A key no catalog has
    /// gives the key itself (a bug that `quotad check` and the tests find).
    pub fn text(&self, key: &str, args: &[(&str, &str)]) -> String {
        match self.entry(key) {
            Some(Entry::Text(t)) => fill(t, args),
            Some(Entry::Plural(forms)) => fill(forms.get("other").map_or(key, String::as_str), args),
            None => key.to_string(),
        }
    }

    /// The text of `key` for the count `n` (its CLDR plural form in the language), with
    /// `{n}` and each `{name}` in `args` filled in.
    pub fn count(&self, key: &str, n: u64, args: &[(&str, &str)]) -> String {
        let category = self.plurals.as_ref().map(|r| r.category_for(n)).unwrap_or(if n == 1 {
            PluralCategory::One
        } else {
            PluralCategory::Other
        });
        let name = match category {
            PluralCategory::Zero => "zero",
            PluralCategory::One => "one",
            PluralCategory::Two => "two",
            PluralCategory::Few => "few",
            PluralCategory::Many => "many",
            PluralCategory::Other => "other",
        };
        let n_text = n.to_string();
        let mut all: Vec<(&str, &str)> = vec![("n", &n_text)];
        all.extend_from_slice(args);
        let forms = match self.own.get(key) {
            Some(Entry::Plural(f)) => Some(f),
            _ => match self.english.get(key) {
                Some(Entry::Plural(f)) => Some(f),
                _ => None,
            },
        };
        match forms {
            Some(f) => fill(f.get(name).or_else(|| f.get("other")).map_or(key, String::as_str), &all),
            None => self.text(key, &all),
        }
    }
}

/// `text` with each `{name}` replaced by its value in `args`.
fn fill(text: &str, args: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(code: &str) -> Language {
        Language { code: code.into(), from: LanguageFrom::Configured }
    }

    #[test]
    fn the_language_defaults_from_the_locale() {
        assert_eq!(
            Language::choose(None, "de-DE", None).unwrap(),
            Language { code: "de".into(), from: LanguageFrom::Locale }
        );
        assert_eq!(Language::choose(None, "fr-CA", None).unwrap().code, "fr");
        assert_eq!(Language::choose(None, "es-MX", None).unwrap().code, "es");
        assert_eq!(Language::choose(None, "en-GB", None).unwrap().code, "en");
        // Japanese has no templates: English, and it says so.
        let ja = Language::choose(None, "ja-JP", None).unwrap();
        assert_eq!(ja, Language { code: "en".into(), from: LanguageFrom::EnglishFallback("ja".into()) });
        assert!(
            ja.describe("ja-JP").starts_with("en: org.locale ja-JP's language 'ja' has no templates"),
            "{}",
            ja.describe("ja-JP")
        );
        // Configured wins over the locale; one without templates is refused, naming them.
        assert_eq!(Language::choose(Some("es"), "de-DE", None).unwrap().code, "es");
        let e = Language::choose(Some("it"), "it-IT", None).unwrap_err();
        assert!(e.starts_with("no templates for language 'it': quotad ships en, de, fr, es"), "{e}");
        assert!(Language::choose(Some("de-DE"), "de-DE", None).is_err());
    }

    #[test]
    fn every_bundled_catalog_has_every_english_key() {
        for code in ["de", "fr", "es"] {
            let w = Words::load(None, &lang(code)).unwrap();
            assert!(w.missing().is_empty(), "{code} lacks {:?}", w.missing());
            // And no key English lacks (a typo would never be used).
            let extra: Vec<&String> = w.own.keys().filter(|k| !w.english.contains_key(*k)).collect();
            assert!(extra.is_empty(), "{code} has keys English lacks: {extra:?}");
        }
    }

    #[test]
    fn every_bundled_language_has_every_template_and_they_render() {
        for code in ["de", "fr", "es"] {
            for name in crate::report::TRANSLATED {
                let found = crate::report::builtin_translations().iter().any(|(l, n, _)| *l == code && n == name);
                assert!(found, "{code} lacks {name}");
            }
            let t = crate::report::Templates::load(None, code).unwrap();
            assert!(t.missing.is_empty(), "{code}: {:?}", t.missing);
            crate::report::render_document_samples(&t).unwrap();
        }
        assert_eq!(crate::report::Templates::load(None, "it").unwrap().missing.len(), crate::report::TRANSLATED.len());
    }

    #[test]
    fn plural_forms_follow_cldr() {
        let en = Words::default();
        assert_eq!(en.count("plural.months", 1, &[]), "1 month");
        assert_eq!(en.count("plural.months", 0, &[]), "0 months");
        let fr = Words::load(None, &lang("fr")).unwrap();
        // French: 0 and 1 take the singular.
        assert_eq!(fr.count("plural.errors", 0, &[]), "0 erreur");
        assert_eq!(fr.count("plural.errors", 2, &[]), "2 erreurs");
        let de = Words::load(None, &lang("de")).unwrap();
        assert_eq!(de.count("plural.months", 3, &[]), "3 Monate");
        assert_eq!(de.text("col.rank", &[]), "Rang");
        assert_eq!(en.text("no.such.key", &[]), "no.such.key");
    }
}
