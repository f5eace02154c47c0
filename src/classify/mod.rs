//! Classification: every kind maps to a GB/T 35273 Appendix A category and
//! an Appendix B sensitivity.
//!
//! The mapping of the builtin kinds is the table `patterns/kinds.tsv`; this
//! module only parses it once and answers lookups. A custom kind carries its
//! own category, sensitivity and labels in its definition
//! ([`crate::detect::custom`]). Detectors know nothing of categories, reports
//! know nothing of validators: this table is the only link between them.

use std::sync::LazyLock;

use crate::detect::{custom, Kind};
use crate::patterns;

/// What GB/T 35273 says about one kind of personal information.
#[derive(Debug, Clone)]
pub struct Class {
    /// Appendix A category id, e.g. `identity.id_document`.
    pub category: &'static str,
    /// Whether Appendix B lists the kind as sensitive personal information.
    pub sensitive: bool,
    /// Chinese label, for reports read by compliance staff.
    pub label_zh: &'static str,
    /// English label.
    pub label_en: &'static str,
    /// One-line description of what is detected and how it is validated.
    pub description: &'static str,
}

static TABLE: LazyLock<Vec<Class>> = LazyLock::new(|| {
    let mut table: Vec<Option<Class>> = vec![None; Kind::BUILTIN.len()];
    for (line, rec) in patterns::records(patterns::KINDS) {
        let [kind, category, sensitive, label_zh, label_en, description] = rec[..] else {
            patterns::bad_record("kinds.tsv", line, "expected 6 columns")
        };
        let Some(kind) = Kind::BUILTIN.into_iter().find(|k| k.id() == kind) else {
            patterns::bad_record("kinds.tsv", line, "unknown kind")
        };
        table[kind.index()] = Some(Class {
            category,
            sensitive: sensitive == "yes",
            label_zh,
            label_en,
            description,
        });
    }
    table
        .into_iter()
        .zip(Kind::BUILTIN)
        .map(|(class, kind)| {
            class.unwrap_or_else(|| panic!("patterns/kinds.tsv: no row for {}", kind.id()))
        })
        .collect()
});

/// The category and sensitivity of `kind`.
pub fn classify(kind: Kind) -> &'static Class {
    match TABLE.get(kind.index()) {
        Some(class) => class,
        None => &custom::get(kind).class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_the_contract_category_and_sensitivity() {
        let expect = [
            (Kind::ResidentId, "identity.id_document", true),
            (Kind::BankCard, "property.bank_account", true),
            (Kind::Passport, "identity.id_document", true),
            (Kind::Mobile, "identity.virtual_identity", false),
            (Kind::Imei, "service.device", false),
            (Kind::Email, "identity.virtual_identity", false),
            (Kind::Ipv4, "identity.virtual_identity", false),
            (Kind::MacAddress, "service.device", false),
        ];
        assert_eq!(expect.len(), Kind::BUILTIN.len());
        for (kind, category, sensitive) in expect {
            let class = classify(kind);
            assert_eq!(class.category, category, "{}", kind.id());
            assert_eq!(class.sensitive, sensitive, "{}", kind.id());
            assert!(!class.label_zh.is_empty() && !class.description.is_empty());
        }
    }
}
