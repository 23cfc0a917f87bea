//! A Lua script the relay runs, known by its SHA-1: sent as the `EVALSHA` command object the
//! trace renders, and its text kept so a learner can read what ran.

use redis::{Cmd, Script, ToRedisArgs};

pub struct Lua {
    name: &'static str,
    source: String,
    script: Script,
}

impl Lua {
    pub fn new(name: &'static str, source: impl Into<String>) -> Self {
        let source = source.into();
        let script = Script::new(&source);
        Self {
            name,
            source,
            script,
        }
    }

    /// The SHA-1 `EVALSHA` names it by.
    pub fn sha(&self) -> &str {
        self.script.get_hash()
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its text, without the blank lines around it.
    pub fn source(&self) -> &str {
        self.source.trim()
    }

    pub(in crate::store) fn script(&self) -> &Script {
        &self.script
    }

    /// The command that runs it: `EVALSHA sha numkeys keys... args...`.
    pub fn evalsha<K: ToRedisArgs, A: ToRedisArgs>(&self, keys: &[K], args: &[A]) -> Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.sha()).arg(keys.len()).arg(keys).arg(args);
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evalsha_names_the_scripts_sha_and_counts_its_keys() {
        let lua = Lua::new("echo", "return ARGV[1]");
        let cmd = lua.evalsha(&["k1", "k2"], &["a"]);
        assert_eq!(
            crate::store::trace::render_cmd(&cmd),
            format!("EVALSHA {} 2 k1 k2 a", lua.sha())
        );
        // What Redis computes: SHA-1 of the text.
        assert_eq!(lua.sha(), "098e0f0d1448c0a81dafe820f66d460eb09263da");
    }
}
