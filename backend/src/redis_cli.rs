//! Commands written the way a learner would type them into `redis-cli`, so every response can
//! show what Redis did.

/// Quotes an argument only when `redis-cli` needs it to read it back as one argument.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\'' && c != '\\');
    if plain {
        return arg.to_owned();
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn render<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The commands one request ran, in order.
#[derive(Debug)]
pub struct Trace(Option<Vec<String>>);

impl Default for Trace {
    fn default() -> Self {
        Self(Some(Vec::new()))
    }
}

impl Trace {
    /// A trace that records nothing: for work nobody will show (workers, the live feed),
    /// where rendering and quoting every command would be spent on a hot path for nothing.
    pub fn off() -> Self {
        Self(None)
    }

    pub fn record<S: AsRef<str>>(&mut self, args: &[S]) {
        if let Some(commands) = &mut self.0 {
            commands.push(render(args));
        }
    }

    pub fn into_commands(self) -> Vec<String> {
        self.0.unwrap_or_default()
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
