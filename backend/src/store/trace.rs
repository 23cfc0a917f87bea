//! Commands written the way a learner would type them into `redis-cli`, so every response can
//! show what Redis did.

use shared::api::ScriptRun;

pub fn render<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| shared::console::quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The commands one request ran, in order, and what its scripts did inside.
#[derive(Debug)]
pub struct Trace {
    commands: Option<Vec<String>>,
    scripts: Vec<ScriptRun>,
}

impl Default for Trace {
    fn default() -> Self {
        Self {
            commands: Some(Vec::new()),
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
            scripts: Vec::new(),
        }
    }

    /// Whether anything is kept: callers skip building what would be thrown away.
    pub fn is_on(&self) -> bool {
        self.commands.is_some()
    }

    pub fn record<S: AsRef<str>>(&mut self, args: &[S]) {
        if let Some(commands) = &mut self.commands {
            commands.push(render(args));
        }
    }

    /// Records a script as what was sent, `EVALSHA sha numkeys keys... args...`, with the
    /// commands it ran inside kept apart: they were one atomic step, not commands of their own.
    pub fn record_script<S: AsRef<str>>(
        &mut self,
        script: &redis::Script,
        source: &str,
        keys: &[S],
        args: &[S],
        inside: &[Vec<&str>],
    ) {
        let Some(commands) = &mut self.commands else {
            return;
        };
        let sha = script.get_hash().to_owned();
        let count = keys.len().to_string();
        let mut evalsha = vec!["EVALSHA", sha.as_str(), count.as_str()];
        evalsha.extend(keys.iter().map(AsRef::as_ref));
        evalsha.extend(args.iter().map(AsRef::as_ref));
        commands.push(render(&evalsha));
        self.scripts.push(ScriptRun {
            sha,
            source: source.trim().to_owned(),
            inside: inside.iter().map(|c| render(c)).collect(),
        });
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
        assert_eq!(
            render(&[
                "XADD",
                "claims:events",
                "*",
                "description",
                "Hail on the \"roof\"\n"
            ]),
            r#"XADD claims:events * description "Hail on the \"roof\"\n""#
        );
        assert_eq!(render(&["SET", "k", ""]), r#"SET k """#);
    }

    #[test]
    fn a_trace_that_is_off_keeps_nothing() {
        let mut on = Trace::default();
        let mut off = Trace::off();
        on.record(&["PING"]);
        off.record(&["PING"]);
        assert_eq!(on.into_commands(), ["PING"]);
        assert!(off.into_commands().is_empty());
    }
}
