//! A workspace's recent console lines in Redis, and the task the lab last found its learner
//! on. Knows nothing of which mistakes there are: a line is recorded with the detector id the
//! console gives it.
//!
//! Keys (bounded):
//! - `lab:lines:{<id>}`: a list of the last [`KEPT`] lines, each a small JSON record (the line
//!   cut at [`LINE_BYTES`]); `EXPIRE` [`IDLE_EXPIRY`] renewed by each line, deleted with the
//!   workspace. Its hash tag is the workspace's, and no typed name maps to it (those are
//!   `lab:{<id>}:<name>`).
//! - the field `on_task` of the workspace's hash `lab:{<id>}`: `<task>@<ms>`; and a field
//!   `mistake:<detector id>` per detector that has fired, counting its lines (as many fields
//!   as the console has detectors).

use serde::{Deserialize, Serialize};

use super::{IDLE_EXPIRY, Workspace};
use crate::store::db::{Db, DbError};
use crate::store::trace::Trace;

/// Lines kept per workspace.
pub const KEPT: usize = 50;
/// Longest line kept, in bytes; a longer one is cut and ends with `…`.
pub const LINE_BYTES: usize = 256;
/// Longest error message kept, in bytes.
const ERROR_BYTES: usize = 160;

/// One line a learner typed, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub line: String,
    /// When it ran, milliseconds since 1970.
    pub at_ms: i64,
    /// `ok`, the error code Redis answered, or `refused` (the console did not send it).
    pub outcome: String,
    /// The error's message after its code, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Entries a read gave, or the integer Redis answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<u64>,
    /// The detector id of the misconception it showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mistake: Option<String>,
}

impl Line {
    /// A line as it will be kept: cut to [`LINE_BYTES`], its error to a few words.
    pub fn new(line: &str, at_ms: i64, outcome: impl Into<String>) -> Self {
        Self {
            line: cut(line, LINE_BYTES),
            at_ms,
            outcome: outcome.into(),
            error: None,
            returned: None,
            mistake: None,
        }
    }

    pub fn with_error(mut self, error: &str) -> Self {
        self.error = Some(cut(error, ERROR_BYTES));
        self
    }

    pub fn ok(&self) -> bool {
        self.outcome == "ok"
    }
}

/// What [`Workspace::class_marks`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassMarks {
    /// The task the lab last found the learner on, and since when (ms since 1970).
    pub on_task: Option<(String, i64)>,
    /// Lines that showed each mistake asked about, in the order asked.
    pub mistakes: Vec<u64>,
}

fn mistake_field(id: &str) -> String {
    format!("mistake:{id}")
}

/// `text` cut to at most `bytes` on a character's boundary, ending with `…` when cut.
fn cut(text: &str, bytes: usize) -> String {
    if text.len() <= bytes {
        return text.to_owned();
    }
    let mut end = bytes - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl Workspace {
    pub(super) fn lines_key(&self) -> String {
        format!("lab:lines:{{{}}}", self.id)
    }

    /// Keeps `line` as the workspace's newest, dropping the oldest past [`KEPT`], and counts
    /// its mistake, if it showed one.
    pub async fn record_line(&self, db: &Db, line: &Line) -> Result<(), DbError> {
        let key = self.lines_key();
        let json = serde_json::to_string(line).expect("a line serializes");
        let kept = format!("-{KEPT}");
        let expiry = IDLE_EXPIRY.as_secs().to_string();
        let (meta, field) = (self.meta(), line.mistake.as_deref().map(mistake_field));
        let mut commands = vec![
            vec!["RPUSH", key.as_str(), &json],
            vec!["LTRIM", key.as_str(), &kept, "-1"],
            vec!["EXPIRE", key.as_str(), &expiry],
        ];
        if let Some(field) = &field {
            commands.push(vec!["HINCRBY", meta.as_str(), field, "1"]);
        }
        db.pipeline(&mut Trace::off(), &commands).await?;
        Ok(())
    }

    /// What the class view counts of this workspace, changing nothing: the task the lab last
    /// found the learner on and since when (ms), and how many lines showed each of
    /// `mistakes` (detector ids), in their order.
    pub async fn class_marks(&self, db: &Db, mistakes: &[&str]) -> Result<ClassMarks, DbError> {
        let mut hmget = vec!["HMGET".to_owned(), self.meta(), "on_task".to_owned()];
        hmget.extend(mistakes.iter().map(|id| mistake_field(id)));
        let fields: Vec<Option<String>> = db.run(&mut Trace::off(), &hmget).await?;
        let mut fields = fields.into_iter();
        let on_task = fields.next().flatten().and_then(|s| {
            let (task, ms) = s.rsplit_once('@')?;
            Some((task.to_owned(), ms.parse().ok()?))
        });
        Ok(ClassMarks {
            on_task,
            mistakes: fields
                .map(|n| n.and_then(|n| n.parse().ok()).unwrap_or(0))
                .collect(),
        })
    }

    /// The newest `most` lines (at most [`KEPT`]), oldest first.
    pub async fn recent_lines(&self, db: &Db, most: usize) -> Result<Vec<Line>, DbError> {
        let from = format!("-{}", most.clamp(1, KEPT));
        let raw: Vec<Vec<u8>> = db
            .run(
                &mut Trace::off(),
                &["LRANGE", &self.lines_key(), &from, "-1"],
            )
            .await?;
        Ok(raw
            .iter()
            .filter_map(|json| serde_json::from_slice(json).ok())
            .collect())
    }

    /// Since when (ms) the lab has found the learner on `task`: `now_ms` when it last found
    /// them on another one (or never looked).
    pub async fn on_task(&self, db: &Db, task: &str, now_ms: i64) -> Result<i64, DbError> {
        let meta = self.meta();
        let seen: Option<String> = db
            .run(&mut Trace::off(), &["HGET", meta.as_str(), "on_task"])
            .await?;
        if let Some(since) = seen
            .as_deref()
            .and_then(|s| s.rsplit_once('@'))
            .filter(|(was, _)| *was == task)
            .and_then(|(_, ms)| ms.parse().ok())
        {
            return Ok(since);
        }
        let value = format!("{task}@{now_ms}");
        let expiry = IDLE_EXPIRY.as_secs().to_string();
        db.pipeline(
            &mut Trace::off(),
            &[
                vec!["HSET", meta.as_str(), "on_task", &value],
                vec!["EXPIRE", meta.as_str(), &expiry],
            ],
        )
        .await?;
        Ok(now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_cut_on_a_character_with_an_ellipsis() {
        let line = Line::new(&"é".repeat(300), 1, "ok");
        assert!(line.line.len() <= LINE_BYTES, "{}", line.line.len());
        assert!(line.line.ends_with("é…"));
        assert_eq!(Line::new("XLEN s", 1, "ok").line, "XLEN s");
    }
}
