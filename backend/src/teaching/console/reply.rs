//! How much of a reply the console shows.

/// Longest reply shown: as much as Redis may build for a line (`caps::MAX_REPLY_BYTES`); a
/// reply whose `redis-cli` form is longer (indentation, quoting) is cut on a line's end.
pub const MAX_SHOWN_BYTES: usize = shared::console::caps::MAX_REPLY_BYTES;

/// The reply, cut at [`MAX_SHOWN_BYTES`] on a line's end, saying so.
pub fn cut(reply: String) -> (String, Option<String>) {
    if reply.len() <= MAX_SHOWN_BYTES {
        return (reply, None);
    }
    let mut end = MAX_SHOWN_BYTES;
    while !reply.is_char_boundary(end) {
        end -= 1;
    }
    let end = reply[..end].rfind('\n').unwrap_or(end);
    (
        format!("{}\n…", &reply[..end]),
        Some(format!(
            "the reply was {} bytes; the console shows the first {} KB (ask for less with COUNT or a narrower range)",
            reply.len(),
            MAX_SHOWN_BYTES / 1024
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_replies_are_cut_on_a_line_end() {
        let reply = "1) \"x\"\n".repeat(20_000);
        let (shown, note) = cut(reply);
        assert!(shown.len() <= MAX_SHOWN_BYTES + 4);
        assert!(
            shown.ends_with("\"x\"\n…"),
            "{}",
            &shown[shown.len() - 20..]
        );
        assert!(note.unwrap().contains("64 KB"));
    }
}
