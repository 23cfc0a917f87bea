//! What keeps one console line cheap: COUNT and BLOCK capped, replies cut at a size.

use shared::console::Parsed;

/// Most entries one read returns.
pub const MAX_COUNT: u64 = 100;
/// Longest a read may wait for new entries.
pub const MAX_BLOCK_MS: u64 = 5000;
/// Longest reply shown.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// Caps COUNT and BLOCK in place (adding COUNT where a read has none), and says what changed.
pub fn apply(parsed: &mut Parsed) -> Vec<String> {
    let mut notes = Vec::new();
    let name = parsed.spec.name;
    let reads = matches!(
        name,
        "XRANGE" | "XREVRANGE" | "XREAD" | "XREADGROUP" | "XAUTOCLAIM"
    );
    if reads {
        match option(parsed, "COUNT") {
            Some(at) => cap(&mut parsed.argv[at], MAX_COUNT, "COUNT", &mut notes),
            None => {
                // XREAD and XREADGROUP take COUNT before STREAMS; the others at the end.
                let at = match name {
                    "XREAD" | "XREADGROUP" => parsed.streams_at().unwrap_or(1),
                    _ => parsed.argv.len(),
                };
                let count = MAX_COUNT.to_string();
                parsed.argv.splice(at..at, ["COUNT".to_owned(), count]);
            }
        }
    }
    if name == "XPENDING" && parsed.argv.len() > 5 {
        // The extended form: [IDLE ms] start end count [consumer].
        let at = if parsed.argv[3].eq_ignore_ascii_case("IDLE") {
            7
        } else {
            5
        };
        if let Some(count) = parsed.argv.get_mut(at) {
            cap(count, MAX_COUNT, "the count", &mut notes);
        }
    }
    if name == "XINFO STREAM"
        && let Some(at) = option(parsed, "COUNT")
    {
        // COUNT 0 means every entry: capped like any other.
        if parsed.argv[at] == "0" {
            parsed.argv[at] = MAX_COUNT.to_string();
            notes.push(format!(
                "COUNT 0 (everything) is {MAX_COUNT} in the console"
            ));
        } else {
            cap(&mut parsed.argv[at], MAX_COUNT, "COUNT", &mut notes);
        }
    }
    if let Some(at) = block_at(parsed) {
        let ms = &mut parsed.argv[at];
        if ms == "0" {
            *ms = MAX_BLOCK_MS.to_string();
            notes.push(format!(
                "BLOCK 0 waits forever; the console waits {MAX_BLOCK_MS} ms at most"
            ));
        } else {
            cap(ms, MAX_BLOCK_MS, "BLOCK", &mut notes);
        }
    }
    notes
}

/// How long the command may block, if it blocks (after [`apply`]).
pub fn block_ms(parsed: &Parsed) -> Option<u64> {
    block_at(parsed).and_then(|at| parsed.argv[at].parse().ok())
}

fn block_at(parsed: &Parsed) -> Option<usize> {
    matches!(parsed.spec.name, "XREAD" | "XREADGROUP")
        .then(|| option(parsed, "BLOCK"))
        .flatten()
}

/// The position of an option's value, looking only where options go (before STREAMS).
fn option(parsed: &Parsed, word: &str) -> Option<usize> {
    let argv = &parsed.argv;
    let end = match parsed.spec.name {
        "XREAD" | "XREADGROUP" => parsed.streams_at().unwrap_or(argv.len()),
        _ => argv.len(),
    };
    let mut at = parsed.name_words();
    while at + 1 < end {
        if argv[at].eq_ignore_ascii_case(word) {
            return Some(at + 1);
        }
        // A group's name and consumer are values, never options.
        at += if argv[at].eq_ignore_ascii_case("GROUP") {
            3
        } else {
            1
        };
    }
    None
}

/// Lowers a number past `max` to it; leaves what is not a number for Redis to refuse.
fn cap(value: &mut String, max: u64, what: &str, notes: &mut Vec<String>) {
    if value.parse::<u64>().is_ok_and(|n| n > max) {
        notes.push(format!("{what} {value} is {max} in the console"));
        *value = max.to_string();
    }
}

/// The reply, cut at [`MAX_REPLY_BYTES`] on a line's end, saying so.
pub fn cut(reply: String) -> (String, Option<String>) {
    if reply.len() <= MAX_REPLY_BYTES {
        return (reply, None);
    }
    let mut end = MAX_REPLY_BYTES;
    while !reply.is_char_boundary(end) {
        end -= 1;
    }
    let end = reply[..end].rfind('\n').unwrap_or(end);
    (
        format!("{}\n…", &reply[..end]),
        Some(format!(
            "the reply was {} bytes; the console shows the first {} KB (ask for less with COUNT or a narrower range)",
            reply.len(),
            MAX_REPLY_BYTES / 1024
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::console::parse_line;

    fn capped(line: &str) -> (String, Vec<String>) {
        let mut parsed = parse_line(line).unwrap();
        let notes = apply(&mut parsed);
        (parsed.argv.join(" "), notes)
    }

    #[test]
    fn reads_get_a_count_and_big_ones_are_lowered() {
        assert_eq!(capped("XRANGE s - +").0, "XRANGE s - + COUNT 100");
        assert_eq!(capped("XREAD STREAMS s 0").0, "XREAD COUNT 100 STREAMS s 0");
        let (line, notes) = capped("XREADGROUP GROUP g c COUNT 5000 STREAMS s >");
        assert_eq!(line, "XREADGROUP GROUP g c COUNT 100 STREAMS s >");
        assert_eq!(notes, ["COUNT 5000 is 100 in the console"]);
        assert_eq!(capped("XRANGE s - + COUNT 7").0, "XRANGE s - + COUNT 7");
        assert_eq!(capped("XPENDING s g - + 1000").0, "XPENDING s g - + 100");
        assert_eq!(
            capped("XPENDING s g IDLE 5 - + 1000 c").0,
            "XPENDING s g IDLE 5 - + 100 c"
        );
        assert_eq!(
            capped("XINFO STREAM s FULL COUNT 0").0,
            "XINFO STREAM s FULL COUNT 100"
        );
    }

    #[test]
    fn blocking_is_bounded() {
        let (line, notes) = capped("XREAD BLOCK 0 STREAMS s $");
        assert_eq!(line, "XREAD BLOCK 5000 COUNT 100 STREAMS s $");
        assert_eq!(notes.len(), 1);
        assert_eq!(
            capped("XREAD BLOCK 60000 STREAMS s $").0,
            "XREAD BLOCK 5000 COUNT 100 STREAMS s $"
        );
        let mut parsed = parse_line("XREAD BLOCK 250 STREAMS s $").unwrap();
        apply(&mut parsed);
        assert_eq!(block_ms(&parsed), Some(250));
        // A stream called BLOCK is a key, not the option.
        let mut parsed = parse_line("XREAD STREAMS BLOCK 0").unwrap();
        apply(&mut parsed);
        assert_eq!(block_ms(&parsed), None);
    }

    #[test]
    fn long_replies_are_cut_on_a_line_end() {
        let reply = "1) \"x\"\n".repeat(20_000);
        let (shown, note) = cut(reply);
        assert!(shown.len() <= MAX_REPLY_BYTES + 4);
        assert!(
            shown.ends_with("\"x\"\n…"),
            "{}",
            &shown[shown.len() - 20..]
        );
        assert!(note.unwrap().contains("64 KB"));
    }
}
