//! What the console records for `/metrics`, through the `metrics` macros: lines by command and
//! outcome, refusals by reason. Every label is from a fixed set (the command table's names,
//! the outcomes and reasons below), never a workspace, a key or a line.

pub const LINES: &str = "claimstream_console_lines_total";
pub const REFUSALS: &str = "claimstream_console_refusals_total";

/// A line's command before it was read.
pub const UNREAD: &str = "(unread)";

/// Why a line was refused before Redis saw it.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// Not a command of the table, or not as its usage says.
    Syntax,
    /// Over a per-line cap (`COUNT`, `BLOCK`, the reply's worst case, ...).
    Cap,
    /// A key it may not use (a class stream written to, a name out of bounds).
    Key,
    /// Over the workspace's keys, bytes, groups or consumers.
    Quota,
    /// No place among the blocking reads.
    Blocking,
    /// Over the workspace's line rate (the 429).
    Rate,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Syntax => "syntax",
            Refusal::Cap => "cap",
            Refusal::Key => "key",
            Refusal::Quota => "quota",
            Refusal::Blocking => "blocking",
            Refusal::Rate => "rate",
        }
    }
}

pub(super) fn refused(reason: Refusal) {
    metrics::counter!(REFUSALS, "reason" => reason.as_str()).increment(1);
}

/// One line: `command` a name of the table (or [`UNREAD`], or `HELP`); `outcome` `ok`,
/// `error` (Redis answered an error), `refused`, `unavailable` or `help`.
pub(super) fn line(command: &'static str, outcome: &'static str) {
    metrics::counter!(LINES, "command" => command, "outcome" => outcome).increment(1);
}
