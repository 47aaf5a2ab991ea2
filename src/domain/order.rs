//! The order names are listed in: the org's locale's collation (CLDR, through ICU4X's
//! `icu_collator` with compiled data), so "Ødegaard" comes after "Zoë" for a Norwegian
//! reader and beside "Odegaard" for an English one, "Łukasz" right after the L names for
//! a Polish reader. Pure: no I/O, the data is compiled in.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use icu_collator::CollatorBorrowed;
use icu_collator::options::CollatorOptions;
use icu_locale_core::Locale;

/// A locale's order for people's and teams' names (config `org.locale`): wherever quotad
/// lists names alphabetically (ties on a board, unranked reps, a team's reps, the 1:1
/// sheets) it uses this order. Whitespace is collapsed first ("Ann  Lee" sorts as "Ann
/// Lee"); the comparison is CLDR's tertiary strength (letters, then accents, then case).
/// Cheap to clone and `Send + Sync`. The default is CLDR's root order.
#[derive(Clone)]
pub struct NameOrder {
    locale: String,
    collator: Arc<CollatorBorrowed<'static>>,
}

impl fmt::Debug for NameOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NameOrder").field(&self.locale).finish()
    }
}

impl PartialEq for NameOrder {
    fn eq(&self, other: &NameOrder) -> bool {
        self.locale == other.locale
    }
}
impl Eq for NameOrder {}

impl Default for NameOrder {
    fn default() -> NameOrder {
        NameOrder::new(&Locale::UNKNOWN)
    }
}

fn collapsed(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl NameOrder {
    /// The collation of `locale`; a locale without a tailoring of its own uses its
    /// language's, else CLDR's root order (never an error: the data is compiled in).
    pub fn new(locale: &Locale) -> NameOrder {
        let collator = CollatorBorrowed::try_new(locale.into(), CollatorOptions::default())
            .or_else(|_| CollatorBorrowed::try_new(Default::default(), CollatorOptions::default()))
            .expect("CLDR's root collation is compiled in");
        NameOrder { locale: locale.to_string(), collator: Arc::new(collator) }
    }

    /// The locale whose order this is (`und` for the root order).
    pub fn locale(&self) -> &str {
        &self.locale
    }

    /// Compares two names in this order.
    pub fn cmp(&self, a: &str, b: &str) -> Ordering {
        self.collator.compare(&collapsed(a), &collapsed(b))
    }

    /// A sort key: byte strings compare as [`NameOrder::cmp`] compares the names (for
    /// `sort_by_cached_key` and for keys mixed with other fields).
    pub fn key(&self, name: &str) -> Vec<u8> {
        let mut k = Vec::new();
        let Ok(()) = self.collator.write_sort_key_to(&collapsed(name), &mut k);
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(locale: &str, names: &[&str]) -> Vec<String> {
        let order = NameOrder::new(&locale.parse().unwrap());
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort_by(|a, b| order.cmp(a, b));
        let mut by_key = v.clone();
        by_key.sort_by_cached_key(|n| order.key(n));
        assert_eq!(by_key, v, "sort keys order as cmp does ({locale})");
        v
    }

    #[test]
    fn each_locale_orders_names_as_its_readers_expect() {
        let names = ["Zoë Young", "Ødegaard Lars", "Odegaard Per", "Łukasz Żółć", "Lukas Meyer", "Maria Lopez"];
        // English (CLDR root): Ø sorts with O, Ł with L; the letters decide before the
        // accent does ("Ødegaard L…" before "Odegaard P…").
        assert_eq!(
            sorted("en-US", &names),
            ["Lukas Meyer", "Łukasz Żółć", "Maria Lopez", "Ødegaard Lars", "Odegaard Per", "Zoë Young"]
        );
        assert_eq!(sorted("en-US", &["Ødegaard", "Odegaard", "Oe"]), ["Odegaard", "Ødegaard", "Oe"]);
        // Norwegian: Æ Ø Å come after Z.
        assert_eq!(
            sorted("nb-NO", &names),
            ["Lukas Meyer", "Łukasz Żółć", "Maria Lopez", "Odegaard Per", "Zoë Young", "Ødegaard Lars"]
        );
        // Polish: Ł is a letter of its own, after L (so after every "Lu…").
        assert_eq!(
            sorted("pl-PL", &["Łukasz Żółć", "Lukas Meyer", "Lz Test", "Maria Lopez"]),
            ["Lukas Meyer", "Lz Test", "Łukasz Żółć", "Maria Lopez"]
        );
        // Swedish: Ä and Ö after Z; German: Ä with A.
        assert_eq!(sorted("sv-SE", &["Östen", "Zeta", "Olof"]), ["Olof", "Zeta", "Östen"]);
        assert_eq!(sorted("de-DE", &["Östen", "Zeta", "Olof"]), ["Olof", "Östen", "Zeta"]);
        // Spanish: Ñ after N.
        assert_eq!(sorted("es-ES", &["Ñúñez", "Nuñez", "Oria"]), ["Nuñez", "Ñúñez", "Oria"]);
        // Whitespace is collapsed; case is the last difference.
        let en = NameOrder::new(&"en-US".parse().unwrap());
        assert_eq!(en.cmp("Ann  Lee", "Ann Lee"), Ordering::Equal);
        assert_eq!(en.cmp("ann lee", "Ann Lee"), Ordering::Less);
        assert_eq!(en.cmp("Anna", "ann lee"), Ordering::Greater, "letters first: 'anna' > 'ann lee'");
        assert_eq!(NameOrder::default().locale(), "und");
    }
}
