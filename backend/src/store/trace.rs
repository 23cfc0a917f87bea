//! What a request made Redis do, for the learner: each command rendered, as `redis-cli` would
//! take it, from the very command object that was sent, so the trace cannot differ from what
//! ran. A script shows as its `EVALSHA`, with the commands it ran inside as the script itself
//! reported them.

use redis::{Arg, Cmd};
use shared::api::ScriptRun;

/// One argument list in `redis-cli` form: plain words bare, anything else quoted.
fn render<S: AsRef<str>>(args: impl IntoIterator<Item = S>) -> String {
    args.into_iter()
        .map(|a| shared::console::quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A command as it goes over the wire, in `redis-cli` form.
pub fn render_cmd(cmd: &Cmd) -> String {
    render(cmd.args_iter().map(text))
}

fn text(arg: Arg<&[u8]>) -> String {
    match arg {
        Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        // A cursor argument (not used by this relay) starts at 0, as `SCAN` shows it.
        _ => "0".to_owned(),
    }
}

/// The commands one request ran, in order, and what its scripts did inside.
#[derive(Debug)]
pub struct Trace {
    commands: Option<Vec<String>>,
    /// Whether scripts are asked to list what they run inside.
    inside: bool,
    scripts: Vec<ScriptRun>,
}

impl Default for Trace {
    /// The commands sent; a script as its `EVALSHA` only.
    fn default() -> Self {
        Self {
            commands: Some(Vec::new()),
            inside: false,
            scripts: Vec::new(),
        }
    }
}

impl Trace {
    /// A trace that records nothing: for work nobody will show (workers, the live feed),
    /// where rendering and quoting every command would be spent on a hot path for nothing.
    pub fn off() -> Self {
        Self {
            commands: None,
            inside: false,
            scripts: Vec::new(),
        }
    }

    /// The commands sent, and what each script ran inside, as the script lists it.
    pub fn with_scripts() -> Self {
        Self {
            inside: true,
            ..Self::default()
        }
    }

    /// Whether scripts should list what they run: costs Redis a list per run, so only when
    /// someone will read it.
    pub fn wants_inside(&self) -> bool {
        self.is_on() && self.inside
    }

    /// Whether anything is kept: callers skip building what would be thrown away.
    pub fn is_on(&self) -> bool {
        self.commands.is_some()
    }

    /// Records a command about to be sent.
    pub(in crate::store) fn record(&mut self, cmd: &Cmd) {
        if let Some(commands) = &mut self.commands {
            commands.push(render_cmd(cmd));
        }
    }

    /// Records a script's `EVALSHA` that was sent, and, when asked for, the commands it ran
    /// inside as the script listed them: one atomic step, not commands of their own.
    pub(in crate::store) fn record_script(&mut self, evalsha: &Cmd, inside: &[Vec<String>]) {
        if !self.is_on() {
            return;
        }
        self.record(evalsha);
        if !self.inside {
            return;
        }
        let sha = evalsha.args_iter().nth(1).map(text).unwrap_or_default();
        self.scripts.push(ScriptRun {
            sha,
            inside: inside.iter().map(render).collect(),
        });
    }

    /// Adds what another trace recorded, after what this one has.
    pub fn extend(&mut self, other: Trace) {
        if let (Some(commands), Some(more)) = (&mut self.commands, other.commands) {
            commands.extend(more);
            self.scripts.extend(other.scripts);
        }
    }

    pub fn into_commands(self) -> Vec<String> {
        self.commands.unwrap_or_default()
    }

    /// The commands and the scripts' insides.
    pub fn into_parts(self) -> (Vec<String>, Vec<ScriptRun>) {
        (self.commands.unwrap_or_default(), self.scripts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_arguments_stay_bare_and_others_are_quoted() {
        let mut xadd = redis::cmd("XADD");
        xadd.arg("claims:events")
            .arg("*")
            .arg("description")
            .arg("Hail on the \"roof\"\n")
            .arg(42);
        assert_eq!(
            render_cmd(&xadd),
            r#"XADD claims:events * description "Hail on the \"roof\"\n" 42"#
        );
        assert_eq!(
            render_cmd(redis::cmd("SET").arg("k").arg("")),
            r#"SET k """#
        );
    }

    #[test]
    fn a_trace_that_is_off_keeps_nothing() {
        let mut on = Trace::default();
        let mut off = Trace::off();
        on.record(&redis::cmd("PING"));
        off.record(&redis::cmd("PING"));
        assert_eq!(on.into_commands(), ["PING"]);
        assert!(off.into_commands().is_empty());
    }

    #[test]
    fn a_script_shows_as_its_evalsha_with_what_it_reported_inside() {
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha.arg("abc123").arg(1).arg("k").arg("v");
        let mut trace = Trace::with_scripts();
        trace.record_script(&evalsha, &[vec!["SET".into(), "k".into(), "a b".into()]]);
        let (commands, scripts) = trace.into_parts();
        assert_eq!(commands, ["EVALSHA abc123 1 k v"]);
        assert_eq!(scripts[0].sha, "abc123");
        assert_eq!(scripts[0].inside, [r#"SET k "a b""#]);
    }
}
