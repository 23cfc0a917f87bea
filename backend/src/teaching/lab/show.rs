//! "Show me": a task's reference lines run in the learner's workspace through the console,
//! each with its caps, its trace and its snippets, as if the learner had typed them. `<id N>`
//! in a line stands for the id the N-th XADD of the show got, so a line can acknowledge or
//! claim what the lines before it added.

use shared::api::ShownLine;
use shared::console::{Snippets, tokenize};

use crate::store::db::Db;
use crate::teaching::console::{self, Console, Workspace};

/// The most lines one show runs (the bound a request to it has).
pub const MOST_LINES: usize = 6;

/// Redis could not be reached: the lines run so far, and the error.
pub struct Unavailable(pub String);

/// Runs `lines` one after another in `workspace`; a line that fails is answered and the next
/// ones still run (as in `redis-cli`), unless Redis cannot be reached.
pub async fn run(
    db: &Db,
    console: &Console,
    workspace: &Workspace,
    lines: &[String],
) -> Result<Vec<ShownLine>, Unavailable> {
    let mut added: Vec<String> = Vec::new();
    let mut shown = Vec::with_capacity(lines.len());
    for line in lines {
        let line = with_ids(line, &added);
        let answer = console::run(db, console, workspace, &line).await;
        if answer.unavailable {
            return Err(Unavailable(answer.response.reply));
        }
        let response = answer.response;
        let argv = tokenize(&line).unwrap_or_default();
        let is_xadd = argv.first().is_some_and(|c| c.eq_ignore_ascii_case("XADD"));
        if is_xadd && response.error.is_none() {
            added.push(response.reply.trim_matches('"').to_owned());
        }
        shown.push(ShownLine {
            snippets: Snippets::of(&argv),
            line,
            reply: response.reply,
            error: response.error,
            hint: response.hint,
            redis: response.redis,
        });
    }
    Ok(shown)
}

/// The line with each `<id N>` replaced by the N-th id added (left as it is when there is none).
fn with_ids(line: &str, added: &[String]) -> String {
    let mut line = line.to_owned();
    for (n, id) in added.iter().enumerate() {
        line = line.replace(&format!("<id {}>", n + 1), id);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_show_runs_more_than_its_bound() {
        use crate::store::workspaces::observed::{Group, Observed};
        let busy = Observed {
            first_id: Some("5-0".into()),
            groups: vec![Group {
                name: "claims-processors".into(),
                last_delivered: "9-0".into(),
                ..Group::default()
            }],
            pending: vec![
                ("1-0".into(), "c1".into(), 1),
                ("5-0".into(), "c1".into(), 1),
            ],
            ..Observed::default()
        };
        for task in crate::teaching::lab::task_ids() {
            for w in [&Observed::default(), &busy] {
                let lines = crate::teaching::lab::reference(task, w).unwrap();
                assert!((1..=MOST_LINES).contains(&lines.len()), "{task}: {lines:?}");
            }
        }
    }

    #[test]
    fn an_id_placeholder_is_the_id_the_shows_xadd_got() {
        let added = ["5-0".to_owned(), "6-0".to_owned()];
        assert_eq!(
            with_ids("XACK s g <id 1> <id 2> <id 3>", &added),
            "XACK s g 5-0 6-0 <id 3>"
        );
    }
}
