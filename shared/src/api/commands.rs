//! The command log: each claim command the relay carried out or refused, who asked, and what
//! came of it, as `claims:commands` keeps it and `GET /api/commands` lists it.

use serde::{Deserialize, Serialize};

/// Who asked for a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommandBy {
    Learner,
    Instructor,
    /// A consumer group (`claims-processors`' reviews and approvals).
    Worker,
    /// The traffic generator.
    Traffic,
    /// A guided failure scenario.
    Scenario,
}

/// What came of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommandOutcome {
    /// Decided and appended: `entry_id` is its event's.
    Applied,
    /// The aggregate refused it: `reason` says which rule.
    Refused,
    /// The claim was not at the version expected, or changed meanwhile.
    Conflict,
    /// No such claim.
    NotFound,
    /// Redis failed, or something else went wrong: not decided.
    Failed,
}

macro_rules! names {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}
names!(CommandBy { Learner => "learner", Instructor => "instructor", Worker => "worker", Traffic => "traffic", Scenario => "scenario" });
names!(CommandOutcome { Applied => "applied", Refused => "refused", Conflict => "conflict", NotFound => "not_found", Failed => "failed" });

/// One command as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedCommand {
    /// Its entry's id in `claims:commands`.
    // The browser app has no use for it, and every field it reads costs it code.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub id: String,
    /// `submit`, `review`, `approve`, `reject`, `pay`, `add_note`.
    pub command: String,
    pub by: CommandBy,
    pub claim_id: String,
    pub outcome: CommandOutcome,
    /// Why it was not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The event it appended, when applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    /// The request or entry it was carried out for (`shared::causes`).
    // The browser app has no use for it, and every field it reads costs it code.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub causation_id: String,
}

impl LoggedCommand {
    /// Its fields as `claims:commands` keeps them (its `id` is the entry's own).
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        let mut fields = vec![
            ("command", self.command.as_str()),
            ("by", self.by.as_str()),
            ("claim_id", self.claim_id.as_str()),
            ("outcome", self.outcome.as_str()),
            (crate::causes::CAUSATION_ID, self.causation_id.as_str()),
        ];
        fields.extend(self.reason.as_deref().map(|r| ("reason", r)));
        fields.extend(self.entry_id.as_deref().map(|e| ("entry_id", e)));
        fields
    }

    /// An entry of `claims:commands` read back; `None` if it is not one the relay wrote.
    pub fn read(id: String, fields: &[(String, String)]) -> Option<Self> {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        Some(Self {
            id,
            command: get("command")?,
            by: CommandBy::parse(&get("by")?)?,
            claim_id: get("claim_id")?,
            outcome: CommandOutcome::parse(&get("outcome")?)?,
            reason: get("reason"),
            entry_id: get("entry_id"),
            causation_id: get(crate::causes::CAUSATION_ID)?,
        })
    }
}

/// `GET /api/commands?by=&outcome=&claim=&before=&limit=`: the newest commands first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandLogResponse {
    pub commands: Vec<LoggedCommand>,
    /// Entries of the log looked at for this page (the filters are applied to a bounded
    /// number of them).
    pub examined: u64,
    /// Where the next page starts (`before=`); none at the log's beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // The browser app has no use for it, and every field it reads costs it code.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub next_before: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_command_reads_back_as_written() {
        let logged = LoggedCommand {
            id: "5-0".into(),
            command: "approve".into(),
            by: CommandBy::Learner,
            claim_id: "CLM-1".into(),
            outcome: CommandOutcome::Refused,
            reason: Some("cannot approve a submitted claim".into()),
            entry_id: None,
            causation_id: "req-1".into(),
        };
        let fields: Vec<(String, String)> = logged
            .fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(LoggedCommand::read("5-0".into(), &fields), Some(logged));
        assert_eq!(LoggedCommand::read("6-0".into(), &fields[1..]), None);
    }
}
