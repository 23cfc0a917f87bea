//! The same command in the learner's language: a `redis-cli` line as node-redis v4 code (what
//! the lab's own programs use) and as redis-py code. Where a client has no way to say what the
//! line says, or would send something else (node-redis drops a `COUNT 0`; a JavaScript object
//! reorders a field named `1`), the snippet sends the line's words as they stand, so running a
//! snippet always does what the line does.

use serde::{Deserialize, Serialize};

use super::tokenize::quote;

/// One command three ways. `GET /api/snippets?line=` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snippets {
    /// The line as `redis-cli` reads it back.
    pub cli: String,
    /// node-redis v4, with a connected `client`.
    pub node: String,
    /// redis-py, with `r = redis.Redis(decode_responses=True)`.
    pub python: String,
}

/// The languages a command is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Cli,
    Node,
    Python,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Cli, Language::Node, Language::Python];

    /// As the language switch names it.
    pub fn label(self) -> &'static str {
        match self {
            Language::Cli => "redis-cli",
            Language::Node => "Node.js",
            Language::Python => "Python",
        }
    }

    /// As URLs and storage name it: `cli`, `node`, `python`.
    pub fn id(self) -> &'static str {
        match self {
            Language::Cli => "cli",
            Language::Node => "node",
            Language::Python => "python",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.id() == id)
    }
}

impl Snippets {
    /// The command whose words are `argv` (as [`super::tokenize`] reads a line).
    pub fn of(argv: &[String]) -> Self {
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        let command = Command::read(&words);
        Self {
            cli: words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "),
            node: command
                .as_ref()
                .and_then(node)
                .unwrap_or_else(|| node_generic(&words)),
            python: command
                .as_ref()
                .and_then(python)
                .unwrap_or_else(|| python_generic(&words)),
        }
    }

    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::Cli => &self.cli,
            Language::Node => &self.node,
            Language::Python => &self.python,
        }
    }
}

/// A trim: `MAXLEN|MINID [=|~] threshold [LIMIT n]`.
#[derive(Debug)]
struct Trim<'a> {
    by_id: bool,
    approximate: bool,
    threshold: &'a str,
    limit: Option<i64>,
}

/// The commands the clients have a method for, read from a line's words.
#[derive(Debug)]
enum Command<'a> {
    XAdd {
        key: &'a str,
        nomkstream: bool,
        trim: Option<Trim<'a>>,
        id: &'a str,
        fields: Vec<(&'a str, &'a str)>,
    },
    XRange {
        reverse: bool,
        key: &'a str,
        from: &'a str,
        to: &'a str,
        count: Option<i64>,
    },
    XRead {
        group: Option<(&'a str, &'a str)>,
        count: Option<i64>,
        block: Option<i64>,
        noack: bool,
        streams: Vec<(&'a str, &'a str)>,
    },
    XGroupCreate {
        key: &'a str,
        group: &'a str,
        id: &'a str,
        mkstream: bool,
        entries_read: Option<i64>,
    },
    XGroupSetId {
        key: &'a str,
        group: &'a str,
        id: &'a str,
        entries_read: Option<i64>,
    },
    /// `XGROUP CREATECONSUMER|DELCONSUMER|DESTROY`, `XINFO CONSUMERS`: the method, then its
    /// string arguments as they stand.
    Plain {
        node: &'static str,
        python: &'static str,
        args: Vec<&'a str>,
    },
    /// `XACK`, `XDEL`, `EXISTS`, `DEL`: some fixed arguments, then one or more.
    Many {
        node: &'static str,
        python: &'static str,
        fixed: Vec<&'a str>,
        rest: Vec<&'a str>,
    },
    XPendingRange {
        key: &'a str,
        group: &'a str,
        idle: Option<i64>,
        from: &'a str,
        to: &'a str,
        count: i64,
        consumer: Option<&'a str>,
    },
    XClaim {
        key: &'a str,
        group: &'a str,
        consumer: &'a str,
        min_idle: i64,
        ids: Vec<&'a str>,
        idle: Option<i64>,
        retrycount: Option<i64>,
        force: bool,
        justid: bool,
    },
    XAutoClaim {
        key: &'a str,
        group: &'a str,
        consumer: &'a str,
        min_idle: i64,
        start: &'a str,
        count: Option<i64>,
        justid: bool,
    },
    XTrim {
        key: &'a str,
        trim: Trim<'a>,
    },
    MemoryUsage {
        key: &'a str,
        samples: Option<i64>,
    },
    EvalSha {
        sha: &'a str,
        keys: Vec<&'a str>,
        args: Vec<&'a str>,
    },
}

/// A number written the one way the clients write it back (no `+`, no leading zeros).
fn int(word: &str) -> Option<i64> {
    word.parse().ok().filter(|n: &i64| n.to_string() == word)
}

/// A count both clients pass on as written: node-redis drops a 0, redis-py refuses it.
fn positive(word: &str) -> Option<i64> {
    int(word).filter(|&n| n > 0)
}

fn non_negative(word: &str) -> Option<i64> {
    int(word).filter(|&n| n >= 0)
}

/// The words of a line, read left to right.
struct Words<'a, 'w> {
    words: &'w [&'a str],
    at: usize,
}

impl<'a> Words<'a, '_> {
    fn next(&mut self) -> Option<&'a str> {
        let word = self.words.get(self.at).copied();
        self.at += 1;
        word
    }

    /// The next word, when it is `keyword`.
    fn eat(&mut self, keyword: &str) -> bool {
        let found = self
            .words
            .get(self.at)
            .is_some_and(|w| w.eq_ignore_ascii_case(keyword));
        self.at += usize::from(found);
        found
    }

    fn rest(&mut self) -> Vec<&'a str> {
        let rest = self.words.get(self.at..).unwrap_or_default().to_vec();
        self.at = self.words.len();
        rest
    }

    fn done(&self) -> bool {
        self.at >= self.words.len()
    }

    fn trim(&mut self, by_id: bool) -> Option<Trim<'a>> {
        let approximate = self.eat("~");
        if !approximate {
            self.eat("=");
        }
        let threshold = self.next()?;
        let limit = if self.eat("LIMIT") {
            Some(positive(self.next()?)?)
        } else {
            None
        };
        if !by_id {
            non_negative(threshold)?;
        }
        Some(Trim {
            by_id,
            approximate,
            threshold,
            limit,
        })
    }
}

impl<'a> Command<'a> {
    /// `None` when neither client has a method that sends exactly these words.
    fn read(words: &[&'a str]) -> Option<Self> {
        let (&name, rest) = words.split_first()?;
        let mut w = Words { words: rest, at: 0 };
        let upper = name.to_ascii_uppercase();
        let command = match upper.as_str() {
            "XADD" => {
                let key = w.next()?;
                let nomkstream = w.eat("NOMKSTREAM");
                let trim = if w.eat("MAXLEN") {
                    Some(w.trim(false)?)
                } else if w.eat("MINID") {
                    Some(w.trim(true)?)
                } else {
                    None
                };
                let id = w.next()?;
                let rest = w.rest();
                if rest.is_empty() || !rest.len().is_multiple_of(2) {
                    return None;
                }
                let fields = rest.chunks(2).map(|p| (p[0], p[1])).collect();
                Command::XAdd {
                    key,
                    nomkstream,
                    trim,
                    id,
                    fields,
                }
            }
            "XRANGE" | "XREVRANGE" => {
                let (key, from, to) = (w.next()?, w.next()?, w.next()?);
                let count = if w.eat("COUNT") {
                    Some(positive(w.next()?)?)
                } else {
                    None
                };
                Command::XRange {
                    reverse: upper == "XREVRANGE",
                    key,
                    from,
                    to,
                    count,
                }
            }
            "XREAD" | "XREADGROUP" => {
                let group = if upper == "XREADGROUP" {
                    w.eat("GROUP").then_some(())?;
                    Some((w.next()?, w.next()?))
                } else {
                    None
                };
                let (mut count, mut block, mut noack) = (None, None, false);
                loop {
                    if count.is_none() && w.eat("COUNT") {
                        count = Some(positive(w.next()?)?);
                    } else if block.is_none() && w.eat("BLOCK") {
                        block = Some(non_negative(w.next()?)?);
                    } else if group.is_some() && !noack && w.eat("NOACK") {
                        noack = true;
                    } else if w.eat("STREAMS") {
                        break;
                    } else {
                        return None;
                    }
                }
                let rest = w.rest();
                if rest.is_empty() || !rest.len().is_multiple_of(2) {
                    return None;
                }
                let (keys, ids) = rest.split_at(rest.len() / 2);
                let streams: Vec<_> = keys.iter().copied().zip(ids.iter().copied()).collect();
                // A dictionary of streams keeps one id per key.
                if streams
                    .iter()
                    .enumerate()
                    .any(|(i, (k, _))| keys[..i].contains(k))
                {
                    return None;
                }
                Command::XRead {
                    group,
                    count,
                    block,
                    noack,
                    streams,
                }
            }
            "XGROUP" => {
                let sub = w.next()?.to_ascii_uppercase();
                match sub.as_str() {
                    "CREATE" => {
                        let (key, group, id) = (w.next()?, w.next()?, w.next()?);
                        let mkstream = w.eat("MKSTREAM");
                        let entries_read = if w.eat("ENTRIESREAD") {
                            Some(int(w.next()?)?)
                        } else {
                            None
                        };
                        Command::XGroupCreate {
                            key,
                            group,
                            id,
                            mkstream,
                            entries_read,
                        }
                    }
                    "SETID" => {
                        let (key, group, id) = (w.next()?, w.next()?, w.next()?);
                        let entries_read = if w.eat("ENTRIESREAD") {
                            Some(int(w.next()?)?)
                        } else {
                            None
                        };
                        Command::XGroupSetId {
                            key,
                            group,
                            id,
                            entries_read,
                        }
                    }
                    "CREATECONSUMER" => {
                        plain("xGroupCreateConsumer", "xgroup_createconsumer", 3, &mut w)?
                    }
                    "DELCONSUMER" => plain("xGroupDelConsumer", "xgroup_delconsumer", 3, &mut w)?,
                    "DESTROY" => plain("xGroupDestroy", "xgroup_destroy", 2, &mut w)?,
                    _ => return None,
                }
            }
            "XINFO" => match w.next()?.to_ascii_uppercase().as_str() {
                "STREAM" => plain("xInfoStream", "xinfo_stream", 1, &mut w)?,
                "GROUPS" => plain("xInfoGroups", "xinfo_groups", 1, &mut w)?,
                "CONSUMERS" => plain("xInfoConsumers", "xinfo_consumers", 2, &mut w)?,
                _ => return None,
            },
            "XACK" => many("xAck", "xack", 2, &mut w)?,
            "XDEL" => many("xDel", "xdel", 1, &mut w)?,
            "EXISTS" => many("exists", "exists", 0, &mut w)?,
            "DEL" => many("del", "delete", 0, &mut w)?,
            "XLEN" => plain("xLen", "xlen", 1, &mut w)?,
            "TYPE" => plain("type", "type", 1, &mut w)?,
            "PING" => plain("ping", "ping", 0, &mut w)?,
            "INFO" if rest.len() == 1 => plain("info", "info", 1, &mut w)?,
            "INFO" => plain("info", "info", 0, &mut w)?,
            "XPENDING" if rest.len() == 2 => plain("xPending", "xpending", 2, &mut w)?,
            "XPENDING" => {
                let (key, group) = (w.next()?, w.next()?);
                let idle = if w.eat("IDLE") {
                    Some(positive(w.next()?)?)
                } else {
                    None
                };
                let (from, to) = (w.next()?, w.next()?);
                let count = non_negative(w.next()?)?;
                let consumer = w.next();
                Command::XPendingRange {
                    key,
                    group,
                    idle,
                    from,
                    to,
                    count,
                    consumer,
                }
            }
            "XCLAIM" => {
                let (key, group, consumer) = (w.next()?, w.next()?, w.next()?);
                let min_idle = non_negative(w.next()?)?;
                let mut ids = Vec::new();
                let (mut idle, mut retrycount, mut force, mut justid) = (None, None, false, false);
                while let Some(word) = w.next() {
                    match word.to_ascii_uppercase().as_str() {
                        "IDLE" if idle.is_none() => idle = Some(positive(w.next()?)?),
                        "RETRYCOUNT" if retrycount.is_none() => {
                            retrycount = Some(positive(w.next()?)?)
                        }
                        "FORCE" if !force => force = true,
                        "JUSTID" if !justid => justid = true,
                        "IDLE" | "RETRYCOUNT" | "FORCE" | "JUSTID" | "TIME" | "LASTID" => {
                            return None;
                        }
                        _ if idle.is_none() && retrycount.is_none() && !force && !justid => {
                            ids.push(word)
                        }
                        _ => return None,
                    }
                }
                if ids.is_empty() {
                    return None;
                }
                Command::XClaim {
                    key,
                    group,
                    consumer,
                    min_idle,
                    ids,
                    idle,
                    retrycount,
                    force,
                    justid,
                }
            }
            "XAUTOCLAIM" => {
                let (key, group, consumer) = (w.next()?, w.next()?, w.next()?);
                let min_idle = non_negative(w.next()?)?;
                let start = w.next()?;
                let count = if w.eat("COUNT") {
                    Some(positive(w.next()?)?)
                } else {
                    None
                };
                let justid = w.eat("JUSTID");
                Command::XAutoClaim {
                    key,
                    group,
                    consumer,
                    min_idle,
                    start,
                    count,
                    justid,
                }
            }
            "XTRIM" => {
                let key = w.next()?;
                let trim = if w.eat("MAXLEN") {
                    w.trim(false)?
                } else if w.eat("MINID") {
                    w.trim(true)?
                } else {
                    return None;
                };
                Command::XTrim { key, trim }
            }
            "MEMORY" => {
                w.eat("USAGE").then_some(())?;
                let key = w.next()?;
                let samples = if w.eat("SAMPLES") {
                    Some(positive(w.next()?)?)
                } else {
                    None
                };
                Command::MemoryUsage { key, samples }
            }
            "EVALSHA" => {
                let sha = w.next()?;
                let numkeys = usize::try_from(non_negative(w.next()?)?).ok()?;
                let rest = w.rest();
                if numkeys > rest.len() {
                    return None;
                }
                let (keys, args) = rest.split_at(numkeys);
                Command::EvalSha {
                    sha,
                    keys: keys.to_vec(),
                    args: args.to_vec(),
                }
            }
            _ => return None,
        };
        // Words left over are something neither method sends.
        w.done().then_some(command)
    }
}

fn plain<'a>(
    node: &'static str,
    python: &'static str,
    arity: usize,
    w: &mut Words<'a, '_>,
) -> Option<Command<'a>> {
    let args = w.rest();
    (args.len() == arity).then_some(Command::Plain { node, python, args })
}

fn many<'a>(
    node: &'static str,
    python: &'static str,
    fixed: usize,
    w: &mut Words<'a, '_>,
) -> Option<Command<'a>> {
    let mut args = w.rest();
    if args.len() <= fixed {
        return None;
    }
    let rest = args.split_off(fixed);
    Some(Command::Many {
        node,
        python,
        fixed: args,
        rest,
    })
}

/// Field names a JavaScript object literal keeps as written, in the order written: not an
/// array index (those come first, in numeric order), not `__proto__`, each once.
fn object_safe(fields: &[(&str, &str)]) -> bool {
    fields.iter().enumerate().all(|(i, (name, _))| {
        let index = name
            .parse::<u32>()
            .is_ok_and(|n| n.to_string() == *name && n < u32::MAX);
        !index && *name != "__proto__" && !fields[..i].iter().any(|(n, _)| n == name)
    })
}

/// Field names a Python dict keeps: each once.
fn distinct(fields: &[(&str, &str)]) -> bool {
    fields
        .iter()
        .enumerate()
        .all(|(i, (name, _))| !fields[..i].iter().any(|(n, _)| n == name))
}

fn js(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn py(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A JavaScript property name: bare when it can be.
fn js_key(name: &str) -> String {
    let mut chars = name.chars();
    let bare = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if bare { name.to_owned() } else { js(name) }
}

fn js_list(items: &[&str]) -> String {
    match items {
        [one] => js(one),
        many => format!(
            "[{}]",
            many.iter().map(|s| js(s)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `{ A: 1, B: 'x' }`, leaving out what is absent; `None` when nothing is present.
fn js_options(options: &[(&str, Option<String>)]) -> Option<String> {
    let present: Vec<String> = options
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}: {v}")))
        .collect();
    (!present.is_empty()).then(|| format!("{{ {} }}", present.join(", ")))
}

fn node_call(method: &str, mut args: Vec<String>, options: Option<String>) -> String {
    args.extend(options);
    format!("await client.{method}({});", args.join(", "))
}

fn node_generic(words: &[&str]) -> String {
    let words: Vec<String> = words.iter().map(|w| js(w)).collect();
    format!("await client.sendCommand([{}]);", words.join(", "))
}

fn node_trim(trim: &Trim) -> String {
    if trim.by_id {
        js(trim.threshold)
    } else {
        trim.threshold.to_owned()
    }
}

fn node(command: &Command) -> Option<String> {
    let some = |b: bool| b.then(|| "true".to_owned());
    let num = |n: &Option<i64>| n.map(|n| n.to_string());
    Some(match command {
        Command::XAdd {
            key,
            nomkstream,
            trim,
            id,
            fields,
        } => {
            if !object_safe(fields) {
                return None;
            }
            let message = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", js_key(k), js(v)))
                .collect::<Vec<_>>()
                .join(", ");
            let trim = trim.as_ref().map(|t| {
                js_options(&[
                    (
                        "strategy",
                        Some(js(if t.by_id { "MINID" } else { "MAXLEN" })),
                    ),
                    ("strategyModifier", t.approximate.then(|| js("~"))),
                    ("threshold", Some(node_trim(t))),
                    ("limit", num(&t.limit)),
                ])
                .unwrap_or_default()
            });
            node_call(
                "xAdd",
                vec![js(key), js(id), format!("{{ {message} }}")],
                js_options(&[("NOMKSTREAM", some(*nomkstream)), ("TRIM", trim)]),
            )
        }
        Command::XRange {
            reverse,
            key,
            from,
            to,
            count,
        } => node_call(
            if *reverse { "xRevRange" } else { "xRange" },
            vec![js(key), js(from), js(to)],
            js_options(&[("COUNT", num(count))]),
        ),
        Command::XRead {
            group,
            count,
            block,
            noack,
            streams,
        } => {
            let streams: Vec<String> = streams
                .iter()
                .map(|(k, id)| format!("{{ key: {}, id: {} }}", js(k), js(id)))
                .collect();
            let streams = match streams.as_slice() {
                [one] => one.clone(),
                many => format!("[{}]", many.join(", ")),
            };
            let options = js_options(&[
                ("COUNT", num(count)),
                ("BLOCK", num(block)),
                ("NOACK", some(*noack)),
            ]);
            match group {
                Some((group, consumer)) => node_call(
                    "xReadGroup",
                    vec![js(group), js(consumer), streams],
                    options,
                ),
                None => node_call("xRead", vec![streams], options),
            }
        }
        Command::XGroupCreate {
            key,
            group,
            id,
            mkstream,
            entries_read: None,
        } => node_call(
            "xGroupCreate",
            vec![js(key), js(group), js(id)],
            js_options(&[("MKSTREAM", some(*mkstream))]),
        ),
        Command::XGroupSetId {
            key,
            group,
            id,
            entries_read: None,
        } => node_call("xGroupSetId", vec![js(key), js(group), js(id)], None),
        // node-redis v4 has no ENTRIESREAD.
        Command::XGroupCreate { .. } | Command::XGroupSetId { .. } => return None,
        Command::Plain { node, args, .. } => {
            node_call(node, args.iter().map(|a| js(a)).collect(), None)
        }
        Command::Many {
            node, fixed, rest, ..
        } => {
            let mut args: Vec<String> = fixed.iter().map(|a| js(a)).collect();
            args.push(js_list(rest));
            node_call(node, args, None)
        }
        Command::XPendingRange {
            key,
            group,
            idle,
            from,
            to,
            count,
            consumer,
        } => node_call(
            "xPendingRange",
            vec![js(key), js(group), js(from), js(to), count.to_string()],
            js_options(&[("IDLE", num(idle)), ("consumer", consumer.map(js))]),
        ),
        Command::XClaim {
            key,
            group,
            consumer,
            min_idle,
            ids,
            idle,
            retrycount,
            force,
            justid,
        } => node_call(
            if *justid { "xClaimJustId" } else { "xClaim" },
            vec![
                js(key),
                js(group),
                js(consumer),
                min_idle.to_string(),
                js_list(ids),
            ],
            js_options(&[
                ("IDLE", num(idle)),
                ("RETRYCOUNT", num(retrycount)),
                ("FORCE", some(*force)),
            ]),
        ),
        Command::XAutoClaim {
            key,
            group,
            consumer,
            min_idle,
            start,
            count,
            justid,
        } => node_call(
            if *justid {
                "xAutoClaimJustId"
            } else {
                "xAutoClaim"
            },
            vec![
                js(key),
                js(group),
                js(consumer),
                min_idle.to_string(),
                js(start),
            ],
            js_options(&[("COUNT", num(count))]),
        ),
        Command::XTrim { key, trim } => node_call(
            "xTrim",
            vec![
                js(key),
                js(if trim.by_id { "MINID" } else { "MAXLEN" }),
                node_trim(trim),
            ],
            js_options(&[
                ("strategyModifier", trim.approximate.then(|| js("~"))),
                ("LIMIT", num(&trim.limit)),
            ]),
        ),
        Command::MemoryUsage { key, samples } => node_call(
            "memoryUsage",
            vec![js(key)],
            js_options(&[("SAMPLES", num(samples))]),
        ),
        Command::EvalSha { sha, keys, args } => {
            let list = |items: &[&str]| {
                format!(
                    "[{}]",
                    items.iter().map(|s| js(s)).collect::<Vec<_>>().join(", ")
                )
            };
            node_call(
                "evalSha",
                vec![js(sha)],
                js_options(&[("keys", Some(list(keys))), ("arguments", Some(list(args)))]),
            )
        }
    })
}

fn python_generic(words: &[&str]) -> String {
    let words: Vec<String> = words.iter().map(|w| py(w)).collect();
    format!("r.execute_command({})", words.join(", "))
}

fn python_call(method: &str, args: Vec<String>, keywords: &[(&str, Option<String>)]) -> String {
    let keywords = keywords
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")));
    let all: Vec<String> = args.into_iter().chain(keywords).collect();
    format!("r.{method}({})", all.join(", "))
}

/// redis-py writes `MAXLEN ~ n` unless told `approximate=False`, and takes a `LIMIT` only
/// with `~`.
fn python_trim(trim: &Trim) -> Option<Vec<(&'static str, Option<String>)>> {
    if trim.limit.is_some() && !trim.approximate {
        return None;
    }
    Some(vec![
        if trim.by_id {
            ("minid", Some(py(trim.threshold)))
        } else {
            ("maxlen", Some(trim.threshold.to_owned()))
        },
        (
            "approximate",
            (!trim.approximate).then(|| "False".to_owned()),
        ),
        ("limit", trim.limit.map(|n| n.to_string())),
    ])
}

fn python(command: &Command) -> Option<String> {
    let yes = |b: bool| b.then(|| "True".to_owned());
    let num = |n: &Option<i64>| n.map(|n| n.to_string());
    let strs = |items: &[&str]| items.iter().map(|s| py(s)).collect::<Vec<_>>();
    Some(match command {
        Command::XAdd {
            key,
            nomkstream,
            trim,
            id,
            fields,
        } => {
            if !distinct(fields) {
                return None;
            }
            let dict = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", py(k), py(v)))
                .collect::<Vec<_>>()
                .join(", ");
            let mut keywords = vec![
                ("id", (*id != "*").then(|| py(id))),
                ("nomkstream", yes(*nomkstream)),
            ];
            if let Some(trim) = trim {
                keywords.extend(python_trim(trim)?);
            }
            python_call("xadd", vec![py(key), format!("{{{dict}}}")], &keywords)
        }
        Command::XRange {
            reverse,
            key,
            from,
            to,
            count,
        } => python_call(
            if *reverse { "xrevrange" } else { "xrange" },
            vec![py(key), py(from), py(to)],
            &[("count", num(count))],
        ),
        Command::XRead {
            group,
            count,
            block,
            noack,
            streams,
        } => {
            let dict = streams
                .iter()
                .map(|(k, id)| format!("{}: {}", py(k), py(id)))
                .collect::<Vec<_>>()
                .join(", ");
            let mut args = Vec::new();
            if let Some((group, consumer)) = group {
                args.extend([py(group), py(consumer)]);
            }
            args.push(format!("{{{dict}}}"));
            python_call(
                if group.is_some() {
                    "xreadgroup"
                } else {
                    "xread"
                },
                args,
                &[
                    ("count", num(count)),
                    ("block", num(block)),
                    ("noack", yes(*noack)),
                ],
            )
        }
        Command::XGroupCreate {
            key,
            group,
            id,
            mkstream,
            entries_read,
        } => python_call(
            "xgroup_create",
            strs(&[key, group, id]),
            &[
                ("mkstream", yes(*mkstream)),
                ("entries_read", num(entries_read)),
            ],
        ),
        Command::XGroupSetId {
            key,
            group,
            id,
            entries_read,
        } => python_call(
            "xgroup_setid",
            strs(&[key, group, id]),
            &[("entries_read", num(entries_read))],
        ),
        Command::Plain { python, args, .. } => python_call(python, strs(args), &[]),
        Command::Many {
            python,
            fixed,
            rest,
            ..
        } => python_call(
            python,
            strs(fixed).into_iter().chain(strs(rest)).collect(),
            &[],
        ),
        Command::XPendingRange {
            key,
            group,
            idle,
            from,
            to,
            count,
            consumer,
        } => python_call(
            "xpending_range",
            vec![py(key), py(group), py(from), py(to), count.to_string()],
            &[("consumername", consumer.map(py)), ("idle", num(idle))],
        ),
        Command::XClaim {
            key,
            group,
            consumer,
            min_idle,
            ids,
            idle,
            retrycount,
            force,
            justid,
        } => python_call(
            "xclaim",
            vec![
                py(key),
                py(group),
                py(consumer),
                min_idle.to_string(),
                format!("[{}]", strs(ids).join(", ")),
            ],
            &[
                ("idle", num(idle)),
                ("retrycount", num(retrycount)),
                ("force", yes(*force)),
                ("justid", yes(*justid)),
            ],
        ),
        Command::XAutoClaim {
            key,
            group,
            consumer,
            min_idle,
            start,
            count,
            justid,
        } => python_call(
            "xautoclaim",
            vec![
                py(key),
                py(group),
                py(consumer),
                min_idle.to_string(),
                py(start),
            ],
            &[("count", num(count)), ("justid", yes(*justid))],
        ),
        Command::XTrim { key, trim } => python_call("xtrim", vec![py(key)], &python_trim(trim)?),
        Command::MemoryUsage { key, samples } => {
            python_call("memory_usage", vec![py(key)], &[("samples", num(samples))])
        }
        Command::EvalSha { sha, keys, args } => python_call(
            "evalsha",
            [py(sha), keys.len().to_string()]
                .into_iter()
                .chain(strs(keys))
                .chain(strs(args))
                .collect(),
            &[],
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::tokenize;

    fn of(line: &str) -> Snippets {
        Snippets::of(&tokenize(line).unwrap())
    }

    #[test]
    fn an_append_reads_as_the_lab_writes_it() {
        let s = of("XADD claims:events * type claim_submitted claim_id c-1 amount 1500");
        assert_eq!(
            s.node,
            "await client.xAdd('claims:events', '*', { type: 'claim_submitted', claim_id: 'c-1', amount: '1500' });"
        );
        assert_eq!(
            s.python,
            "r.xadd('claims:events', {'type': 'claim_submitted', 'claim_id': 'c-1', 'amount': '1500'})"
        );
        assert_eq!(
            s.cli,
            "XADD claims:events * type claim_submitted claim_id c-1 amount 1500"
        );
    }

    #[test]
    fn options_become_the_clients_own() {
        let s = of("XADD s NOMKSTREAM MAXLEN 100 5-1 a 1");
        assert_eq!(
            s.node,
            "await client.xAdd('s', '5-1', { a: '1' }, { NOMKSTREAM: true, TRIM: { strategy: 'MAXLEN', threshold: 100 } });"
        );
        assert_eq!(
            s.python,
            "r.xadd('s', {'a': '1'}, id='5-1', nomkstream=True, maxlen=100, approximate=False)"
        );
        let s = of("xreadgroup GROUP g c COUNT 10 BLOCK 0 STREAMS s >");
        assert_eq!(
            s.node,
            "await client.xReadGroup('g', 'c', { key: 's', id: '>' }, { COUNT: 10, BLOCK: 0 });"
        );
        assert_eq!(
            s.python,
            "r.xreadgroup('g', 'c', {'s': '>'}, count=10, block=0)"
        );
    }

    #[test]
    fn what_a_client_cannot_say_is_sent_as_written() {
        // node-redis v4 has no ENTRIESREAD; redis-py has.
        let s = of("XGROUP SETID s g 0 ENTRIESREAD 0");
        assert_eq!(
            s.node,
            "await client.sendCommand(['XGROUP', 'SETID', 's', 'g', '0', 'ENTRIESREAD', '0']);"
        );
        assert_eq!(s.python, "r.xgroup_setid('s', 'g', '0', entries_read=0)");
        // node-redis would drop COUNT 0; redis-py refuses it.
        assert!(of("XRANGE s - + COUNT 0").node.contains("sendCommand"));
        assert!(
            of("XRANGE s - + COUNT 0")
                .python
                .contains("execute_command")
        );
        // A field named like an array index would move first in a JavaScript object.
        let s = of("XADD s * b 1 7 2");
        assert!(s.node.contains("sendCommand"));
        assert_eq!(s.python, "r.xadd('s', {'b': '1', '7': '2'})");
        // Fields named twice.
        assert!(of("XADD s * a 1 a 2").python.contains("execute_command"));
        // Unknown commands, and words left over.
        assert!(of("HSET h a 1").node.contains("sendCommand"));
        assert!(of("XLEN s extra").python.contains("execute_command"));
    }

    #[test]
    fn text_is_quoted_for_each_language() {
        let s = of(r#"XADD s * note "it's a \"test\"\n\\""#);
        assert_eq!(
            s.node,
            r#"await client.xAdd('s', '*', { note: 'it\'s a "test"\n\\' });"#
        );
        assert_eq!(s.python, r#"r.xadd('s', {'note': 'it\'s a "test"\n\\'})"#);
        assert_eq!(s.cli, r#"XADD s * note "it's a \"test\"\n\\""#);
        assert!(of("XADD s * \"a b\" 1").node.contains("{ 'a b': '1' }"));
    }

    #[test]
    fn scripts_name_keys_and_arguments() {
        let s = of("EVALSHA abc 2 k1 k2 x");
        assert_eq!(
            s.node,
            "await client.evalSha('abc', { keys: ['k1', 'k2'], arguments: ['x'] });"
        );
        assert_eq!(s.python, "r.evalsha('abc', 2, 'k1', 'k2', 'x')");
    }

    #[test]
    fn languages_round_trip_by_id() {
        for language in Language::ALL {
            assert_eq!(Language::from_id(language.id()), Some(language));
        }
        assert_eq!(Language::from_id("ruby"), None);
    }
}
