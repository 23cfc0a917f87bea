//! The learners' stream console, as far as it needs no Redis: reading a line like `redis-cli`
//! does, and knowing each command it runs (arity, keys, whether it writes) or refuses (why).

pub mod caps;
mod commands;
pub mod snippets;
mod tokenize;

pub use commands::{COMMANDS, CommandSpec, Keys, Parsed, help, parse};
pub use snippets::{Language, Snippets};
pub use tokenize::{escape_char, quote, tokenize};

/// What is wrong with a line, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleError {
    pub message: String,
    pub hint: String,
}

impl ConsoleError {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// Longest line the console reads.
pub const MAX_LINE: usize = 4096;

/// A line read and checked: the command it runs, or why it cannot run.
pub fn parse_line(line: &str) -> Result<Parsed, ConsoleError> {
    if line.len() > MAX_LINE {
        return Err(ConsoleError::new(
            format!(
                "the line is {} bytes; the console reads up to {MAX_LINE}",
                line.len()
            ),
            "split the work over several commands",
        ));
    }
    parse(tokenize(line)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_line_makes_parsing_panic(line in "\\PC{0,120}") {
            if let Ok(parsed) = parse_line(&line) {
                for at in parsed.key_positions() {
                    prop_assert!(at < parsed.argv.len());
                }
            }
        }

        #[test]
        fn no_line_of_console_words_makes_parsing_panic(
            words in proptest::collection::vec(
                prop::sample::select(vec![
                    "XADD", "XGROUP", "CREATE", "XINFO", "STREAM", "XREADGROUP", "GROUP",
                    "STREAMS", "COUNT", "s", "*", "0", "\"XGROUP CREATE\"", "\"a b\"", "'x y'",
                    "\"", "INFO", "MEMORY", "USAGE", "",
                ]),
                0..8,
            ),
        ) {
            if let Ok(parsed) = parse_line(&words.join(" ")) {
                prop_assert!(parsed.key_positions().iter().all(|&at| at < parsed.argv.len()));
            }
        }

        #[test]
        fn no_stream_read_makes_it_panic(
            head in prop::sample::select(vec!["XREAD", "XREADGROUP GROUP g c", "XREAD COUNT 1 BLOCK 5"]),
            rest in proptest::collection::vec(
                prop::sample::select(vec!["STREAMS", "streams", "a", "0", ">", "$", "COUNT", "1"]),
                0..8,
            ),
        ) {
            let line = format!("{head} {}", rest.join(" "));
            if let Ok(parsed) = parse_line(&line) {
                let keys = parsed.key_positions();
                prop_assert!(!keys.is_empty());
                prop_assert!(keys.iter().all(|&at| at < parsed.argv.len()));
            }
        }
    }

    #[test]
    fn a_line_past_the_limit_is_refused_before_it_is_read() {
        let line = format!("XADD s * a {}", "x".repeat(MAX_LINE));
        assert!(parse_line(&line).unwrap_err().message.contains("4096"));
    }
}
