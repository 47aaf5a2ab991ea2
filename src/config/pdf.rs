//! `[pdf]`: paper size, fallback fonts, how 1:1 sheets are mailed and the months of the
//! 1:1 sheet's trend.
//!
//! Validates into the report stage's own [`report::PdfSettings`]; imports `report`'s
//! settings types and serde/toml, nothing else.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::report;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPdf {
    paper: report::Paper,
    fallback_fonts: Vec<PathBuf>,
    system_fonts: bool,
    one_on_one_mail: report::OneOnOneMail,
    trend_months: Spanned<u32>,
    attach_deals_xlsx: bool,
}

impl Default for RawPdf {
    fn default() -> Self {
        RawPdf {
            paper: report::Paper::default(),
            fallback_fonts: Vec::new(),
            system_fonts: true,
            one_on_one_mail: report::OneOnOneMail::default(),
            trend_months: Spanned::new(0..0, 6),
            attach_deals_xlsx: false,
        }
    }
}

/// Validates `[pdf]`; font paths are resolved by `abs` (against the config file's folder).
pub(super) fn settings(
    raw: &RawPdf,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
    abs: &dyn Fn(&Path) -> PathBuf,
) -> Result<report::PdfSettings, ConfigError> {
    let trend_months = *raw.trend_months.get_ref();
    if !(2..=12).contains(&trend_months) {
        return Err(err(
            raw.trend_months.span(),
            format!("pdf.trend_months: {trend_months} must be 2 to 12 (months in the 1:1 sheet's trend)"),
        ));
    }
    Ok(report::PdfSettings {
        paper: raw.paper,
        fallback_fonts: raw.fallback_fonts.iter().map(|p| abs(p)).collect(),
        system_fonts: raw.system_fonts,
        one_on_one_mail: raw.one_on_one_mail,
        trend_months,
        attach_deals_xlsx: raw.attach_deals_xlsx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{MINIMAL, parse};

    #[test]
    fn pdf_settings_default_and_validate() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.pdf.paper, report::Paper::A4);
        assert_eq!(c.pdf.trend_months, 6);
        assert_eq!(c.pdf.one_on_one_mail, report::OneOnOneMail::Pack);
        assert!(!c.pdf.attach_deals_xlsx, "off unless asked for");
        assert!(c.pdf.system_fonts, "the system's fonts are searched by default");
        assert!(!parse(&format!("{MINIMAL}\n[pdf]\nsystem_fonts = false\n")).unwrap().pdf.system_fonts);
        assert_eq!(c.paths.reports, PathBuf::from("/srv/quotad/reports"));
        let c = parse(&format!(
            "{MINIMAL}\n[pdf]\npaper = \"letter\"\nfallback_fonts = [\"fonts/x.ttf\"]\none_on_one_mail = \"per_rep\"\nattach_deals_xlsx = true\n"
        ))
        .unwrap();
        assert_eq!(c.pdf.paper, report::Paper::Letter);
        assert_eq!(c.pdf.fallback_fonts, vec![PathBuf::from("/srv/quotad/fonts/x.ttf")]);
        assert_eq!(c.pdf.one_on_one_mail, report::OneOnOneMail::PerRep);
        assert!(c.pdf.attach_deals_xlsx);
        let e = parse(&format!("{MINIMAL}\n[pdf]\ntrend_months = 13\n")).unwrap_err();
        assert!(e.message.contains("pdf.trend_months"), "{e}");
        assert_eq!(e.line, Some(18));
        let e = parse(&format!("{MINIMAL}\n[pdf]\npaper = \"a5\"\n")).unwrap_err();
        assert!(e.message.contains("a4") && e.message.contains("letter"), "{e}");
    }
}
