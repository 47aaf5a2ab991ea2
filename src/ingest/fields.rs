//! The canonical fields of each source kind, with the header names quotad accepts for
//! each by default (the "generic" mapping). A source's `columns` table in the config
//! replaces a field's list.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What a source file holds (config `sources.NAME.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A deals export: one row per deal event (sale or cancellation).
    Deals,
    /// Quotas: one row per rep per month.
    Quotas,
    /// The roster: one row per rep.
    Roster,
}

impl SourceKind {
    /// Lower-case name, as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Deals => "deals",
            SourceKind::Quotas => "quotas",
            SourceKind::Roster => "roster",
        }
    }

    /// The canonical fields of this kind with their default header names, and whether
    /// each is required. The rep fields (`rep_id`, `rep_email`, `rep_name`) are each
    /// optional but at least one must be mapped (the roster requires `rep_name`).
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            SourceKind::Deals => DEALS,
            SourceKind::Quotas => QUOTAS,
            SourceKind::Roster => ROSTER,
        }
    }

    /// The spec of field `name` in this kind, if it has one.
    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.name == name)
    }
}

/// One canonical field.
#[derive(Debug)]
pub struct FieldSpec {
    /// Canonical name, the key in `sources.NAME.columns`.
    pub name: &'static str,
    /// Must the header have it?
    pub required: bool,
    /// Header names accepted by default, matched case-, space- and punctuation-insensitively.
    pub aliases: &'static [&'static str],
}

const fn f(name: &'static str, required: bool, aliases: &'static [&'static str]) -> FieldSpec {
    FieldSpec { name, required, aliases }
}

const REP_ID: FieldSpec = f("rep_id", false, &["Rep ID", "Agent ID", "Owner ID", "Salesperson ID", "Employee ID"]);

const DEALS: &[FieldSpec] = &[
    f("deal_id", true, &["Deal ID", "Opportunity ID", "Deal Number", "Record ID", "Deal"]),
    REP_ID,
    f("rep_email", false, &["Rep Email", "Agent Email", "Owner Email", "Email"]),
    f(
        "rep_name",
        false,
        &[
            "Sales Rep",
            "Rep",
            "Rep Name",
            "Sales Agent",
            "Agent",
            "Opportunity Owner",
            "Deal Owner",
            "Salesperson",
            "Owner",
        ],
    ),
    f("team", false, &["Team", "Sales Team", "Division"]),
    f("stage", true, &["Stage", "Deal Stage", "Status"]),
    f("close_date", true, &["Close Date", "Closed Date", "Closing Date", "Date Closed"]),
    f("amount", true, &["Sale Price", "Amount", "Close Value", "Revenue", "Deal Amount", "Price"]),
    f("units", false, &["Units", "Homes", "Quantity", "Qty"]),
    f("rating", false, &["Customer Rating", "Rating", "CSAT", "Satisfaction"]),
    f("paperwork_complete", false, &["Paperwork Complete", "Docs Complete", "Paperwork"]),
    f("paperwork_errors", false, &["Paperwork Errors", "Doc Errors", "Document Errors"]),
    f("split", false, &["Split", "Split %", "Split Percent", "Split Percentage", "Credit %", "Share"]),
];

const QUOTAS: &[FieldSpec] = &[
    REP_ID,
    f("rep_email", false, &["Rep Email", "Email", "Agent Email"]),
    f("rep_name", false, &["Rep Name", "Sales Rep", "Rep", "Name", "Sales Agent", "Agent"]),
    f("month", true, &["Month", "Period", "Quota Month"]),
    f("revenue_quota", true, &["Revenue Quota", "Quota", "Sales Quota", "Quota Amount"]),
    f("units_quota", false, &["Units Quota", "Unit Quota"]),
];

const ROSTER: &[FieldSpec] = &[
    REP_ID,
    f("rep_name", true, &["Name", "Rep Name", "Sales Rep", "Rep", "Sales Agent", "Agent"]),
    f("rep_email", false, &["Email", "Rep Email", "E-mail", "Agent Email"]),
    f("team", false, &["Team", "Sales Team", "Division"]),
    f("manager", false, &["Manager", "Manager Name", "Sales Manager"]),
    f("manager_email", false, &["Manager Email", "Manager E-mail"]),
    f("hire_date", false, &["Hire Date", "Start Date", "Hired"]),
    f("active", false, &["Status", "Active"]),
];

/// Normalises a header for matching: letters and digits only, lower-cased.
/// "Deal ID", "deal_id" and " DEAL-ID " all give "dealid".
pub fn norm_header(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// A source's column mapping: canonical field -> accepted header names, the defaults
/// with the config's overrides applied.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// Field name -> header names, in priority order.
    pub fields: BTreeMap<&'static str, Vec<String>>,
}

impl ColumnMap {
    /// The defaults for `kind` with `overrides` (field -> header names) applied.
    /// An unknown field name is an error naming it and listing the known ones.
    pub fn new(kind: SourceKind, overrides: &BTreeMap<String, Vec<String>>) -> Result<ColumnMap, String> {
        let mut fields: BTreeMap<&'static str, Vec<String>> =
            kind.fields().iter().map(|f| (f.name, f.aliases.iter().map(|a| a.to_string()).collect())).collect();
        for (name, headers) in overrides {
            let Some(spec) = kind.field(name) else {
                let known: Vec<&str> = kind.fields().iter().map(|f| f.name).collect();
                return Err(format!(
                    "unknown field '{name}' for a {} source; the fields are: {}",
                    kind.as_str(),
                    known.join(", ")
                ));
            };
            if headers.is_empty() {
                return Err(format!("field '{name}' lists no header names"));
            }
            fields.insert(spec.name, headers.clone());
        }
        Ok(ColumnMap { fields })
    }
}
