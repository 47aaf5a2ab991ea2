//! Size limits and the guard around the spreadsheet readers: [`Limits`] (file size,
//! zip bombs, sheet size), the zip-based workbook check run before calamine inflates a
//! file (declared and real uncompressed size, ratio, and for .ods a streaming scan of
//! content.xml), and [`guarded`], which turns a reader's panic into an unreadable file.
//!
//! Imports zip and quick-xml (ingest only) and its ingest siblings; nothing else.

use std::path::Path;

use super::IngestError;
use super::table::column_letter;

/// Size limits for one inbox file, checked before and while it is read, so that a zip
/// bomb or an absurd sheet is refused in bounded time and memory (config `[ingest]`:
/// `max_file_mb`, `max_unzipped_mb`, `max_zip_ratio`, `max_rows`, `max_columns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file on disk, in bytes.
    pub max_file_bytes: u64,
    /// Largest total uncompressed size of a zip-based workbook (.xlsx, .xlsm, .xlsb,
    /// .ods), in bytes, as declared in the central directory and as really inflated.
    pub max_unzipped_bytes: u64,
    /// Largest ratio of uncompressed size to file size for a zip-based workbook.
    pub max_zip_ratio: u64,
    /// Highest row number (1-based, as Excel shows it) that may hold data.
    pub max_rows: u32,
    /// Highest column number (1-based: A = 1) that may hold data.
    pub max_columns: u32,
    /// Most cells one sheet may span (its rows × columns, each row counted from column A
    /// to its last cell), which bounds the memory a sheet takes (.ods and .xls readers
    /// hold the whole rectangle).
    pub max_cells: u64,
    /// Most cells filled from merged blocks per sheet (a merge such as A1:XFD1048576
    /// would otherwise fill a billion).
    pub max_merged_cells: u64,
}

impl Default for Limits {
    /// 100 MB file, 1000 MB unzipped, ratio 1000, 1,048,576 rows (Excel's own limit),
    /// 1000 columns, 20,000,000 cells, 2,000,000 merged cells.
    fn default() -> Self {
        Limits {
            max_file_bytes: 100 * MB,
            max_unzipped_bytes: 1000 * MB,
            max_zip_ratio: 1000,
            max_rows: 1_048_576,
            max_columns: 1000,
            max_cells: 20_000_000,
            max_merged_cells: 2_000_000,
        }
    }
}

pub(super) const MB: u64 = 1024 * 1024;

/// An [`IngestError::OverLimit`]: `what` was found, `limit` is the limit, `key` its
/// config key under `[ingest]`.
pub(super) fn over(what: String, limit: String, key: &'static str) -> IngestError {
    IngestError::OverLimit { what, limit, key }
}

/// `bytes` in megabytes, e.g. "12.5 MB".
pub(super) fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / MB as f64)
}

thread_local! {
    /// Set while [`guarded`] runs a read on this thread: its panics are not printed.
    static IN_GUARDED_READ: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Where the last panic caught by [`guarded`] on this thread was raised: (file, line)
    /// of its `Location`, recorded by the panic hook.
    static PANIC_AT: std::cell::RefCell<Option<(String, u32)>> = const { std::cell::RefCell::new(None) };
}

/// The crates whose panics on a malformed file are the spreadsheet readers' own:
/// calamine and what it parses with (their source folders are `NAME-VERSION`).
const READER_CRATES: [&str; 9] =
    ["calamine", "zip", "quick-xml", "codepage", "encoding_rs", "byteorder", "atoi_simd", "fast-float2", "flate2"];

/// Whether a panic raised at `file` (a panic `Location`'s path) is a spreadsheet reader's
/// own: a source file of one of [`READER_CRATES`] (an absolute path into cargo's
/// registry, `…/calamine-0.38.0/src/xlsx/mod.rs`). quotad's own files are relative
/// (`src/ingest/table.rs`); any other location (the standard library, another crate)
/// is not a reader's either.
fn is_reader_source(file: &str) -> bool {
    Path::new(file).components().any(|c| {
        let dir = c.as_os_str().to_string_lossy();
        READER_CRATES.iter().any(|k| {
            dir.strip_prefix(k)
                .and_then(|v| v.strip_prefix('-'))
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
    })
}

/// Runs a read, turning a panic inside it into an error, so that one file never stops the
/// daemon: a spreadsheet reader's panic (a reader bug on a malformed file) into
/// [`IngestError::Unreadable`], any other — quotad's own code — into [`IngestError::Bug`],
/// naming where it happened. The process's panic hook is wrapped once so that such a
/// caught panic is not printed as if the program had crashed, and records where it was
/// raised; every other panic is printed as before.
pub(super) fn guarded<T>(read: impl FnOnce() -> Result<T, IngestError>) -> Result<T, IngestError> {
    static WRAP_HOOK: std::sync::Once = std::sync::Once::new();
    WRAP_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_GUARDED_READ.with(|q| q.get()) {
                let at = info.location().map(|l| (l.file().to_string(), l.line()));
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
    PANIC_AT.with(|p| p.borrow_mut().take());
    IN_GUARDED_READ.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    IN_GUARDED_READ.with(|q| q.set(false));
    result.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let what = what.lines().next().unwrap_or_default().to_string();
        match PANIC_AT.with(|p| p.borrow_mut().take()) {
            Some((file, line)) if !is_reader_source(&file) => {
                Err(IngestError::Bug { message: what, location: format!("{file}:{line}") })
            }
            // A reader's panic, or one whose location the hook did not see (another hook
            // was installed after ours): the reader's message, as before.
            _ => Err(IngestError::Unreadable {
                reason: format!(
                    "the spreadsheet reader failed on this file ({what}); it is probably damaged: open it in a spreadsheet program and save it again"
                ),
            }),
        }
    })
}

/// Checks a zip-based workbook before calamine inflates it: the total uncompressed size
/// and its ratio to the file size, as declared in the central directory (the zip reader
/// refuses an entry that inflates past its declared size), or, when some entry's size
/// is not declared, as counted while inflating each entry into a sink, stopping at the
/// limit. For .ods, also scans
/// content.xml (streaming) for data beyond the row/column limits (e.g. a row with
/// content and `table:number-rows-repeated="1048576"`) and for merged blocks, which
/// are returned as notes.
pub(super) fn check_zip(path: &Path, size: u64, ods: bool, limits: &Limits) -> Result<Vec<String>, IngestError> {
    let bad = |e: &dyn std::fmt::Display| IngestError::Unreadable {
        reason: format!("not a valid zip archive, as .xlsx, .xlsm, .xlsb and .ods files are: {e}"),
    };
    let file = std::fs::File::open(path).map_err(|e| IngestError::Unreadable { reason: e.to_string() })?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| bad(&e))?;
    let ratio_error = |total: u64| {
        over(
            format!(
                "the workbook inflates to {} from {} ({}:1; a zip bomb?)",
                mb(total),
                mb(size),
                total / size.max(1)
            ),
            format!("{}:1", limits.max_zip_ratio),
            "max_zip_ratio",
        )
    };
    let size_error = |total: u64, how: &str| {
        over(
            format!("the workbook {how} {} uncompressed (a zip bomb?)", mb(total)),
            mb(limits.max_unzipped_bytes),
            "max_unzipped_mb",
        )
    };
    match zip.decompressed_size() {
        // Every entry declares its size, and the zip reader (calamine's too) stops with an
        // error at an entry that inflates past it: the declared total is a true bound.
        Some(declared) => {
            let declared = u64::try_from(declared).unwrap_or(u64::MAX);
            if declared > limits.max_unzipped_bytes {
                return Err(size_error(declared, "declares"));
            }
            if declared / size.max(1) > limits.max_zip_ratio {
                return Err(ratio_error(declared));
            }
        }
        // Some entry's size is unknown (a data descriptor): count what comes out.
        None => {
            let mut total = 0u64;
            for i in 0..zip.len() {
                let mut entry = zip.by_index(i).map_err(|e| bad(&e))?;
                let budget = limits.max_unzipped_bytes - total;
                let n = std::io::copy(&mut std::io::Read::take(&mut entry, budget + 1), &mut std::io::sink())
                    .map_err(|e| bad(&e))?;
                total += n;
                if total > limits.max_unzipped_bytes {
                    return Err(size_error(total, "inflates to more than"));
                }
            }
            if total / size.max(1) > limits.max_zip_ratio {
                return Err(ratio_error(total));
            }
        }
    }
    if !ods {
        return Ok(Vec::new());
    }
    let content = zip.by_name("content.xml").map_err(|e| bad(&format!("content.xml: {e}")))?;
    scan_ods(std::io::BufReader::new(content), limits)
}

/// Streams an ODS content.xml: errors if a sheet has data below `max_rows` or right of
/// `max_columns` (counting `number-rows-repeated` / `number-columns-repeated`, which
/// calamine expands into memory); returns a note per sheet with merged blocks.
fn scan_ods(reader: impl std::io::BufRead, limits: &Limits) -> Result<Vec<String>, IngestError> {
    use quick_xml::events::Event;
    let mut xml = quick_xml::Reader::from_reader(reader);
    let bad = |e: &dyn std::fmt::Display| IngestError::Unreadable { reason: format!("ODS content.xml: {e}") };
    let attr = |e: &quick_xml::events::BytesStart, name: &str| -> Option<String> {
        e.attributes().flatten().find(|a| a.key.as_ref() == name).map(|a| a.value.to_string())
    };
    let count = |v: Option<String>| v.map(|v| v.trim().parse::<u64>().unwrap_or(u64::MAX)).unwrap_or(1);
    let (max_rows, max_cols) = (u64::from(limits.max_rows), u64::from(limits.max_columns));
    let mut notes = Vec::new();
    let (mut sheet, mut row, mut row_rep, mut row_has, mut col) = (String::new(), 0u64, 1u64, false, 0u64);
    let (mut merged, mut first_merge) = (0usize, String::new());
    // The rectangle calamine will hold: from the first row with data, as wide as the widest.
    let (mut widest, mut first_row) = (0u64, None::<u64>);
    let mut buf = Vec::new();
    loop {
        let ev = xml.read_event_into(&mut buf).map_err(|e| bad(&e))?;
        let (e, empty) = match &ev {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                match e.name().as_ref() {
                    "table:table-row" => {
                        if row_has {
                            let last = row.saturating_add(row_rep);
                            first_row.get_or_insert(row);
                            let spans = (last - first_row.unwrap_or(0)).saturating_mul(widest);
                            if spans > limits.max_cells && last <= max_rows {
                                return Err(over(
                                    format!(
                                        "sheet '{sheet}' spans {spans} cells when its repeated rows and columns are expanded (rows {} to {last} × {widest} columns)",
                                        first_row.unwrap_or(0) + 1
                                    ),
                                    format!("{} cells", limits.max_cells),
                                    "max_cells",
                                ));
                            }
                            if last > max_rows {
                                return Err(over(
                                    format!(
                                        "sheet '{sheet}' has data down to row {last} (row {} is repeated {row_rep} times)",
                                        row + 1
                                    ),
                                    format!("{max_rows} rows"),
                                    "max_rows",
                                ));
                            }
                        }
                        row = row.saturating_add(row_rep);
                    }
                    "table:table" if merged > 0 => notes.push(format!(
                        "sheet '{sheet}' has {merged} merged block(s), the first at {first_merge}: in .ods files only the first cell of a merged block holds its value (save as .xlsx to have blocks filled)"
                    )),
                    _ => {}
                }
                buf.clear();
                continue;
            }
            Event::Eof => break,
            _ => {
                buf.clear();
                continue;
            }
        };
        match e.name().as_ref() {
            "table:table" => {
                sheet = attr(e, "table:name").unwrap_or_default();
                (row, merged, widest, first_row) = (0, 0, 0, None);
            }
            "table:table-row" => {
                (row_rep, row_has, col) = (count(attr(e, "table:number-rows-repeated")), false, 0);
                if empty {
                    row = row.saturating_add(row_rep);
                }
            }
            name @ ("table:table-cell" | "table:covered-table-cell") => {
                let rep = count(attr(e, "table:number-columns-repeated"));
                let spans =
                    ["table:number-rows-spanned", "table:number-columns-spanned"].iter().any(|k| count(attr(e, k)) > 1);
                if spans {
                    if merged == 0 {
                        first_merge = format!("{}{}", column_letter(col.min(1 << 20) as usize), row + 1);
                    }
                    merged += 1;
                }
                let content = name == "table:table-cell" && (!empty || attr(e, "office:value-type").is_some());
                if content {
                    row_has = true;
                    let last = col.saturating_add(rep);
                    widest = widest.max(last);
                    if last > max_cols {
                        return Err(over(
                            format!("sheet '{sheet}' has data in column {last} of row {}", row + 1),
                            format!("{max_cols} columns"),
                            "max_columns",
                        ));
                    }
                }
                col = col.saturating_add(rep);
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_quotads_own_code_is_a_bug_named_by_its_location() {
        let line = line!() + 1;
        let r: Result<(), IngestError> = guarded(|| panic!("index 7 out of range"));
        match r {
            Err(IngestError::Bug { message, location }) => {
                assert_eq!(message, "index 7 out of range");
                assert_eq!(location, format!("src/ingest/limits.rs:{line}"));
            }
            other => panic!("expected IngestError::Bug, got {other:?}"),
        }
        // The message tells the operator it is not the file's fault.
        let e = IngestError::Bug { message: "boom".into(), location: "src/ingest/rows.rs:12".into() };
        assert_eq!(
            e.to_string(),
            "quotad failed while reading this file (boom, at src/ingest/rows.rs:12): a bug in quotad, not in the file; nothing from it was stored. Please report it with the file"
        );
    }

    #[test]
    fn reader_crates_are_told_from_quotad_and_the_rest_by_the_location_path() {
        let registry = "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f";
        for reader in ["calamine-0.38.0/src/xlsx/mod.rs", "zip-9.0.1/src/read.rs", "quick-xml-0.38.4/src/reader/mod.rs"]
        {
            assert!(is_reader_source(&format!("{registry}/{reader}")), "{reader}");
        }
        for other in [
            "src/ingest/table.rs".to_string(),
            "/rustc/4eb161250e340c8f48f66e2b929ef4a5bed7c181/library/core/src/option.rs".to_string(),
            format!("{registry}/rust_decimal-1.39.0/src/decimal.rs"),
            // A crate whose name only begins like a reader's is not one.
            format!("{registry}/zipper-1.0.0/src/lib.rs"),
        ] {
            assert!(!is_reader_source(&other), "{other}");
        }
    }
}
