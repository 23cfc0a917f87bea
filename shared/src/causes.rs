//! Why an entry is in its stream: what caused it (`causation_id`: the entry it reacts to, or the
//! request that asked for it) and where its story began (`correlation_id`: the request or
//! entry that started the claim's story). Two plain fields after an entry's own, which readers
//! that do not know them ignore; an entry written before them, or by another program, has none.

use serde::{Deserialize, Serialize};

use crate::fields::Fields;

/// The field naming the entry's cause.
pub const CAUSATION_ID: &str = "causation_id";
/// The field naming its story's first cause.
pub const CORRELATION_ID: &str = "correlation_id";

/// An entry's cause and its story's first cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Causes {
    pub causation_id: String,
    pub correlation_id: String,
}

impl Causes {
    /// What `fields` name, if they name a cause; a story's first entry may name no
    /// correlation apart from its cause.
    pub fn of<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> Option<Self> {
        let fields = Fields(fields);
        let causation_id = fields.get(CAUSATION_ID)?.to_owned();
        let correlation_id = fields
            .get(CORRELATION_ID)
            .map_or_else(|| causation_id.clone(), str::to_owned);
        Some(Self {
            causation_id,
            correlation_id,
        })
    }

    /// The causes of an entry that reacts to the entry `id` with `fields`: caused by it, in
    /// its story (its own, if it names none).
    pub fn reacting_to<K: AsRef<str>, V: AsRef<str>>(id: &str, fields: &[(K, V)]) -> Self {
        Self {
            causation_id: id.to_owned(),
            correlation_id: Self::of(fields).map_or_else(|| id.to_owned(), |c| c.correlation_id),
        }
    }

    /// The two fields, in the order they are appended.
    pub fn fields(&self) -> [(&'static str, &str); 2] {
        [
            (CAUSATION_ID, self.causation_id.as_str()),
            (CORRELATION_ID, self.correlation_id.as_str()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reacting_to_another_keeps_its_story() {
        let submitted = [
            ("type", "claim_submitted"),
            (CAUSATION_ID, "req-1"),
            (CORRELATION_ID, "req-1"),
        ];
        let review = Causes::reacting_to("5-0", &submitted);
        assert_eq!(review.causation_id, "5-0");
        assert_eq!(review.correlation_id, "req-1");
    }

    #[test]
    fn an_entry_without_causes_starts_its_own_story() {
        let foreign = [("type", "claim_submitted"), ("claim_id", "c-1")];
        assert_eq!(Causes::of(&foreign), None);
        let reaction = Causes::reacting_to("7-0", &foreign);
        assert_eq!(reaction.correlation_id, "7-0");
    }

    #[test]
    fn a_cause_without_a_correlation_is_its_own_story() {
        let fields = [(CAUSATION_ID, "req-9")];
        assert_eq!(Causes::of(&fields).unwrap().correlation_id, "req-9");
    }
}
