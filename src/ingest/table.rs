//! Files -> a grid of cells with Excel row numbers: spreadsheets through calamine,
//! CSV/TSV through the csv crate (UTF-8 with or without BOM, else Windows-1252;
//! `,`, `;` or tab delimiter, sniffed). Reading happens behind `limits` (size and
//! zip-bomb checks, the panic guard).
//!
//! Imports calamine, csv, encoding_rs, chrono, zip and memchr, and its ingest siblings;
//! nothing else.

use std::collections::BTreeMap;
use std::path::Path;

use calamine::{Data, DataRef, Reader, Sheets, open_workbook_auto};
use chrono::NaiveDateTime;

use super::IngestError;
use super::limits::{Limits, check_zip, guarded, mb, over};

/// One cell, reduced to what quotad reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing in the cell (or only whitespace).
    Empty,
    /// Text, as stored (untrimmed).
    Text(String),
    /// A number (integers too). In a date column this is an Excel serial.
    Number(f64),
    /// A boolean cell.
    Bool(bool),
    /// A cell formatted as a date (epoch already applied).
    DateTime(NaiveDateTime),
    /// An error value such as `#VALUE!`.
    Error(String),
}

impl Cell {
    /// Whether the cell holds nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as a person would read it in a report: text trimmed, integers without
    /// `.0`, dates ISO.
    pub fn raw(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.trim().to_string(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Cell::DateTime(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Error(e) => e.clone(),
        }
    }
}

/// A row of cells with its Excel row number; `cells[0]` is column A.
#[derive(Debug, Clone)]
pub struct GridRow {
    /// 1-based row number as Excel shows it (for CSV: the line number).
    pub excel_row: u32,
    /// Cells by absolute column, A first.
    pub cells: Vec<Cell>,
}

impl GridRow {
    /// The cell in column `col` (0 = A), or Empty past the end.
    pub fn get(&self, col: usize) -> &Cell {
        self.cells.get(col).unwrap_or(&Cell::Empty)
    }
}

/// One sheet (or a CSV file) as rows of cells.
#[derive(Debug)]
pub struct Grid {
    /// Sheet name; empty for CSV.
    pub sheet: String,
    /// Non-empty rows in order.
    pub rows: Vec<GridRow>,
    /// Whether the workbook uses the 1904 date system (Mac Excel).
    pub epoch_1904: bool,
    /// Merged blocks (.xlsx, .xlsm, .xls; none for .ods and CSV), already filled.
    pub merges: Vec<Merge>,
}

impl Grid {
    /// Whether the cell at `excel_row` (1-based), `col` (0 = A) is a filled copy of a
    /// merged block's value from a cell to its left (so a merged header cell is one
    /// column, not two with the same name).
    pub fn is_merge_copy(&self, excel_row: u32, col: usize) -> bool {
        let (r, c) = (excel_row.saturating_sub(1), col as u32);
        self.merges.iter().any(|m| m.contains(r, c) && m.first.1 < c)
    }
}

/// A file's sheets, in workbook order (a CSV file has one, named "").
pub struct Workbook {
    /// The sheets.
    pub sheets: Vec<Grid>,
    /// Notes for the run report (e.g. a Windows-1252 fallback).
    pub notes: Vec<String>,
}

/// Column index (0 = A) to Excel letters: 0 -> "A", 27 -> "AB".
pub fn column_letter(mut col: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII letters")
}

/// Excel's error literals: a text cell that reads exactly one of these (a CSV export of a
/// failed formula, or a cached result written as text) is an error cell.
const ERROR_LITERALS: [&str; 8] = ["#VALUE!", "#DIV/0!", "#N/A", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#DATA!"];

/// Reads every sheet of a spreadsheet, or the one table of a CSV/TSV file.
/// `only_sheet` limits a workbook to the named sheet. A CSV/TSV file's text encoding is
/// detected (`encoding` = `None`) or configured (`Some`: UTF-8 then fails on an invalid
/// byte instead of falling back).
///
/// Merged blocks (.xlsx, .xlsm, .xls) are filled: every cell of the block holds the
/// top-left cell's value, and [`Grid::merges`] lists the blocks. ODS merged blocks are
/// not filled (calamine has no API for them): a note names the sheet and first block.
///
/// Errors: [`IngestError::OverLimit`] when the file breaks one of `limits` (checked
/// before calamine sees a zip-based file, and per cell while reading), else
/// [`IngestError::Unsupported`], [`IngestError::Unreadable`], [`IngestError::NoSuchSheet`].
pub fn read(
    path: &Path,
    only_sheet: Option<&str>,
    encoding: Option<&'static encoding_rs::Encoding>,
    limits: &Limits,
) -> Result<Workbook, IngestError> {
    let (ext, size) = precheck(path, limits)?;
    match ext.as_str() {
        "csv" | "tsv" | "txt" => read_csv(path, encoding, limits),
        "xlsx" | "xlsm" | "xlsb" | "ods" => {
            let notes = guarded(|| check_zip(path, size, ext == "ods", limits))?;
            let mut wb = guarded(|| read_workbook(path, only_sheet, limits))?;
            wb.notes.extend(notes);
            Ok(wb)
        }
        "xls" => guarded(|| read_workbook(path, only_sheet, limits)),
        _ => Err(IngestError::Unsupported { ext }),
    }
}

/// The file's extension (lower case) and size, after the checks made before a byte is
/// read: the size limit, and an empty file.
fn precheck(path: &Path, limits: &Limits) -> Result<(String, u64), IngestError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let size = std::fs::metadata(path).map_err(|e| IngestError::Unreadable { reason: e.to_string() })?.len();
    if size > limits.max_file_bytes {
        return Err(over(format!("the file is {}", mb(size)), mb(limits.max_file_bytes), "max_file_mb"));
    }
    if size == 0 {
        // Say so, rather than "no header row" or a zip library's "could not find EOCD".
        return Err(IngestError::Unreadable {
            reason: "the file is empty (0 bytes): an export that was interrupted or not saved".into(),
        });
    }
    Ok((ext, size))
}

/// An .xlsx/.xlsm workbook opened to be read sheet by sheet, row by row (see
/// [`open_stream`]).
pub(super) struct XlsxStream {
    wb: calamine::Xlsx<std::io::BufReader<std::fs::File>>,
    /// Whether the workbook uses the 1904 date system.
    pub(super) epoch_1904: bool,
    /// Notes from the zip checks, for the run report.
    pub(super) notes: Vec<String>,
}

/// Why a streamed read gave up: a file error, or a shape the row-by-row read does not
/// cover (then [`read`] reads the whole sheet instead).
#[derive(Debug)]
pub(super) enum StreamError {
    /// The file cannot be read, or breaks a limit: the same error [`read`] gives.
    Ingest(Box<IngestError>),
    /// A row came after a later one (Excel never writes that, other tools may): the
    /// sheet is read whole instead, where rows are sorted.
    OutOfOrder,
}

impl From<IngestError> for StreamError {
    fn from(e: IngestError) -> Self {
        StreamError::Ingest(Box::new(e))
    }
}

/// Opens an .xlsx/.xlsm file to be streamed: `Ok(None)` when the file is of another kind
/// or holds merged blocks (those need the whole sheet: [`read`] fills them), else the
/// workbook after the same checks as [`read`] (size, empty file, zip bomb).
///
/// Streaming reads a sheet's cells in file order and hands them out a row at a time
/// ([`SheetRows`]): the memory of a sheet is one row, not a grid of the whole sheet.
pub(super) fn open_stream(path: &Path, limits: &Limits) -> Result<Option<XlsxStream>, IngestError> {
    let (ext, size) = precheck(path, limits)?;
    if !matches!(ext.as_str(), "xlsx" | "xlsm") {
        return Ok(None);
    }
    let notes = guarded(|| check_zip(path, size, false, limits))?;
    if xlsx_without_merges(path) != Some(true) {
        return Ok(None);
    }
    let unreadable = |e: calamine::Error| IngestError::Unreadable { reason: e.to_string() };
    let wb = guarded(|| open_workbook_auto(path).map_err(unreadable))?;
    match wb {
        Sheets::Xlsx(wb) => Ok(Some(XlsxStream { epoch_1904: wb.has_1904_epoch(), wb, notes })),
        _ => Ok(None),
    }
}

impl XlsxStream {
    /// The sheet names, in workbook order.
    pub(super) fn sheet_names(&self) -> Vec<String> {
        self.wb.sheet_names()
    }

    /// The rows of sheet `name`, read as they are asked for.
    pub(super) fn rows<'a>(&'a mut self, name: &'a str, limits: &'a Limits) -> Result<SheetRows<'a>, IngestError> {
        let reader = self
            .wb
            .worksheet_cells_reader(name)
            .map_err(|e| IngestError::Unreadable { reason: calamine::Error::from(e).to_string() })?;
        let d = reader.dimensions();
        // The declared size (often wrong, e.g. A1:XFD1048576) is only a capacity hint for
        // the typed rows, never allocated here.
        let rows_hint = (d.end.0.saturating_sub(d.start.0) as usize + 1).min(limits.max_rows as usize).min(1 << 20);
        Ok(SheetRows { reader, sheet: name, limits, cur: None, slots: 0, width: 0, last: None, rows_hint, done: false })
    }
}

/// One sheet's rows, read a row at a time with the same limit checks as a whole-sheet
/// read (the same errors, naming the sheet and cell).
pub(super) struct SheetRows<'a> {
    reader: calamine::XlsxCellReader<'a, std::io::BufReader<std::fs::File>>,
    sheet: &'a str,
    limits: &'a Limits,
    /// The row being gathered: 0-based index and its cells.
    cur: Option<(u32, Vec<Cell>)>,
    /// Cell slots handed out so far (rows × their widths), against `max_cells`.
    slots: u64,
    /// The width of the row before: the capacity a new row starts with.
    width: usize,
    /// The 0-based index of the last row handed out.
    last: Option<u32>,
    /// The sheet's declared number of rows (capped): a capacity hint.
    pub(super) rows_hint: usize,
    /// The end of the sheet's cells was read.
    done: bool,
}

impl SheetRows<'_> {
    /// The next row holding a non-empty cell, or `None` at the end of the sheet.
    pub(super) fn next_row(&mut self) -> Result<Option<GridRow>, StreamError> {
        if self.done {
            return Ok(None);
        }
        loop {
            let next = self
                .reader
                .next_cell()
                .map_err(|e| IngestError::Unreadable { reason: calamine::Error::from(e).to_string() })?;
            let Some(c) = next else {
                self.done = true;
                return Ok(self.cur.take().map(|(r, cells)| GridRow { excel_row: r + 1, cells }));
            };
            let (row, col) = c.get_position();
            let cell = convert_ref(c.get_value());
            if cell == Cell::Empty {
                continue;
            }
            check_cell(self.sheet, self.limits, row, col)?;
            let done = match &self.cur {
                Some((r, _)) if *r == row => None,
                Some((r, _)) if *r > row => return Err(StreamError::OutOfOrder),
                _ if self.last.is_some_and(|l| l >= row) => return Err(StreamError::OutOfOrder),
                _ => {
                    let done = self.cur.take();
                    self.cur = Some((row, Vec::with_capacity(self.width)));
                    done
                }
            };
            let (_, cells) = self.cur.as_mut().expect("a row is being gathered");
            if cells.len() <= col as usize {
                self.width = col as usize + 1;
                self.slots += col as u64 + 1 - cells.len() as u64;
                if self.slots > self.limits.max_cells {
                    return Err(too_many_cells(self.sheet, self.limits, &cell_name(row, col)).into());
                }
                cells.resize(col as usize + 1, Cell::Empty);
            }
            cells[col as usize] = cell;
            if let Some((r, cells)) = done {
                self.last = Some(r);
                return Ok(Some(GridRow { excel_row: r + 1, cells }));
            }
        }
    }
}

/// "C12" for 0-based (row 11, column 2).
fn cell_name(row: u32, col: u32) -> String {
    format!("{}{}", column_letter(col as usize), u64::from(row) + 1)
}

/// The row and column limits for a non-empty cell at 0-based (row, col).
fn check_cell(sheet: &str, limits: &Limits, row: u32, col: u32) -> Result<(), IngestError> {
    if row >= limits.max_rows {
        return Err(over(
            format!("sheet '{sheet}' has data in row {} (cell {})", u64::from(row) + 1, cell_name(row, col)),
            format!("{} rows", limits.max_rows),
            "max_rows",
        ));
    }
    if col >= limits.max_columns {
        return Err(over(
            format!(
                "sheet '{sheet}' has data in column {} ({}, cell {})",
                col + 1,
                column_letter(col as usize),
                cell_name(row, col)
            ),
            format!("{} columns", limits.max_columns),
            "max_columns",
        ));
    }
    Ok(())
}

/// The `max_cells` error, at cell (or block) `at`.
fn too_many_cells(sheet: &str, limits: &Limits, at: &str) -> IngestError {
    over(
        format!("sheet '{sheet}' spans more than {} cells (rows × columns, at cell {at})", limits.max_cells),
        format!("{} cells", limits.max_cells),
        "max_cells",
    )
}

fn read_workbook(path: &Path, only_sheet: Option<&str>, limits: &Limits) -> Result<Workbook, IngestError> {
    let unreadable = |e: calamine::Error| IngestError::Unreadable { reason: e.to_string() };
    let mut wb = open_workbook_auto(path).map_err(unreadable)?;
    let epoch_1904 = match &wb {
        Sheets::Xlsx(x) => x.has_1904_epoch(),
        Sheets::Xls(x) => x.has_1904_epoch(),
        Sheets::Xlsb(x) => x.has_1904_epoch(),
        Sheets::Ods(_) => false,
    };
    let names = wb.sheet_names();
    if let Some(want) = only_sheet
        && !names.iter().any(|n| n == want)
    {
        return Err(IngestError::NoSuchSheet { sheet: want.into(), found: names });
    }
    let mut sheets = Vec::new();
    let mut no_merges: Option<Option<bool>> = None;
    for name in names {
        if only_sheet.is_some_and(|w| w != name) {
            continue;
        }
        let mut cells = SheetCells { sheet: &name, rows: BTreeMap::new(), slots: 0, width: 0, limits };
        let merges = match &mut wb {
            // .xlsx and .xlsb are streamed cell by cell: the declared dimension (often wrong, e.g. A1:XFD1048576)
            // is never used to allocate, and a cell past the limits stops the read at once.
            Sheets::Xlsx(x) => {
                let mut reader = x.worksheet_cells_reader(&name).map_err(|e| unreadable(e.into()))?;
                while let Some(c) = reader.next_cell().map_err(|e| unreadable(e.into()))? {
                    let (r, col) = c.get_position();
                    cells.put(r, col, convert_ref(c.get_value()))?;
                }
                drop(reader);
                // calamine finds merged blocks by parsing the whole sheet again (a sixth
                // of a file's read time); a sheet that never says "mergeCell" has none.
                if no_merges.get_or_insert_with(|| xlsx_without_merges(path)) == &Some(true) {
                    Vec::new()
                } else {
                    x.merge_cells_by_sheet_name(&name).map_err(|e| unreadable(e.into()))?
                }
            }
            Sheets::Xlsb(x) => {
                let mut reader = x.worksheet_cells_reader(&name).map_err(|e| unreadable(e.into()))?;
                while let Some(c) = reader.next_cell().map_err(|e| unreadable(e.into()))? {
                    let (r, col) = c.get_position();
                    cells.put(r, col, convert_ref(c.get_value()))?;
                }
                Vec::new()
            }
            other => {
                let range = other.worksheet_range(&name).map_err(unreadable)?;
                let (r0, c0) = range.start().unwrap_or((0, 0));
                for (r, c, v) in range.used_cells() {
                    cells.put(r0 + r as u32, c0 + c as u32, convert(v))?;
                }
                match other {
                    Sheets::Xls(x) => x.merge_cells_by_sheet_name(&name).map_err(|e| unreadable(e.into()))?,
                    _ => Vec::new(),
                }
            }
        };
        let merges: Vec<Merge> = merges
            .iter()
            .map(|d| Merge { first: (d.start.0, d.start.1), last: (d.end.0, d.end.1) })
            .filter(|m| m.first != m.last)
            .collect();
        cells.fill_merges(&merges)?;
        let rows = cells
            .rows
            .into_iter()
            .filter(|(_, row)| !row.iter().all(|c| matches!(c, Cell::Empty)))
            .map(|(r, cells)| GridRow { excel_row: r + 1, cells })
            .collect();
        sheets.push(Grid { sheet: name, rows, epoch_1904, merges });
    }
    Ok(Workbook { sheets, notes: Vec::new() })
}

/// Whether no worksheet of an .xlsx/.xlsm file holds a merged block: `Some(true)` when
/// the file has worksheet parts (`…/worksheets/….xml`) and none of them, inflated,
/// contains the bytes `mergeCell` (the element every merged block is written in, with or
/// without a namespace prefix); `Some(false)` when one does; `None` when the file cannot
/// be looked into this way (then calamine is asked, as before). One inflate and a
/// `memchr` search per sheet, about a third of what parsing the sheet's XML again costs.
fn xlsx_without_merges(path: &Path) -> Option<bool> {
    let file = std::fs::File::open(path).ok()?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).ok()?;
    let finder = memchr::memmem::Finder::new(b"mergeCell");
    let mut sheets = 0;
    let mut buf = vec![0u8; 256 * 1024];
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).ok()?;
        let name = entry.name().ok()?.to_ascii_lowercase();
        if !(name.contains("worksheets/") && name.ends_with(".xml")) {
            continue;
        }
        sheets += 1;
        if contains(&mut entry, &finder, &mut buf).ok()? {
            return Some(false);
        }
    }
    (sheets > 0).then_some(true)
}

/// Whether `reader` holds the bytes `finder` looks for, read in `buf`-sized blocks (a
/// match may straddle two blocks: the needle's length less one byte is carried over).
fn contains(
    reader: &mut impl std::io::Read,
    finder: &memchr::memmem::Finder<'_>,
    buf: &mut [u8],
) -> std::io::Result<bool> {
    let keep = finder.needle().len().saturating_sub(1);
    let mut held = 0;
    loop {
        let n = reader.read(&mut buf[held..])?;
        if n == 0 {
            return Ok(false);
        }
        let end = held + n;
        if finder.find(&buf[..end]).is_some() {
            return Ok(true);
        }
        let tail = end.min(keep);
        buf.copy_within(end - tail..end, 0);
        held = tail;
    }
}

/// One sheet's cells while it is read: rows by 0-based index, each dense from column A
/// to its last cell, with the number of cell slots held, checked against the limits.
struct SheetCells<'a> {
    sheet: &'a str,
    rows: BTreeMap<u32, Vec<Cell>>,
    slots: u64,
    /// The width of the row last grown, in cells: the capacity a new row starts with.
    width: usize,
    limits: &'a Limits,
}

impl SheetCells<'_> {
    /// Stores a non-empty cell at (row, col), 0-based, after checking the limits.
    fn put(&mut self, row: u32, col: u32, cell: Cell) -> Result<(), IngestError> {
        if cell == Cell::Empty {
            return Ok(());
        }
        check_cell(self.sheet, self.limits, row, col)?;
        let at = || cell_name(row, col);
        *self.slot(row, col, at)? = cell;
        Ok(())
    }

    /// The cell at (row, col), growing its row (and counting the slots) as needed.
    /// `at` names the cell (or block) for the error message.
    fn slot(&mut self, row: u32, col: u32, at: impl Fn() -> String) -> Result<&mut Cell, IngestError> {
        // A new row gets the width of the row written before it at once: growing it cell
        // by cell would leave it with up to twice the slots it uses (a third of a sheet's
        // memory). The previous row's slots are counted, so the hint is bounded too.
        let width = self.width;
        let r = self.rows.entry(row).or_insert_with(|| Vec::with_capacity(width));
        if r.len() <= col as usize {
            self.width = col as usize + 1;
            self.slots += col as u64 + 1 - r.len() as u64;
            if self.slots > self.limits.max_cells {
                return Err(too_many_cells(self.sheet, self.limits, &at()));
            }
            r.resize(col as usize + 1, Cell::Empty);
        }
        Ok(&mut r[col as usize])
    }

    /// Fills each merged block with its top-left value (blocks clipped to the row and
    /// column limits; at most `limits.max_merged_cells` cells per sheet).
    fn fill_merges(&mut self, merges: &[Merge]) -> Result<(), IngestError> {
        let limits = self.limits;
        let mut filled = 0u64;
        for m in merges {
            let top_left = self.rows.get(&m.first.0).and_then(|r| r.get(m.first.1 as usize)).cloned();
            let Some(value) = top_left.filter(|v| *v != Cell::Empty) else { continue };
            let last_row = m.last.0.min(limits.max_rows.saturating_sub(1));
            let last_col = m.last.1.min(limits.max_columns.saturating_sub(1));
            let size = (u64::from(last_row.saturating_sub(m.first.0)) + 1)
                * (u64::from(last_col.saturating_sub(m.first.1)) + 1);
            filled = filled.saturating_add(size);
            if filled > limits.max_merged_cells {
                return Err(over(
                    format!(
                        "the merged blocks of sheet '{}' cover {filled} cells or more (the last counted: {m})",
                        self.sheet
                    ),
                    format!("{} cells", limits.max_merged_cells),
                    "max_merged_cells",
                ));
            }
            let at = m.to_string();
            for r in m.first.0..=last_row {
                for c in m.first.1..=last_col {
                    let cell = self.slot(r, c, || at.clone())?;
                    if *cell == Cell::Empty {
                        *cell = value.clone();
                    }
                }
            }
        }
        Ok(())
    }
}

/// A merged block, 0-based (row, column) of its top-left and bottom-right cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    /// Top-left cell.
    pub first: (u32, u32),
    /// Bottom-right cell.
    pub last: (u32, u32),
}

impl Merge {
    /// Whether (row, col), 0-based, lies in the block.
    pub fn contains(&self, row: u32, col: u32) -> bool {
        (self.first.0..=self.last.0).contains(&row) && (self.first.1..=self.last.1).contains(&col)
    }
}

impl std::fmt::Display for Merge {
    /// As Excel writes it: "B2:D4".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = |(r, c): (u32, u32)| format!("{}{}", column_letter(c as usize), r + 1);
        write!(f, "{}:{}", a(self.first), a(self.last))
    }
}

/// [`convert`] for a streamed .xlsx/.xlsb cell, copying its text once (not via [`Data`]).
fn convert_ref(d: &DataRef<'_>) -> Cell {
    let text = |s: &str| {
        let t = s.trim();
        if ERROR_LITERALS.contains(&t) { Cell::Error(t.to_string()) } else { Cell::Text(s.to_string()) }
    };
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) => text(s),
        DataRef::SharedString(s) => text(s),
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) => convert(&Data::DateTime(*dt)),
        DataRef::DateTimeIso(s) => convert(&Data::DateTimeIso(s.clone())),
        DataRef::DurationIso(s) => Cell::Text(s.clone()),
        DataRef::Error(e) => Cell::Error(format!("{e}")),
    }
}

fn convert(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) if ERROR_LITERALS.contains(&s.trim()) => Cell::Error(s.trim().to_string()),
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(v) if dt.is_datetime() => Cell::DateTime(v),
            _ => Cell::Number(dt.as_f64()),
        },
        Data::DateTimeIso(s) => match NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        }) {
            Ok(v) => Cell::DateTime(v),
            Err(_) => Cell::Text(s.clone()),
        },
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(format!("{e}")),
    }
}

fn read_csv(
    path: &Path,
    encoding: Option<&'static encoding_rs::Encoding>,
    limits: &Limits,
) -> Result<Workbook, IngestError> {
    let bytes = std::fs::read(path).map_err(|e| IngestError::Unreadable { reason: e.to_string() })?;
    let mut notes = Vec::new();
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let utf16 = encoding.is_some_and(|e| e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE);
    let text = match utf16_mark(&bytes) {
        Some((enc, _)) if encoding.is_some() && !utf16 => {
            return Err(IngestError::Unreadable {
                reason: format!(
                    "the file starts with a {} byte-order mark, but the source's encoding is set to {}: set encoding = \"utf-16\" (or \"auto\")",
                    enc.name(),
                    encoding.map_or("auto", |e| e.name())
                ),
            });
        }
        Some((enc, rest)) => {
            if !utf16 {
                notes.push(format!("read as {} (the file starts with its byte-order mark)", enc.name()));
            }
            decode_utf16(enc, rest)?
        }
        None if utf16 => decode_utf16(encoding_rs::UTF_16LE, &bytes)?,
        None => decode_8bit(body, encoding, &mut notes)?,
    };
    let delimiter = sniff_delimiter(&text);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // Excel shows a quoted field with line breaks as one row: count rows, not lines.
    // (The csv crate's own line numbers skip blank lines, so count from byte offsets.)
    let mut embedded = 0u32;
    let mut slots = 0u64;
    let (mut counted_to, mut newlines) = (0usize, 0u32);
    for rec in reader.records() {
        let rec = rec.map_err(|e| IngestError::Unreadable { reason: format!("CSV: {e}") })?;
        let mut at = rec.position().map(|p| p.byte() as usize).unwrap_or(counted_to).min(text.len());
        // The position is where parsing resumed: skip the line breaks before the record.
        while at < text.len() && matches!(text.as_bytes()[at], b'\r' | b'\n') {
            at += 1;
        }
        newlines += text.as_bytes()[counted_to..at].iter().filter(|&&b| b == b'\n').count() as u32;
        counted_to = at;
        let line = newlines + 1 - embedded;
        embedded += rec.iter().map(|f| f.matches('\n').count() as u32).sum::<u32>();
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if line > limits.max_rows {
            return Err(over(
                format!("the file has data on row {line}"),
                format!("{} rows", limits.max_rows),
                "max_rows",
            ));
        }
        slots += rec.len() as u64;
        if slots > limits.max_cells {
            return Err(over(
                format!("the file spans more than {} cells (at row {line})", limits.max_cells),
                format!("{} cells", limits.max_cells),
                "max_cells",
            ));
        }
        if rec.len() > limits.max_columns as usize {
            return Err(over(
                format!("row {line} has {} columns", rec.len()),
                format!("{} columns", limits.max_columns),
                "max_columns",
            ));
        }
        let cells = rec
            .iter()
            .map(|f| match f.trim() {
                "" => Cell::Empty,
                t if ERROR_LITERALS.contains(&t) => Cell::Error(t.to_string()),
                _ => Cell::Text(f.to_string()),
            })
            .collect();
        rows.push(GridRow { excel_row: line, cells });
    }
    Ok(Workbook { sheets: vec![Grid { sheet: String::new(), rows, epoch_1904: false, merges: Vec::new() }], notes })
}

/// The UTF-16 encoding a byte-order mark at the start names, and the bytes after it.
fn utf16_mark(bytes: &[u8]) -> Option<(&'static encoding_rs::Encoding, &[u8])> {
    match bytes {
        [0xFF, 0xFE, rest @ ..] => Some((encoding_rs::UTF_16LE, rest)),
        [0xFE, 0xFF, rest @ ..] => Some((encoding_rs::UTF_16BE, rest)),
        _ => None,
    }
}

/// Decodes UTF-16 text (no mark); a broken surrogate pair or an odd byte makes the file
/// unreadable.
fn decode_utf16(enc: &'static encoding_rs::Encoding, bytes: &[u8]) -> Result<String, IngestError> {
    let (text, bad) = enc.decode_without_bom_handling(bytes);
    if bad {
        return Err(IngestError::Unreadable {
            reason: format!("not valid {} text (an odd number of bytes or a broken character)", enc.name()),
        });
    }
    Ok(text.into_owned())
}

/// Decodes UTF-8 (BOM already stripped) or, configured or detected, Windows-1252.
fn decode_8bit(
    body: &[u8],
    encoding: Option<&'static encoding_rs::Encoding>,
    notes: &mut Vec<String>,
) -> Result<String, IngestError> {
    Ok(match std::str::from_utf8(body) {
        _ if encoding.is_some_and(|e| e != encoding_rs::UTF_8) => {
            encoding.unwrap_or(encoding_rs::WINDOWS_1252).decode_without_bom_handling(body).0.into_owned()
        }
        Ok(s) => s.to_string(),
        Err(e) if encoding.is_some() => {
            return Err(IngestError::Unreadable {
                reason: format!(
                    "not valid UTF-8 (first bad byte at offset {}), and the encoding is set to UTF-8",
                    e.valid_up_to()
                ),
            });
        }
        Err(e) => {
            // UTF-8 in some places and not in others (a file pasted together from two
            // exports): decoding it all as Windows-1252 would garble the UTF-8 names
            // ("JosÃ©") and lose their rows to the roster match. Refuse, naming the line.
            let lossy = String::from_utf8_lossy(body);
            if let Some(ch) = lossy.chars().find(|c| !c.is_ascii() && *c != char::REPLACEMENT_CHARACTER) {
                let at = e.valid_up_to();
                let line = body[..at].iter().filter(|b| **b == b'\n').count() + 1;
                return Err(IngestError::Unreadable {
                    reason: format!(
                        "mixed text encodings: line {line} holds byte 0x{:02X}, which is not UTF-8, while other text is UTF-8 (e.g. '{ch}'); re-export the file as UTF-8 (or, if it is all Windows-1252, set the source's encoding = \"windows-1252\")",
                        body[at]
                    ),
                });
            }
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(body);
            notes.push(format!("not valid UTF-8 (first bad byte at offset {}); read as Windows-1252", e.valid_up_to()));
            s.into_owned()
        }
    })
}

/// Picks `,`, `;` or tab: the one that splits the most of the first lines into the
/// most fields (quoted text is not counted).
fn sniff_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(30).collect();
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'\t'] {
        let total: usize = lines
            .iter()
            .map(|l| {
                let mut quoted = false;
                l.bytes()
                    .filter(|&b| {
                        if b == b'"' {
                            quoted = !quoted;
                        }
                        b == d && !quoted
                    })
                    .count()
            })
            .sum();
        if total > best.1 {
            best = (d, total);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_merge_word_is_found_across_block_edges_and_not_where_it_is_absent() {
        let finder = memchr::memmem::Finder::new(b"mergeCell");
        // Every position of the word against 16-byte blocks: inside one, across two.
        for at in 0..40 {
            let mut text = [b'x'; 60];
            text[at..at + 9].copy_from_slice(b"mergeCell");
            let mut buf = [0u8; 16];
            assert!(contains(&mut &text[..], &finder, &mut buf).unwrap(), "word at {at}");
        }
        let mut buf = [0u8; 16];
        // Near misses, some across block edges: a prefix, a suffix, another case.
        let near = b"mergeCel ergeCell mergecell MERGECELL ".repeat(5);
        assert!(!contains(&mut &near[..], &finder, &mut buf).unwrap());
        let none = b"<row r=\"1\"><c r=\"A1\"><v>1</v></c></row>".repeat(100);
        assert!(!contains(&mut &none[..], &finder, &mut buf).unwrap());
    }

    #[test]
    fn a_workbook_without_merged_blocks_is_told_from_one_with_them_on_any_sheet() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, merge_on: Option<usize>| {
            let mut wb = rust_xlsxwriter::Workbook::new();
            for i in 0..2 {
                let ws = wb.add_worksheet();
                ws.write_string(0, 0, "Deal ID").unwrap();
                ws.write_string(1, 0, "D1").unwrap();
                if merge_on == Some(i) {
                    ws.merge_range(3, 0, 3, 2, "merged", &rust_xlsxwriter::Format::new()).unwrap();
                }
            }
            let path = dir.path().join(name);
            wb.save(&path).unwrap();
            path
        };
        assert_eq!(xlsx_without_merges(&write("plain.xlsx", None)), Some(true));
        assert_eq!(xlsx_without_merges(&write("first.xlsx", Some(0))), Some(false));
        assert_eq!(xlsx_without_merges(&write("second.xlsx", Some(1))), Some(false));
        let not_zip = dir.path().join("not.xlsx");
        std::fs::write(&not_zip, b"not a zip").unwrap();
        assert_eq!(xlsx_without_merges(&not_zip), None, "unreadable: calamine decides");
    }

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn csv_rows_are_counted_as_excel_shows_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, "Deal ID,Note\r\nX1,\"two\r\nlines\"\r\n\r\nX2,plain\r\n").unwrap();
        let g = &read(&p, None, None, &Limits::default()).unwrap().sheets[0];
        let rows: Vec<(u32, String)> = g.rows.iter().map(|r| (r.excel_row, r.get(0).raw())).collect();
        // Header row 1, X1 row 2 (its note spans two lines), a blank row 3, X2 row 4.
        assert_eq!(rows, vec![(1, "Deal ID".into()), (2, "X1".into()), (4, "X2".into())]);
    }

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter("a;b;c\n1;\"2,5\";3\n"), b';');
        assert_eq!(sniff_delimiter("Title, with comma\n\na,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter("a\tb\tc\n"), b'\t');
    }
}

/// Inputs outside the repository (the public samples): a test fails when one is
/// missing, unless `QUOTAD_ALLOW_SKIP=1`. The same file as the integration tests' helper.
#[cfg(test)]
#[path = "../../tests/integration/inputs.rs"]
mod inputs;

#[cfg(test)]
mod real_sample_tests {
    use super::*;

    fn sample(name: &str) -> Option<std::path::PathBuf> {
        super::inputs::sample(name)
    }

    fn dt(s: &str) -> Cell {
        Cell::DateTime(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap())
    }

    #[test]
    fn a_1904_workbook_gives_true_dates() {
        let Some(p) = sample("calamine_date_1904.xlsx") else { return };
        let wb = read(&p, None, None, &Limits::default()).unwrap();
        let g = &wb.sheets[0];
        assert!(g.epoch_1904);
        // Serials 42735 and 42736 in the 1904 system (checked with python-calamine and by
        // hand: 1904-01-01 + 42735 days = 2021-01-01); 1900 would give 2016-12-31.
        assert_eq!(g.rows[0].cells, vec![dt("2021-01-01 00:00:00"), Cell::Number(15.0)]);
        assert_eq!(g.rows[1].cells, vec![dt("2021-01-02 00:00:00"), Cell::Number(16.0)]);
        // A3 is a duration ([hh]:mm:ss): 10.6320601851852 days = 10 days 15:10:10, kept as
        // the number of days, never a date.
        assert_eq!(g.rows[2].cells, vec![Cell::Number(10.6320601851852), Cell::Number(17.0)]);
        assert_eq!(g.rows.len(), 3);
        assert!(g.merges.is_empty());
    }

    #[test]
    fn merged_blocks_are_filled() {
        let Some(p) = sample("calamine_merge_cells.xlsx") else { return };
        let wb = read(&p, None, None, &Limits::default()).unwrap();
        let g = &wb.sheets[0];
        // sheet1.xml: <mergeCell ref="A1:B1"/><mergeCell ref="A2:A4"/><mergeCell ref="B2:D4"/>,
        // values A1 "Row Merge", C1 "Not Merged", A2 "Column Merge", B2 "Chunk Merged".
        let merges: Vec<String> = g.merges.iter().map(|m| m.to_string()).collect();
        assert_eq!(merges, ["A1:B1", "A2:A4", "B2:D4"]);
        let t = |s: &str| Cell::Text(s.into());
        let rows: Vec<(u32, Vec<Cell>)> = g.rows.iter().map(|r| (r.excel_row, r.cells.clone())).collect();
        let block = vec![t("Column Merge"), t("Chunk Merged"), t("Chunk Merged"), t("Chunk Merged")];
        assert_eq!(
            rows,
            vec![
                (1, vec![t("Row Merge"), t("Row Merge"), t("Not Merged")]),
                (2, block.clone()),
                (3, block.clone()),
                (4, block),
            ]
        );
        assert!(g.is_merge_copy(1, 1) && !g.is_merge_copy(1, 0) && !g.is_merge_copy(3, 0));
    }

    #[test]
    fn ods_dates_and_durations() {
        let Some(p) = sample("calamine_date.ods") else { return };
        let g = &read(&p, None, None, &Limits::default()).unwrap().sheets[0];
        assert_eq!(g.rows[0].cells[0], dt("2021-01-01 00:00:00"));
        assert_eq!(g.rows[1].cells[0], dt("2021-01-01 10:10:10"));
        assert_eq!(g.rows[2].cells[0], Cell::Text("PT10H10M10S".into()));
        assert_eq!(g.rows[3].cells, vec![Cell::Text("PT10H10M10.123456S".into()), Cell::Number(18.0)]);
        let b: Vec<Cell> = g.rows.iter().map(|r| r.get(1).clone()).collect();
        assert_eq!(b, [15.0, 16.0, 17.0, 18.0].map(Cell::Number));
        // content.xml ends each row with <table:table-cell table:number-columns-repeated="1022"/>:
        // empty, so within the column limit, and no merged blocks, so no note.
        assert!(read(&p, None, None, &Limits::default()).unwrap().notes.is_empty());
    }

    #[test]
    fn legacy_xls_with_three_sheets() {
        let Some(p) = sample("superstore_sales_canada.xls") else { return };
        let wb = read(&p, None, None, &Limits::default()).unwrap();
        let names: Vec<&str> = wb.sheets.iter().map(|g| g.sheet.as_str()).collect();
        assert_eq!(names, ["Orders", "Returns", "Users"]);
        let orders = &wb.sheets[0];
        assert_eq!(orders.rows.len(), 8400);
        assert_eq!(orders.rows[0].get(2), &Cell::Text("Order Date".into()));
        assert_eq!(orders.rows[1].excel_row, 2);
        assert_eq!(orders.rows[1].get(2), &dt("2010-10-13 00:00:00"));
        assert_eq!(orders.rows[1].get(5), &Cell::Number(261.54));
        let only = read(&p, Some("Users"), None, &Limits::default()).unwrap();
        assert_eq!(only.sheets.len(), 1);
        assert!(matches!(read(&p, Some("Nope"), None, &Limits::default()), Err(IngestError::NoSuchSheet { .. })));
    }
}
