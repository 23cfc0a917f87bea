//! What a workspace records of the lab beside its keys: its quiz answers and the tasks
//! "show me" ran, as fields of the workspace's hash (`quiz:<question>`, `helped:<task>`), so
//! they are as bounded as the lab's questions and tasks (the callers name only those) and
//! expire with the workspace. And emptying a workspace, its id kept.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use redis::{Script, Value};

use super::{IDLE_EXPIRY, Place, Workspace};
use crate::store::db::{Db, DbError};
use crate::store::reply;
use crate::store::trace::Trace;

/// A workspace's quiz answers and "shown" tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// Each answered question's last choice.
    pub answers: BTreeMap<String, usize>,
    /// Tasks whose reference commands ran.
    pub helped: BTreeSet<String>,
}

/// What emptying a workspace removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Emptied {
    pub keys: usize,
    pub answers: usize,
    pub helped: usize,
    /// Recent console lines (the mistakes' evidence).
    pub lines: usize,
}

impl Workspace {
    /// Records `choice` as the answer to `question` (one of the lab's: the caller checks).
    pub async fn record_answer(
        &self,
        db: &Db,
        question: &str,
        choice: usize,
    ) -> Result<(), DbError> {
        self.mark(db, &format!("quiz:{question}"), &choice.to_string())
            .await
    }

    /// Records that "show me" ran `task`'s commands (one of the lab's: the caller checks).
    pub async fn record_helped(&self, db: &Db, task: &str) -> Result<(), DbError> {
        self.mark(db, &format!("helped:{task}"), "1").await
    }

    async fn mark(&self, db: &Db, field: &str, value: &str) -> Result<(), DbError> {
        let meta = self.meta();
        let expiry = IDLE_EXPIRY.as_secs().to_string();
        db.pipeline(
            &mut Trace::off(),
            &[
                vec!["HSET", meta.as_str(), field, value],
                vec!["EXPIRE", meta.as_str(), &expiry],
            ],
        )
        .await?;
        Ok(())
    }

    /// The workspace's quiz answers and "shown" tasks.
    pub async fn marks(&self, db: &Db) -> Result<Marks, DbError> {
        let meta: Value = db
            .run(&mut Trace::off(), &["HGETALL", &self.meta()])
            .await?;
        let mut marks = Marks::default();
        let Value::Array(flat) = meta else {
            return Ok(marks);
        };
        for kv in flat.chunks(2) {
            let (Some(name), Some(value)) = (
                kv.first().and_then(reply::text),
                kv.get(1).and_then(reply::text),
            ) else {
                continue;
            };
            if let Some(question) = name.strip_prefix("quiz:") {
                if let Ok(choice) = value.parse() {
                    marks.answers.insert(question.to_owned(), choice);
                }
            } else if let Some(task) = name.strip_prefix("helped:") {
                marks.helped.insert(task.to_owned());
            }
        }
        Ok(marks)
    }

    /// Empties the workspace: deletes its keys and forgets what was recorded of them, its quiz
    /// answers, its "shown" tasks, its recent lines and the task it was on (so no hint speaks
    /// of what is gone), in one script run; the workspace (its id, when it was made, and
    /// whatever else its hash holds) stays. `None` when it is gone meanwhile.
    pub async fn empty(&self, db: &Db) -> Result<Option<Emptied>, DbError> {
        let usage = self.usage(db).await?;
        let mut script = EMPTY.key(self.meta());
        script.key(self.lines_key());
        for (typed, _) in &usage {
            if let Ok(Place::Own(real)) = self.place(typed) {
                script.key(real);
            }
        }
        script.arg(IDLE_EXPIRY.as_secs());
        let removed: Option<(usize, usize, usize, usize)> = db.script(&script).await?;
        Ok(removed.map(|(keys, answers, helped, lines)| Emptied {
            keys,
            answers,
            helped,
            lines,
        }))
    }
}

/// KEYS: the workspace's hash, its recent lines, then its keys. ARGV: the expiry (s). Deletes
/// the keys and the lines, and the hash's fields about keys (`bytes:`, `entry:`), answers
/// (`quiz:`), shown tasks (`helped:`) and the task it was on (`on_task`); answers how many
/// keys, answers, shown tasks and lines went. Nil when the workspace is gone.
static EMPTY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local meta = KEYS[1]
if redis.call('EXISTS', meta) == 0 then return false end
local flat = redis.call('HGETALL', meta)
local answers, helped, fields = 0, 0, {}
for i = 1, #flat, 2 do
  local name = flat[i]
  if string.sub(name, 1, 5) == 'quiz:' then
    answers = answers + 1
    table.insert(fields, name)
  elseif string.sub(name, 1, 7) == 'helped:' then
    helped = helped + 1
    table.insert(fields, name)
  elseif string.sub(name, 1, 6) == 'bytes:' or string.sub(name, 1, 6) == 'entry:'
      or name == 'on_task' then
    table.insert(fields, name)
  end
end
local lines = redis.call('LLEN', KEYS[2])
redis.call('DEL', KEYS[2])
local keys = 0
if #KEYS > 2 then keys = redis.call('DEL', unpack(KEYS, 3)) end
if #fields > 0 then redis.call('HDEL', meta, unpack(fields)) end
redis.call('EXPIRE', meta, ARGV[1])
return {keys, answers, helped, lines}
",
    )
});
