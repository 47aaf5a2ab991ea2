//! The canonical fields of each source kind, with the header names quotad accepts for
//! each by default (the "generic" mapping), the mapping presets of common CRMs'
//! deal exports ([`Preset`]), and the column map built from them. A source's
//! `columns` table in the config replaces a field's list, preset or not.
//!
//! Plain data: imports serde only.

use std::collections::{BTreeMap, BTreeSet};

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
    /// A summary export: one row per rep per period (a month) with totals already
    /// computed. Rows of one rep and month in one file are added up (a summary broken
    /// down by product or region); each total is stored as one won deal dated the
    /// month's first day, so a summary row counts as one deal.
    Summary,
}

impl SourceKind {
    /// Lower-case name, as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Deals => "deals",
            SourceKind::Quotas => "quotas",
            SourceKind::Roster => "roster",
            SourceKind::Summary => "summary",
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
            SourceKind::Summary => SUMMARY,
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
    f("revenue_quota", true, &["Revenue Quota", "Quota", "Sales Quota", "Quota Amount", "Annual Quota", "Target"]),
    f("units_quota", false, &["Units Quota", "Unit Quota"]),
    f("year", false, &["Year", "Fiscal Year"]),
];

const ROSTER: &[FieldSpec] = &[
    REP_ID,
    f("rep_name", true, &["Name", "Rep Name", "Sales Rep", "Rep", "Sales Agent", "Agent"]),
    // Without a name column, a rep is named "First Last" from these two (issue 16).
    f("first_name", false, &["First Name", "Given Name", "Firstname"]),
    f("last_name", false, &["Last Name", "Surname", "Family Name", "Lastname"]),
    f("rep_email", false, &["Email", "Rep Email", "E-mail", "Agent Email"]),
    f("team", false, &["Team", "Sales Team", "Division"]),
    f("manager", false, &["Manager", "Manager Name", "Sales Manager"]),
    f("manager_email", false, &["Manager Email", "Manager E-mail"]),
    f("hire_date", false, &["Hire Date", "Start Date", "Hired"]),
    f("active", false, &["Status", "Active"]),
    // roster-dated: the day a row's team, manager and status take effect; the rep's
    // last working day (docs/definitions.md, "The roster of a month").
    f("effective_date", false, &["Effective Date", "Effective From", "Effective", "Valid From"]),
    f("leave_date", false, &["Leave Date", "Termination Date", "Left On", "Departure Date", "End Date"]),
];

const SUMMARY: &[FieldSpec] = &[
    REP_ID,
    f("rep_email", false, &["Rep Email", "Agent Email", "Owner Email", "Email"]),
    f("rep_name", false, &["Sales Rep", "Rep", "Rep Name", "Sales Agent", "Agent", "Salesperson", "Owner"]),
    f("team", false, &["Team", "Sales Team", "Division"]),
    f("period", true, &["Month", "Period", "Date"]),
    f("year", false, &["Year"]),
    f("revenue", true, &["Revenue", "Sales", "Total Sales", "Amount", "Total Amount", "Actual"]),
    f("units", false, &["Units", "Units Sold", "Quantity", "Qty"]),
];

/// A CRM whose deal (opportunity) report export has known header names (config
/// `sources.NAME.preset`). A preset replaces the generic header names of the fields
/// it knows; `columns` still overrides any field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// The built-in defaults (every kind).
    Generic,
    /// Salesforce opportunity report export.
    Salesforce,
    /// HubSpot deals export.
    Hubspot,
    /// Pipedrive deals export (its headers read "Deal - Owner", "Deal - Value", …).
    Pipedrive,
}

impl Preset {
    /// Lower-case name, as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Generic => "generic",
            Preset::Salesforce => "salesforce",
            Preset::Hubspot => "hubspot",
            Preset::Pipedrive => "pipedrive",
        }
    }

    /// The header names this preset gives `field` of a deals source, if it gives any.
    pub fn deal_headers(self, field: &str) -> Option<&'static [&'static str]> {
        let table: &[(&str, &[&str])] = match self {
            Preset::Generic => &[],
            Preset::Salesforce => &[
                ("deal_id", &["Opportunity ID", "Opportunity ID (18)", "Record ID"]),
                ("rep_name", &["Opportunity Owner", "Owner Name", "Owner"]),
                ("rep_email", &["Opportunity Owner Email", "Owner Email"]),
                ("rep_id", &["Opportunity Owner ID", "Owner ID"]),
                ("team", &["Owner Role", "Sales Team"]),
                ("stage", &["Stage"]),
                ("close_date", &["Close Date"]),
                ("amount", &["Amount", "Amount (converted)"]),
                ("units", &["Quantity", "Total Quantity"]),
            ],
            Preset::Hubspot => &[
                ("deal_id", &["Record ID", "Deal ID"]),
                ("rep_name", &["Deal owner", "Owner"]),
                ("rep_email", &["Deal owner email", "Owner email"]),
                ("rep_id", &["Deal owner ID", "HubSpot owner ID"]),
                ("team", &["HubSpot Team", "Team"]),
                ("stage", &["Deal Stage"]),
                ("close_date", &["Close Date"]),
                ("amount", &["Amount", "Amount in company currency"]),
                ("units", &["Number of line items", "Quantity"]),
            ],
            Preset::Pipedrive => &[
                ("deal_id", &["Deal - ID", "ID"]),
                ("rep_name", &["Deal - Owner", "Owner"]),
                ("rep_email", &["Deal - Owner email", "Owner email"]),
                ("team", &["Deal - Team", "Team"]),
                ("stage", &["Deal - Status", "Status"]),
                ("close_date", &["Deal - Won time", "Won time", "Deal - Close date"]),
                ("amount", &["Deal - Value", "Value"]),
                ("units", &["Deal - Product quantity", "Product quantity"]),
            ],
        };
        table.iter().find(|(f, _)| *f == field).map(|(_, h)| *h)
    }
}

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
    /// The fields whose header names the config sets (`columns.FIELD`); the others use
    /// the defaults or the preset's. A configured field's column is never claimed by
    /// another field's default name.
    pub configured: BTreeSet<&'static str>,
}

impl ColumnMap {
    /// The defaults for `kind`, with `preset`'s header names and then `overrides`
    /// (field -> header names) applied. An unknown field name is an error naming it and
    /// listing the known ones; a CRM preset on a source that is not a deals export is an
    /// error too.
    pub fn new(
        kind: SourceKind,
        preset: Preset,
        overrides: &BTreeMap<String, Vec<String>>,
    ) -> Result<ColumnMap, String> {
        if preset != Preset::Generic && kind != SourceKind::Deals {
            return Err(format!(
                "preset \"{}\" describes a deals export; a {} source takes \"generic\" (or none) and its own columns",
                preset.as_str(),
                kind.as_str()
            ));
        }
        let mut fields: BTreeMap<&'static str, Vec<String>> = kind
            .fields()
            .iter()
            .map(|f| {
                let names = preset.deal_headers(f.name).unwrap_or(f.aliases);
                (f.name, names.iter().map(|a| a.to_string()).collect())
            })
            .collect();
        let mut configured = BTreeSet::new();
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
            configured.insert(spec.name);
        }
        Ok(ColumnMap { fields, configured })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_replace_the_fields_they_know_and_columns_override_them() {
        let none = BTreeMap::new();
        let sf = ColumnMap::new(SourceKind::Deals, Preset::Salesforce, &none).unwrap();
        assert_eq!(sf.fields["rep_name"][0], "Opportunity Owner");
        assert_eq!(sf.fields["stage"], ["Stage"]);
        // A field the preset does not name keeps the generic names.
        assert_eq!(sf.fields["rating"][0], "Customer Rating");
        let hs = ColumnMap::new(SourceKind::Deals, Preset::Hubspot, &none).unwrap();
        assert_eq!(hs.fields["stage"], ["Deal Stage"]);
        assert_eq!(hs.fields["rep_name"][0], "Deal owner");
        let over: BTreeMap<String, Vec<String>> = [("amount".to_string(), vec!["Net Amount".to_string()])].into();
        let pd = ColumnMap::new(SourceKind::Deals, Preset::Pipedrive, &over).unwrap();
        assert_eq!(pd.fields["amount"], ["Net Amount"]);
        assert_eq!(norm_header(&pd.fields["deal_id"][0]), "dealid");
        let err = ColumnMap::new(SourceKind::Quotas, Preset::Hubspot, &none).unwrap_err();
        assert!(err.contains("preset \"hubspot\" describes a deals export; a quotas source"), "{err}");
    }
}
