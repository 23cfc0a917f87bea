//! What keeps one console line cheap, decided before Redis sees it: one COUNT and one BLOCK,
//! each within its cap; a few streams per read, each named once; a bounded number of ids
//! claimed at once; short group and consumer names; and the reply's worst case, worked out
//! from how large each key's entries can be, within what the console shows (COUNT lowered to
//! fit). Pure: the relay says what it knows of each key ([`KeyBound`]).

use super::{ConsoleError, Parsed};

/// Most entries one read returns.
pub const MAX_COUNT: u64 = 100;
/// Longest a read may wait for new entries.
pub const MAX_BLOCK_MS: u64 = 5000;
/// Largest reply Redis may build for one line, in its own protocol's bytes; the console
/// shows as much.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;
/// Streams one `XREAD`/`XREADGROUP` may name.
pub const MAX_STREAMS: usize = 4;
/// Longest group or consumer name a line may create.
pub const MAX_NAME_BYTES: usize = 64;
/// Consumer groups one stream of a workspace may have.
pub const MAX_GROUPS_PER_STREAM: usize = 8;
/// Consumers one group of a workspace may have.
pub const MAX_CONSUMERS_PER_GROUP: usize = 16;
/// Largest entry of the class's streams, in reply bytes: the largest event the relay writes
/// (a note of the most characters, each of four bytes) with a dead letter's fields added.
/// Checked against the event encoding in this module's tests.
pub const CLASS_ENTRY_BYTES: usize = 6 * 1024;

/// Longest stream id, `<u64>-<u64>`.
const MAX_ID_BYTES: usize = 41;

/// What the relay knows of a key a line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyBound {
    /// Reply bytes of the largest entry the key can hold (0: it holds none).
    pub entry_bytes: usize,
    /// One of the class's streams: its groups and consumers are not the learner's, so not
    /// bounded by the workspace's caps.
    pub class: bool,
}

/// Bytes one entry takes in a reply (RESP), with the longest id: `*2`, the id, then the
/// fields and values as an array of bulk strings.
pub fn entry_reply_bytes<S: AsRef<str>>(fields_and_values: &[S]) -> usize {
    let bulk = |len: usize| 1 + digits(len) + 2 + len + 2;
    let array = |n: usize| 1 + digits(n) + 2;
    array(2)
        + bulk(MAX_ID_BYTES)
        + array(fields_and_values.len())
        + fields_and_values
            .iter()
            .map(|f| bulk(f.as_ref().len()))
            .sum::<usize>()
}

fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// The fields and values of an `XADD` (what follows its id), if the line is one.
pub fn xadd_fields(parsed: &Parsed) -> Option<&[String]> {
    if parsed.spec.name != "XADD" {
        return None;
    }
    let argv = &parsed.argv;
    let is = |at: usize, word: &str| argv.get(at).is_some_and(|a| a.eq_ignore_ascii_case(word));
    let mut at = 2;
    if is(at, "NOMKSTREAM") {
        at += 1;
    }
    if is(at, "MAXLEN") || is(at, "MINID") {
        at += 1;
        if matches!(argv.get(at).map(String::as_str), Some("=" | "~")) {
            at += 1;
        }
        at += 1;
        if is(at, "LIMIT") {
            at += 2;
        }
    }
    argv.get(at + 1..)
}

/// Normalises a line's options in place, or refuses it; says what changed.
///
/// - `COUNT`: once (Redis takes the last of several), a number, at most [`MAX_COUNT`]; added
///   where a read has none. On `XREAD`/`XREADGROUP` and `XINFO STREAM ... FULL`, 0 and
///   negatives mean "no limit" to Redis, so they become the cap too.
/// - `BLOCK`: once, 0 (forever) and anything over [`MAX_BLOCK_MS`] become it.
/// - `XREAD`/`XREADGROUP`: at most [`MAX_STREAMS`] streams, each once.
/// - `XCLAIM`: at most [`MAX_COUNT`] ids, each once (a repeated id is answered again).
/// - group and consumer names a line may create: at most [`MAX_NAME_BYTES`].
pub fn normalise(parsed: &mut Parsed) -> Result<Vec<String>, ConsoleError> {
    let mut notes = Vec::new();
    check_names(parsed)?;
    options_known(parsed)?;
    let name = parsed.spec.name;
    match name {
        "XREAD" | "XREADGROUP" => {
            one_option(parsed, "BLOCK", &mut notes);
            one_option(parsed, "COUNT", &mut notes);
            streams_each_once(parsed)?;
        }
        "XRANGE" | "XREVRANGE" | "XAUTOCLAIM" => one_option(parsed, "COUNT", &mut notes),
        "XINFO STREAM" => one_option(parsed, "COUNT", &mut notes),
        "XCLAIM" => ids_each_once(parsed)?,
        "XPENDING" if parsed.argv.len() > 5 => {
            // The extended form: [IDLE ms] start end count [consumer].
            let at = if parsed.argv[3].eq_ignore_ascii_case("IDLE") {
                7
            } else {
                5
            };
            if let Some(count) = parsed.argv.get_mut(at)
                && count.parse::<u64>().is_ok_and(|n| n > MAX_COUNT)
            {
                notes.push(format!("the count {count} is {MAX_COUNT} in the console"));
                *count = MAX_COUNT.to_string();
            }
        }
        _ => {}
    }
    if let Some(at) = value_of(parsed, "COUNT") {
        count(parsed, at, &mut notes)?;
    } else if let Some(at) = count_goes(parsed) {
        let count = MAX_COUNT.to_string();
        parsed.argv.splice(at..at, ["COUNT".to_owned(), count]);
    }
    if let Some(at) = block_at(parsed) {
        let ms = &mut parsed.argv[at];
        if ms == "0" {
            *ms = MAX_BLOCK_MS.to_string();
            notes.push(format!(
                "BLOCK 0 waits forever; the console waits {MAX_BLOCK_MS} ms at most"
            ));
        } else if ms.parse::<u64>().is_ok_and(|n| n > MAX_BLOCK_MS) {
            notes.push(format!("BLOCK {ms} is {MAX_BLOCK_MS} in the console"));
            *ms = MAX_BLOCK_MS.to_string();
        }
    }
    Ok(notes)
}

/// Lowers COUNT so that the reply's worst case stays within [`MAX_REPLY_BYTES`], given the
/// largest entry of each key (`bounds`, in [`Parsed::key_positions`] order), or refuses a
/// line whose reply cannot fit. Run after [`normalise`], before keys are renamed.
pub fn fit(parsed: &mut Parsed, bounds: &[KeyBound]) -> Result<Option<String>, ConsoleError> {
    let first = bounds.first().copied().unwrap_or(KeyBound {
        entry_bytes: 0,
        class: false,
    });
    let keys: Vec<String> = parsed
        .key_positions()
        .into_iter()
        .map(|at| parsed.argv[at].clone())
        .collect();
    let typed = |i: usize| keys[i].clone();
    // Each key a reply names costs its name (renamed into the workspace: up to 40 more bytes).
    let names: usize = keys.iter().map(|k| k.len() + 64).sum();
    let (fixed, per_count) = match parsed.spec.name {
        "XRANGE" | "XREVRANGE" => (16, first.entry_bytes),
        "XREAD" | "XREADGROUP" => (16 + names, bounds.iter().map(|b| b.entry_bytes).sum()),
        "XAUTOCLAIM" => (64, first.entry_bytes + MAX_ID_BYTES + 8),
        "XCLAIM" => {
            let ids = claimed_ids(parsed).len();
            let per = if has_word(parsed, "JUSTID") {
                MAX_ID_BYTES + 8
            } else {
                first.entry_bytes
            };
            if ids * per + 16 > MAX_REPLY_BYTES {
                return Err(ConsoleError::new(
                    format!(
                        "claiming {ids} entries of {} could answer {} KB; the console answers {} KB at most",
                        typed(0),
                        (ids * per).div_ceil(1024),
                        MAX_REPLY_BYTES / 1024
                    ),
                    format!(
                        "claim at most {} at once",
                        (MAX_REPLY_BYTES - 16) / per.max(1)
                    ),
                ));
            }
            return Ok(None);
        }
        "XINFO STREAM" if has_word(parsed, "FULL") => {
            if first.class {
                return Err(ConsoleError::new(
                    format!(
                        "XINFO STREAM {} FULL lists every pending entry of every group of the class's stream",
                        typed(0)
                    ),
                    "read it in parts: XINFO GROUPS, XINFO CONSUMERS and XPENDING",
                ));
            }
            let (g, c) = (MAX_GROUPS_PER_STREAM, MAX_CONSUMERS_PER_GROUP);
            let pending = 2 * MAX_ID_BYTES + 32;
            (
                1024 + g * (320 + c * (160 + MAX_NAME_BYTES)),
                first.entry_bytes + g * pending + g * c * pending,
            )
        }
        _ => return Ok(None),
    };
    let Some(at) = value_of(parsed, "COUNT") else {
        return Ok(None);
    };
    let Ok(count) = parsed.argv[at].parse::<usize>() else {
        return Ok(None);
    };
    let allowed = MAX_REPLY_BYTES.saturating_sub(fixed) / per_count.max(1);
    if allowed == 0 {
        return Err(ConsoleError::new(
            format!(
                "one entry of each of these streams could take {} KB; the console answers {} KB at most",
                per_count.div_ceil(1024),
                MAX_REPLY_BYTES / 1024
            ),
            "read fewer streams at once",
        ));
    }
    if count <= allowed {
        return Ok(None);
    }
    parsed.argv[at] = allowed.to_string();
    let whose = if keys.len() == 1 {
        format!("an entry of {} may take", typed(0))
    } else {
        format!(
            "an entry of each of {} may take together",
            (0..keys.len()).map(typed).collect::<Vec<_>>().join(", ")
        )
    };
    Ok(Some(format!(
        "COUNT {count} is {allowed} here: {whose} {} bytes, and a reply is {} KB at most",
        per_count,
        MAX_REPLY_BYTES / 1024
    )))
}

/// How long the command may block, if it blocks (after [`normalise`]).
pub fn block_ms(parsed: &Parsed) -> Option<u64> {
    block_at(parsed).and_then(|at| parsed.argv[at].parse().ok())
}

/// The group and consumer names a line may create: `(what, position)`.
pub fn created_names(parsed: &Parsed) -> Vec<(&'static str, usize)> {
    match parsed.spec.name {
        "XGROUP CREATE" => vec![("group", 3)],
        "XGROUP CREATECONSUMER" => vec![("group", 3), ("consumer", 4)],
        "XCLAIM" | "XAUTOCLAIM" => vec![("group", 2), ("consumer", 3)],
        "XREADGROUP" => options(parsed)
            .into_iter()
            .find(|(_, word)| *word == "GROUP")
            .map(|(at, _)| vec![("group", at + 1), ("consumer", at + 2)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn check_names(parsed: &Parsed) -> Result<(), ConsoleError> {
    for (what, at) in created_names(parsed) {
        let Some(name) = parsed.argv.get(at) else {
            continue;
        };
        if name.len() > MAX_NAME_BYTES {
            return Err(ConsoleError::new(
                format!(
                    "the {what} name is {} bytes; the console takes names of up to {MAX_NAME_BYTES}",
                    name.len()
                ),
                format!("choose a shorter {what} name, e.g. {what}-1"),
            ));
        }
    }
    Ok(())
}

/// Where the options of a command stand: `(position of the keyword, the keyword)`.
fn options(parsed: &Parsed) -> Vec<(usize, &'static str)> {
    let argv = &parsed.argv;
    let (mut at, end, words): (usize, usize, &[(&'static str, usize)]) = match parsed.spec.name {
        "XREAD" => (
            1,
            parsed.streams_at().unwrap_or(argv.len()),
            &[("COUNT", 2), ("BLOCK", 2)],
        ),
        "XREADGROUP" => (
            1,
            parsed.streams_at().unwrap_or(argv.len()),
            &[("COUNT", 2), ("BLOCK", 2), ("GROUP", 3), ("NOACK", 1)],
        ),
        "XRANGE" | "XREVRANGE" => (4, argv.len(), &[("COUNT", 2)]),
        "XAUTOCLAIM" => (6, argv.len(), &[("COUNT", 2), ("JUSTID", 1)]),
        "XINFO STREAM" => (3, argv.len(), &[("FULL", 1), ("COUNT", 2)]),
        "XCLAIM" => (
            5 + claimed_ids(parsed).len(),
            argv.len(),
            &[
                ("IDLE", 2),
                ("TIME", 2),
                ("RETRYCOUNT", 2),
                ("LASTID", 2),
                ("FORCE", 1),
                ("JUSTID", 1),
            ],
        ),
        _ => return Vec::new(),
    };
    let mut found = Vec::new();
    while at < end {
        let Some(&(word, width)) = words
            .iter()
            .find(|(word, _)| argv[at].eq_ignore_ascii_case(word))
        else {
            break;
        };
        found.push((at, word));
        at += width;
    }
    found
}

/// Refuses a word where an option should stand but none does, which Redis would refuse too:
/// every option after it would go unseen by the caps.
fn options_known(parsed: &Parsed) -> Result<(), ConsoleError> {
    let trailing = matches!(
        parsed.spec.name,
        "XRANGE" | "XREVRANGE" | "XAUTOCLAIM" | "XINFO STREAM" | "XCLAIM"
    );
    if !trailing {
        return Ok(());
    }
    let first = match parsed.spec.name {
        "XRANGE" | "XREVRANGE" => 4,
        "XAUTOCLAIM" => 6,
        "XINFO STREAM" => 3,
        _ => 5 + claimed_ids(parsed).len(),
    };
    let end = options(parsed).last().map_or(first, |&(at, word)| {
        at + if OPTION_VALUES.contains(&word) { 2 } else { 1 }
    });
    match parsed.argv.get(end) {
        None => Ok(()),
        Some(word) => Err(ConsoleError::new(
            format!("{} does not take {word} there", parsed.spec.name),
            format!("usage: {}", parsed.spec.usage),
        )),
    }
}

/// Options followed by a value.
const OPTION_VALUES: [&str; 7] = [
    "COUNT",
    "BLOCK",
    "IDLE",
    "TIME",
    "RETRYCOUNT",
    "LASTID",
    "GROUP",
];

/// The position of an option's value, if the option is there.
fn value_of(parsed: &Parsed, word: &str) -> Option<usize> {
    options(parsed)
        .into_iter()
        .find(|(_, w)| *w == word)
        .map(|(at, _)| at + 1)
        .filter(|&at| at < parsed.argv.len())
}

fn has_word(parsed: &Parsed, word: &str) -> bool {
    options(parsed).iter().any(|(_, w)| *w == word)
}

/// Where a read with no COUNT gets one: before STREAMS, or at the end.
fn count_goes(parsed: &Parsed) -> Option<usize> {
    match parsed.spec.name {
        "XREAD" | "XREADGROUP" => parsed.streams_at(),
        "XRANGE" | "XREVRANGE" | "XAUTOCLAIM" => Some(parsed.argv.len()),
        "XINFO STREAM" if has_word(parsed, "FULL") => Some(parsed.argv.len()),
        _ => None,
    }
}

/// Keeps one of an option given several times, with the last one's value (as Redis reads it).
fn one_option(parsed: &mut Parsed, word: &str, notes: &mut Vec<String>) {
    let at: Vec<usize> = options(parsed)
        .into_iter()
        .filter(|(_, w)| *w == word)
        .map(|(at, _)| at)
        .filter(|at| at + 1 < parsed.argv.len())
        .collect();
    let [first, .., last] = at[..] else {
        return;
    };
    notes.push(format!(
        "{word} was given {} times; Redis reads the last, {}",
        at.len(),
        parsed.argv[last + 1]
    ));
    parsed.argv[first + 1] = parsed.argv[last + 1].clone();
    for &at in at[1..].iter().rev() {
        parsed.argv.drain(at..at + 2);
    }
}

/// Checks a COUNT's value and lowers it to the cap.
fn count(parsed: &mut Parsed, at: usize, notes: &mut Vec<String>) -> Result<(), ConsoleError> {
    let no_limit_below_one = matches!(parsed.spec.name, "XREAD" | "XREADGROUP" | "XINFO STREAM");
    let value = &mut parsed.argv[at];
    let Ok(n) = value.parse::<i64>() else {
        return Err(ConsoleError::new(
            format!("COUNT takes a number, not {value}"),
            format!("e.g. COUNT 10 (the console reads {MAX_COUNT} at most)"),
        ));
    };
    if n < 1 && no_limit_below_one {
        notes.push(format!(
            "COUNT {n} means no limit to Redis; the console reads {MAX_COUNT} at most"
        ));
        *value = MAX_COUNT.to_string();
    } else if n > MAX_COUNT as i64 {
        notes.push(format!("COUNT {n} is {MAX_COUNT} in the console"));
        *value = MAX_COUNT.to_string();
    }
    Ok(())
}

fn block_at(parsed: &Parsed) -> Option<usize> {
    matches!(parsed.spec.name, "XREAD" | "XREADGROUP")
        .then(|| value_of(parsed, "BLOCK"))
        .flatten()
}

fn streams_each_once(parsed: &Parsed) -> Result<(), ConsoleError> {
    let keys = parsed.key_positions();
    let name = parsed.spec.name;
    if keys.len() > MAX_STREAMS {
        return Err(ConsoleError::new(
            format!(
                "{name} names {} streams; the console reads {MAX_STREAMS} at most in one line",
                keys.len()
            ),
            "read the others in a second line",
        ));
    }
    for (i, &at) in keys.iter().enumerate() {
        if keys[..i]
            .iter()
            .any(|&before| parsed.argv[before] == parsed.argv[at])
        {
            return Err(ConsoleError::new(
                format!("{name} names {} twice", parsed.argv[at]),
                "name each stream once, with the id to read after",
            ));
        }
    }
    Ok(())
}

/// The ids an `XCLAIM` names (between min-idle-time and its options).
fn claimed_ids(parsed: &Parsed) -> &[String] {
    let rest = parsed.argv.get(5..).unwrap_or_default();
    let is_id = |a: &String| {
        let mut parts = a.splitn(2, '-');
        let ms = parts.next().unwrap_or_default();
        !ms.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && parts
                .next()
                .is_none_or(|s| s.bytes().all(|b| b.is_ascii_digit()))
    };
    let end = rest.iter().position(|a| !is_id(a)).unwrap_or(rest.len());
    &rest[..end]
}

fn ids_each_once(parsed: &Parsed) -> Result<(), ConsoleError> {
    let ids = claimed_ids(parsed);
    if ids.len() as u64 > MAX_COUNT {
        return Err(ConsoleError::new(
            format!(
                "XCLAIM names {} ids; the console claims {MAX_COUNT} at most in one line",
                ids.len()
            ),
            "claim the others in a second line, or use XAUTOCLAIM with COUNT",
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(ConsoleError::new(
                format!("XCLAIM names {id} twice; Redis would answer it twice"),
                "name each id once",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::parse_line;
    use proptest::prelude::*;

    fn normalised(line: &str) -> (String, Vec<String>) {
        let mut parsed = parse_line(line).unwrap();
        let notes = normalise(&mut parsed).unwrap();
        (parsed.argv.join(" "), notes)
    }

    fn refused(line: &str) -> ConsoleError {
        let mut parsed = parse_line(line).unwrap();
        normalise(&mut parsed).unwrap_err()
    }

    #[test]
    fn reads_get_one_count_within_the_cap() {
        assert_eq!(normalised("XRANGE s - +").0, "XRANGE s - + COUNT 100");
        assert_eq!(
            normalised("XREAD STREAMS s 0").0,
            "XREAD COUNT 100 STREAMS s 0"
        );
        let (line, notes) = normalised("XREADGROUP GROUP g c COUNT 5000 STREAMS s >");
        assert_eq!(line, "XREADGROUP GROUP g c COUNT 100 STREAMS s >");
        assert_eq!(notes, ["COUNT 5000 is 100 in the console"]);
        assert_eq!(normalised("XRANGE s - + COUNT 7").0, "XRANGE s - + COUNT 7");
        // 0 and negatives mean "no limit" to XREAD; to XRANGE they mean an empty reply.
        assert_eq!(
            normalised("XREAD COUNT 0 STREAMS s 0").0,
            "XREAD COUNT 100 STREAMS s 0"
        );
        assert_eq!(
            normalised("XREAD COUNT -1 STREAMS s 0").0,
            "XREAD COUNT 100 STREAMS s 0"
        );
        assert_eq!(normalised("XRANGE s - + COUNT 0").0, "XRANGE s - + COUNT 0");
        // Redis takes the last of several.
        let (line, notes) = normalised("XREAD COUNT 1 COUNT 100000 STREAMS s 0");
        assert_eq!(line, "XREAD COUNT 100 STREAMS s 0");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(
            normalised("XREAD COUNT 100000 BLOCK 5 COUNT 3 STREAMS s 0").0,
            "XREAD COUNT 3 BLOCK 5 STREAMS s 0"
        );
        assert!(
            refused("XREAD COUNT x STREAMS s 0")
                .message
                .contains("number")
        );
        assert_eq!(
            normalised("XPENDING s g IDLE 5 - + 1000 c").0,
            "XPENDING s g IDLE 5 - + 100 c"
        );
        assert_eq!(
            normalised("XINFO STREAM s FULL COUNT 0").0,
            "XINFO STREAM s FULL COUNT 100"
        );
        assert_eq!(
            normalised("XINFO STREAM s FULL").0,
            "XINFO STREAM s FULL COUNT 100"
        );
        assert_eq!(normalised("XINFO STREAM s").0, "XINFO STREAM s");
        assert_eq!(
            normalised("XAUTOCLAIM s g c 0 0 COUNT 100000000 JUSTID").0,
            "XAUTOCLAIM s g c 0 0 COUNT 100 JUSTID"
        );
    }

    #[test]
    fn blocking_is_bounded_and_given_once() {
        let (line, notes) = normalised("XREAD BLOCK 0 STREAMS s $");
        assert_eq!(line, "XREAD BLOCK 5000 COUNT 100 STREAMS s $");
        assert_eq!(notes.len(), 1);
        assert_eq!(
            normalised("XREAD BLOCK 60000 STREAMS s $").0,
            "XREAD BLOCK 5000 COUNT 100 STREAMS s $"
        );
        let mut parsed = parse_line("XREAD BLOCK 1 BLOCK 0 STREAMS s $").unwrap();
        normalise(&mut parsed).unwrap();
        assert_eq!(block_ms(&parsed), Some(MAX_BLOCK_MS));
        let mut parsed = parse_line("XREAD BLOCK 250 STREAMS s $").unwrap();
        normalise(&mut parsed).unwrap();
        assert_eq!(block_ms(&parsed), Some(250));
        // A stream called BLOCK is a key, not the option.
        let mut parsed = parse_line("XREAD STREAMS BLOCK 0").unwrap();
        normalise(&mut parsed).unwrap();
        assert_eq!(block_ms(&parsed), None);
    }

    #[test]
    fn reads_name_a_few_streams_each_once() {
        assert!(
            refused("XREAD STREAMS s s 0 0")
                .message
                .contains("names s twice")
        );
        assert!(
            refused("XREAD STREAMS a b c d e 0 0 0 0 0")
                .message
                .contains("4 at most")
        );
        normalised("XREAD STREAMS a b c d 0 0 0 0");
    }

    #[test]
    fn claims_name_each_id_once_and_names_are_short() {
        assert!(
            refused("XCLAIM s g c 0 1-1 1-1 JUSTID")
                .message
                .contains("1-1 twice")
        );
        normalised("XCLAIM s g c 0 1-1 1-2 JUSTID");
        let many: Vec<String> = (1..=101).map(|n| format!("{n}-0")).collect();
        let line = format!("XCLAIM s g c 0 {}", many.join(" "));
        assert!(refused(&line).message.contains("100 at most"));
        let long = "g".repeat(MAX_NAME_BYTES + 1);
        assert!(
            refused(&format!("XGROUP CREATE s {long} $"))
                .message
                .contains("group name is 65 bytes")
        );
        assert!(
            refused(&format!("XREADGROUP GROUP g {long} STREAMS s >"))
                .message
                .contains("consumer name")
        );
        normalised(&format!("XGROUP CREATE s {} $", &long[1..]));
    }

    fn own(entry_bytes: usize) -> KeyBound {
        KeyBound {
            entry_bytes,
            class: false,
        }
    }

    #[test]
    fn count_is_lowered_until_the_worst_case_fits() {
        let mut parsed = parse_line("XRANGE s - + COUNT 100").unwrap();
        assert_eq!(fit(&mut parsed, &[own(300)]).unwrap(), None);
        let note = fit(&mut parsed, &[own(4000)]).unwrap().unwrap();
        assert_eq!(parsed.argv[5], "16");
        assert!(note.starts_with("COUNT 100 is 16 here"), "{note}");
        let mut parsed = parse_line("XREAD COUNT 100 STREAMS a b 0 0").unwrap();
        fit(&mut parsed, &[own(1000), own(3000)]).unwrap();
        assert_eq!(parsed.argv[2], "16");
        // Nothing written to a key: nothing to lower.
        let mut parsed = parse_line("XREAD COUNT 100 STREAMS a 0").unwrap();
        assert_eq!(fit(&mut parsed, &[own(0)]).unwrap(), None);
    }

    #[test]
    fn the_class_streams_full_info_is_refused_and_claims_that_cannot_fit_too() {
        let class = KeyBound {
            entry_bytes: CLASS_ENTRY_BYTES,
            class: true,
        };
        let mut parsed = parse_line("XINFO STREAM demo:claims:events FULL COUNT 10").unwrap();
        assert!(fit(&mut parsed, &[class]).is_err());
        let mut parsed = parse_line("XINFO STREAM s FULL COUNT 100").unwrap();
        fit(&mut parsed, &[own(300)]).unwrap();
        assert!(parsed.argv[5].parse::<usize>().unwrap() < 100);
        let ids: Vec<String> = (1..=50).map(|n| format!("{n}-0")).collect();
        let mut parsed = parse_line(&format!("XCLAIM s g c 0 {}", ids.join(" "))).unwrap();
        assert!(fit(&mut parsed, &[own(4000)]).is_err());
        assert!(fit(&mut parsed, &[own(300)]).unwrap().is_none());
    }

    #[test]
    fn an_entry_is_counted_as_redis_sends_it() {
        // *2 $41 <id> *2 $1 a $3 abc
        let expected = 4 + (5 + 41 + 2) + 4 + (4 + 1 + 2) + (4 + 3 + 2);
        assert_eq!(entry_reply_bytes(&["a", "abc"]), expected);
        let parsed = parse_line("XADD s MAXLEN ~ 10 * a 1 b 2").unwrap();
        assert_eq!(xadd_fields(&parsed).unwrap(), ["a", "1", "b", "2"]);
        let parsed = parse_line("XADD s NOMKSTREAM MINID 5 LIMIT 3 1-1 a 1").unwrap();
        assert_eq!(xadd_fields(&parsed).unwrap(), ["a", "1"]);
    }

    #[test]
    fn the_largest_event_fits_the_class_entry_bound() {
        use crate::event::{ClaimEvent, EventPayload};
        use crate::{Adjuster, ClaimId, CustomerId, DocumentName, Note, Timestamp};
        let wide = |n: usize| "\u{1F600}".repeat(n);
        let id = "C".repeat(crate::ids::MAX_ID_LEN);
        let event = ClaimEvent {
            v: 2,
            claim_id: ClaimId::parse(&id).unwrap(),
            customer_id: Some(CustomerId::parse(&id).unwrap()),
            timestamp: Timestamp::from_unix_millis(1_795_000_000_000).unwrap(),
            payload: EventPayload::ClaimNoteAdded {
                adjuster: Adjuster::parse(&wide(crate::text::MAX_NAME_CHARS)).unwrap(),
                note: Note::parse(&wide(crate::text::MAX_NOTE_CHARS)).unwrap(),
                document: Some(DocumentName::parse(&wide(crate::text::MAX_NAME_CHARS)).unwrap()),
            },
        };
        let mut fields: Vec<String> = crate::stream_codec::encode(&event)
            .into_iter()
            .flat_map(|(k, v)| [k.to_owned(), v])
            .collect();
        // A dead letter adds where it came from and why it failed.
        fields.extend(
            [
                "original_id",
                "error_message",
                "failed_at",
                "group",
                "deliveries",
            ]
            .into_iter()
            .flat_map(|k| [k.to_owned(), "x".repeat(100)]),
        );
        let bytes = entry_reply_bytes(&fields);
        assert!(bytes <= CLASS_ENTRY_BYTES, "{bytes}");
    }

    proptest! {
        /// No line the console accepts can make Redis build a reply larger than the cap:
        /// the worst case of what is left, worked out again, fits.
        #[test]
        fn no_accepted_read_can_answer_more_than_the_cap(
            head in prop::sample::select(vec![
                "XREAD", "XREADGROUP GROUP g c", "XRANGE s - +", "XREVRANGE s + -",
                "XAUTOCLAIM s g c 0 0", "XINFO STREAM s FULL",
            ]),
            options in proptest::collection::vec(
                prop::sample::select(vec![
                    "COUNT 0", "COUNT -1", "COUNT 1", "COUNT 100000", "COUNT 99",
                    "BLOCK 0", "BLOCK 10", "NOACK", "JUSTID",
                ]),
                0..5,
            ),
            streams in 1usize..6,
            entry in prop::sample::select(vec![0usize, 60, 300, 4000, 15_000]),
        ) {
            let reads = head.starts_with("XREAD");
            let line = if reads {
                let keys: Vec<String> = (0..streams).map(|n| format!("s{n}")).collect();
                format!(
                    "{head} {} STREAMS {} {}",
                    options.join(" "),
                    keys.join(" "),
                    vec!["0"; streams].join(" ")
                )
            } else {
                format!("{head} {}", options.join(" "))
            };
            let Ok(mut parsed) = parse_line(&line) else { return Ok(()) };
            if normalise(&mut parsed).is_err() {
                return Ok(());
            }
            let bounds = vec![own(entry); parsed.key_positions().len()];
            if fit(&mut parsed, &bounds).is_err() {
                return Ok(());
            }
            let count: Option<u64> = value_of(&parsed, "COUNT")
                .and_then(|at| parsed.argv[at].parse().ok());
            if let Some(count) = count {
                prop_assert!(count <= MAX_COUNT, "{line} -> {:?}", parsed.argv);
                let per: usize = bounds.iter().map(|b| b.entry_bytes).sum();
                prop_assert!(count as usize * per <= MAX_REPLY_BYTES, "{line} -> {:?}", parsed.argv);
            } else {
                prop_assert!(!reads, "a read without COUNT: {line} -> {:?}", parsed.argv);
            }
            let counts = parsed.argv.iter().filter(|a| a.eq_ignore_ascii_case("COUNT")).count();
            prop_assert!(counts <= 1 + usize::from(parsed.key_positions().iter().any(|&k| parsed.argv[k] == "COUNT")));
            // Fitting again changes nothing: what is left already fits.
            let before = parsed.argv.clone();
            prop_assert_eq!(fit(&mut parsed, &bounds).unwrap(), None);
            prop_assert_eq!(before, parsed.argv);
        }
    }
}
