//! The commands the console runs, and those it refuses with the reason. One table serves the
//! relay (arity, which arguments are keys, what writes) and the browser (completion and the
//! one-line help).

use super::ConsoleError;

/// Which arguments of a command are key names (counted after the command's name words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    None,
    /// The first argument.
    First,
    /// Every argument (`EXISTS`, `DEL`).
    All,
    /// The first half of what follows `STREAMS` (`XREAD`, `XREADGROUP`).
    AfterStreams,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// One or two words, upper case: `XADD`, `XGROUP CREATE`.
    pub name: &'static str,
    pub usage: &'static str,
    pub summary: &'static str,
    /// Arguments after the name words: at least this many ...
    pub min_args: usize,
    /// ... and at most this many (`None`: no limit).
    pub max_args: Option<usize>,
    pub keys: Keys,
    /// Changes data, so never allowed on the class's shared streams.
    pub writes: bool,
}

const fn spec(
    name: &'static str,
    usage: &'static str,
    summary: &'static str,
    (min_args, max_args): (usize, Option<usize>),
    keys: Keys,
    writes: bool,
) -> CommandSpec {
    CommandSpec {
        name,
        usage,
        summary,
        min_args,
        max_args,
        keys,
        writes,
    }
}

/// Everything the console runs, in the order the help lists them.
pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "XADD",
        "XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold] <*|id> field value [field value ...]",
        "append an entry to a stream (creating it), returning its id",
        (4, None),
        Keys::First,
        true,
    ),
    spec(
        "XRANGE",
        "XRANGE key start end [COUNT count]",
        "entries from start to end, oldest first (- and + are the ends)",
        (3, Some(5)),
        Keys::First,
        false,
    ),
    spec(
        "XREVRANGE",
        "XREVRANGE key end start [COUNT count]",
        "entries from end back to start, newest first",
        (3, Some(5)),
        Keys::First,
        false,
    ),
    spec(
        "XREAD",
        "XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]",
        "entries after the given ids, waiting up to BLOCK ms for new ones ($: only new)",
        (3, None),
        Keys::AfterStreams,
        false,
    ),
    spec(
        "XREADGROUP",
        "XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key [key ...] id [id ...]",
        "read as a consumer of a group: > for new entries, 0 for your pending ones",
        (6, None),
        Keys::AfterStreams,
        true,
    ),
    spec(
        "XGROUP CREATE",
        "XGROUP CREATE key group <id|$> [MKSTREAM] [ENTRIESREAD n]",
        "create a consumer group that starts after id (0: the whole stream, $: only new)",
        (3, Some(6)),
        Keys::First,
        true,
    ),
    spec(
        "XGROUP CREATECONSUMER",
        "XGROUP CREATECONSUMER key group consumer",
        "add a consumer to a group before it reads",
        (3, Some(3)),
        Keys::First,
        true,
    ),
    spec(
        "XGROUP DELCONSUMER",
        "XGROUP DELCONSUMER key group consumer",
        "remove a consumer; its pending entries are forgotten",
        (3, Some(3)),
        Keys::First,
        true,
    ),
    spec(
        "XGROUP SETID",
        "XGROUP SETID key group <id|$> [ENTRIESREAD n]",
        "move a group's last-delivered id, e.g. 0 to read everything again",
        (3, Some(5)),
        Keys::First,
        true,
    ),
    spec(
        "XGROUP DESTROY",
        "XGROUP DESTROY key group",
        "delete a consumer group and its pending entries",
        (2, Some(2)),
        Keys::First,
        true,
    ),
    spec(
        "XACK",
        "XACK key group id [id ...]",
        "acknowledge entries: they leave the group's pending list",
        (3, None),
        Keys::First,
        true,
    ),
    spec(
        "XPENDING",
        "XPENDING key group [[IDLE ms] start end count [consumer]]",
        "entries delivered but not yet acknowledged: a summary, or each one",
        (2, Some(8)),
        Keys::First,
        false,
    ),
    spec(
        "XCLAIM",
        "XCLAIM key group consumer min-idle-ms id [id ...] [IDLE ms] [RETRYCOUNT n] [FORCE] [JUSTID]",
        "take over pending entries idle at least min-idle-ms",
        (5, None),
        Keys::First,
        true,
    ),
    spec(
        "XAUTOCLAIM",
        "XAUTOCLAIM key group consumer min-idle-ms start [COUNT count] [JUSTID]",
        "scan the pending list from start and take over what is idle long enough",
        (5, Some(8)),
        Keys::First,
        true,
    ),
    spec(
        "XINFO STREAM",
        "XINFO STREAM key [FULL [COUNT count]]",
        "a stream's length, ids, groups and first and last entries",
        (1, Some(4)),
        Keys::First,
        false,
    ),
    spec(
        "XINFO GROUPS",
        "XINFO GROUPS key",
        "a stream's groups: consumers, pending, last-delivered id, lag",
        (1, Some(1)),
        Keys::First,
        false,
    ),
    spec(
        "XINFO CONSUMERS",
        "XINFO CONSUMERS key group",
        "a group's consumers: pending entries and idle time",
        (2, Some(2)),
        Keys::First,
        false,
    ),
    spec(
        "XLEN",
        "XLEN key",
        "how many entries a stream holds",
        (1, Some(1)),
        Keys::First,
        false,
    ),
    spec(
        "XTRIM",
        "XTRIM key <MAXLEN|MINID> [=|~] threshold [LIMIT count]",
        "remove the oldest entries, keeping MAXLEN entries or those from MINID on",
        (3, Some(6)),
        Keys::First,
        true,
    ),
    spec(
        "XDEL",
        "XDEL key id [id ...]",
        "delete entries by id",
        (2, None),
        Keys::First,
        true,
    ),
    spec(
        "PING",
        "PING [message]",
        "check the connection: PONG",
        (0, Some(1)),
        Keys::None,
        false,
    ),
    spec(
        "TYPE",
        "TYPE key",
        "what a key holds: stream, string, none ...",
        (1, Some(1)),
        Keys::First,
        false,
    ),
    spec(
        "EXISTS",
        "EXISTS key [key ...]",
        "how many of the keys exist",
        (1, None),
        Keys::All,
        false,
    ),
    spec(
        "DEL",
        "DEL key [key ...]",
        "delete keys of your workspace",
        (1, None),
        Keys::All,
        true,
    ),
    spec(
        "INFO MEMORY",
        "INFO memory",
        "the server's memory use and limit",
        (0, Some(0)),
        Keys::None,
        false,
    ),
    spec(
        "MEMORY USAGE",
        "MEMORY USAGE key [SAMPLES count]",
        "bytes a key takes in memory",
        (1, Some(3)),
        Keys::First,
        false,
    ),
];

/// Commands with subcommands: the name a line must go on with.
const PARENTS: &[(&str, &str)] = &[
    (
        "XGROUP",
        "CREATE, CREATECONSUMER, DELCONSUMER, SETID or DESTROY",
    ),
    ("XINFO", "STREAM, GROUPS or CONSUMERS"),
    ("INFO", "memory"),
    ("MEMORY", "USAGE"),
];

/// Commands Redis has that the console will not run, and why.
const REFUSED: &[(&[&str], &str)] = &[
    (
        &[
            "FLUSHALL", "FLUSHDB", "SWAPDB", "SELECT", "MOVE", "RENAME", "RENAMENX", "COPY",
        ],
        "it works on the whole database or moves keys between places, other learners' and the class's demo included",
    ),
    (
        &[
            "CONFIG",
            "DEBUG",
            "SHUTDOWN",
            "MODULE",
            "ACL",
            "SAVE",
            "BGSAVE",
            "BGREWRITEAOF",
            "REPLICAOF",
            "SLAVEOF",
            "FAILOVER",
            "CLUSTER",
            "LATENCY",
            "SLOWLOG",
            "LASTSAVE",
            "LOLWUT",
            "COMMAND",
        ],
        "it administers the server everyone shares",
    ),
    (
        &[
            "EVAL",
            "EVALSHA",
            "EVAL_RO",
            "EVALSHA_RO",
            "SCRIPT",
            "FUNCTION",
            "FCALL",
            "FCALL_RO",
        ],
        "a script can touch any key; the console runs one stream command at a time",
    ),
    (
        &["KEYS", "SCAN", "RANDOMKEY", "DBSIZE"],
        "it would list every learner's keys; EXISTS and TYPE tell you about your own",
    ),
    (
        &[
            "SUBSCRIBE",
            "PSUBSCRIBE",
            "SSUBSCRIBE",
            "MONITOR",
            "SYNC",
            "PSYNC",
            "WAIT",
            "WAITAOF",
        ],
        "it holds the connection open; the console answers each line and is done",
    ),
    (
        &[
            "CLIENT", "HELLO", "AUTH", "RESET", "QUIT", "MULTI", "EXEC", "DISCARD", "WATCH",
            "UNWATCH",
        ],
        "it changes the connection the relay shares with everyone",
    ),
    (
        &[
            "XSETID", "OBJECT", "DUMP", "RESTORE", "MIGRATE", "EXPIRE", "PEXPIRE", "EXPIREAT",
            "PERSIST", "TTL", "PTTL",
        ],
        "it is not part of this lab; the console keeps to streams",
    ),
];

/// One line parsed: what it runs and all its arguments, name words included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub spec: &'static CommandSpec,
    /// As typed, e.g. `["xgroup", "create", "s", "g", "$"]`.
    pub argv: Vec<String>,
}

impl Parsed {
    /// How many words the command's name takes (`XGROUP CREATE`: 2).
    pub fn name_words(&self) -> usize {
        self.spec.name.split(' ').count()
    }

    /// The positions in `argv` of the key names.
    pub fn key_positions(&self) -> Vec<usize> {
        let first = self.name_words();
        match self.spec.keys {
            Keys::None => Vec::new(),
            Keys::First => vec![first],
            Keys::All => (first..self.argv.len()).collect(),
            Keys::AfterStreams => {
                let Some(streams) = self.streams_at() else {
                    return Vec::new();
                };
                let rest = self.argv.len() - streams - 1;
                (streams + 1..streams + 1 + rest / 2).collect()
            }
        }
    }

    /// Where `STREAMS` stands in an `XREAD` or `XREADGROUP`, found the way Redis finds it:
    /// past the options (`COUNT n`, `BLOCK ms`, `GROUP g c`, `NOACK`), so a group or consumer
    /// called `STREAMS` is not taken for it. `None` when the options do not lead to it.
    pub fn streams_at(&self) -> Option<usize> {
        let group = self.spec.name == "XREADGROUP";
        let mut at = 1;
        while let Some(word) = self.argv.get(at) {
            at += match word.to_ascii_uppercase().as_str() {
                "STREAMS" => return Some(at),
                "COUNT" | "BLOCK" => 2,
                "GROUP" if group => 3,
                "NOACK" if group => 1,
                _ => return None,
            };
        }
        None
    }
}

/// The command a line's arguments name, checked for arity; a refused or unknown command, or
/// a wrong number of arguments, says why and what would work.
pub fn parse(argv: Vec<String>) -> Result<Parsed, ConsoleError> {
    let Some(first) = argv.first() else {
        return Err(ConsoleError::new(
            "nothing to run",
            "type a command, e.g. XADD claims:events * type demo",
        ));
    };
    let word = first.to_ascii_uppercase();
    if let Some((_, reason)) = REFUSED
        .iter()
        .find(|(names, _)| names.contains(&word.as_str()))
    {
        return Err(ConsoleError::new(
            format!("{word} is not allowed here: {reason}"),
            "HELP lists what the console runs",
        ));
    }
    // The name is one word, or a parent and its subcommand: as many arguments as words.
    let (name, words) = match PARENTS.iter().find(|(parent, _)| *parent == word) {
        Some((parent, subcommands)) => {
            let Some(sub) = argv.get(1) else {
                return Err(ConsoleError::new(
                    format!("{parent} needs a subcommand"),
                    format!("{parent} takes {subcommands}"),
                ));
            };
            (format!("{parent} {}", sub.to_ascii_uppercase()), 2)
        }
        None => (word.clone(), 1),
    };
    let found = COMMANDS
        .iter()
        .find(|c| c.name == name && c.name.split(' ').count() == words);
    let Some(spec) = found else {
        let hint = match closest(&name) {
            Some(near) => format!(
                "did you mean {}? HELP lists what the console runs",
                near.name
            ),
            None => "HELP lists what the console runs".to_owned(),
        };
        return Err(ConsoleError::new(
            format!("unknown command '{}'", argv[..words].join(" ")),
            hint,
        ));
    };
    let parsed = Parsed { spec, argv };
    let given = parsed.argv.len() - parsed.name_words();
    let too_few = given < spec.min_args;
    let too_many = spec.max_args.is_some_and(|max| given > max);
    let streams_uneven = spec.keys == Keys::AfterStreams
        && parsed.streams_at().is_none_or(|at| {
            let rest = parsed.argv.len() - at - 1;
            rest == 0 || rest % 2 == 1
        });
    if too_few || too_many || streams_uneven {
        let message = if streams_uneven && !too_few && !too_many {
            format!(
                "{} needs STREAMS followed by as many ids as keys",
                spec.name
            )
        } else {
            format!("wrong number of arguments for {}", spec.name)
        };
        return Err(ConsoleError::new(message, format!("usage: {}", spec.usage)));
    }
    Ok(parsed)
}

/// The allowed command nearest to what was typed, if it is a slip away.
fn closest(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS
        .iter()
        .map(|c| (distance(c.name, name), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The one-line help of a command, by its first word(s) as typed.
pub fn help(name: &str) -> Option<&'static CommandSpec> {
    let name = name.trim().to_ascii_uppercase();
    COMMANDS.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::tokenize;

    fn parse_line(line: &str) -> Result<Parsed, ConsoleError> {
        parse(tokenize(line)?)
    }

    fn keys(line: &str) -> Vec<String> {
        let p = parse_line(line).unwrap();
        p.key_positions()
            .iter()
            .map(|&i| p.argv[i].clone())
            .collect()
    }

    #[test]
    fn keys_are_found_wherever_a_command_keeps_them() {
        assert_eq!(keys("XADD claims:events * a 1"), ["claims:events"]);
        assert_eq!(keys("xgroup create s g $ MKSTREAM"), ["s"]);
        assert_eq!(keys("XREAD COUNT 2 STREAMS a b 0 0"), ["a", "b"]);
        assert_eq!(keys("XREADGROUP GROUP g c BLOCK 10 streams s >"), ["s"]);
        assert_eq!(keys("DEL a b c"), ["a", "b", "c"]);
        // A group and a consumer named STREAMS are not the keyword.
        assert_eq!(
            keys("XREADGROUP GROUP STREAMS STREAMS COUNT 1 STREAMS s >"),
            ["s"]
        );
        assert_eq!(keys("XREAD BLOCK 5 COUNT 1 STREAMS STREAMS 0"), ["STREAMS"]);
        assert!(parse_line("XREAD COUNT STREAMS s 0").is_err());
        assert!(keys("PING").is_empty());
        assert!(keys("INFO memory").is_empty());
    }

    #[test]
    fn refused_commands_say_why() {
        let e = parse_line("flushall").unwrap_err();
        assert!(
            e.message.starts_with("FLUSHALL is not allowed here: "),
            "{e:?}"
        );
        assert!(
            parse_line("EVAL 'return 1' 0")
                .unwrap_err()
                .message
                .contains("script")
        );
        assert!(
            parse_line("KEYS *")
                .unwrap_err()
                .message
                .contains("every learner")
        );
        assert!(parse_line("CONFIG SET maxmemory 1").is_err());
    }

    #[test]
    fn unknown_commands_and_subcommands_suggest_the_nearest() {
        let e = parse_line("XADDD s * a 1").unwrap_err();
        assert_eq!(e.message, "unknown command 'XADDD'");
        assert!(e.hint.contains("did you mean XADD?"), "{e:?}");
        let e = parse_line("XGROUP CRATE s g $").unwrap_err();
        assert_eq!(e.message, "unknown command 'XGROUP CRATE'");
        assert!(e.hint.contains("XGROUP CREATE"), "{e:?}");
        assert!(parse_line("XGROUP").unwrap_err().hint.contains("CREATE"));
        assert!(
            parse_line("HSET h f v")
                .unwrap_err()
                .hint
                .starts_with("HELP")
        );
    }

    #[test]
    fn a_name_quoted_with_spaces_is_no_command() {
        let e = parse_line(r#""XGROUP CREATE" s g $"#).unwrap_err();
        assert_eq!(e.message, "unknown command 'XGROUP CREATE'");
        let e = parse_line(r#"XGROUP "CREATE s" g $"#).unwrap_err();
        assert_eq!(e.message, "unknown command 'XGROUP CREATE s'");
        assert!(parse_line(r#""a b""#).is_err());
    }

    #[test]
    fn wrong_arity_gives_the_usage() {
        let e = parse_line("XADD s *").unwrap_err();
        assert_eq!(e.message, "wrong number of arguments for XADD");
        assert!(e.hint.starts_with("usage: XADD key"), "{e:?}");
        assert!(parse_line("XLEN a b").is_err());
        let e = parse_line("XREAD STREAMS a b 0").unwrap_err();
        assert!(e.message.contains("as many ids as keys"), "{e:?}");
        assert!(parse_line("XREAD COUNT 1 0").is_err());
        assert!(parse_line("XREAD STREAMS a 0").is_ok());
    }

    #[test]
    fn every_command_has_help_and_a_usage_starting_with_its_name() {
        for c in COMMANDS {
            assert_eq!(help(c.name), Some(c));
            assert!(
                c.usage.to_ascii_uppercase().starts_with(c.name),
                "{}",
                c.usage
            );
        }
    }
}
