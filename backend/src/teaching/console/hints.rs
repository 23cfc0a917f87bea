//! The common issues of the lab, explained where they happen: what an error or an empty
//! answer means, and the fix.

/// What to do about an error Redis answered (`code` is its first word, e.g. `NOGROUP`).
pub fn for_error(code: &str, detail: &str) -> Option<String> {
    let detail_has = |s: &str| {
        detail
            .to_ascii_lowercase()
            .contains(&s.to_ascii_lowercase())
    };
    let hint = match code {
        "NOGROUP" => {
            "no such consumer group on this key (or no such key): create it with \
             XGROUP CREATE <key> <group> $ MKSTREAM (0 instead of $ to read the whole stream)"
        }
        "BUSYGROUP" => {
            "a group of that name exists already on this key: read with it as it is, move it \
             with XGROUP SETID, or remove it with XGROUP DESTROY first"
        }
        "OOM" => {
            "Redis is at its memory limit (maxmemory) and refuses writes: free room with XTRIM \
             or DEL"
        }
        "WRONGTYPE" => {
            "the key holds another type than this command works on: TYPE <key> tells which; \
             stream commands need a stream"
        }
        _ if detail_has("requires the key to exist") => {
            "no such stream: nothing has been published to it yet. XADD creates it, or add \
             MKSTREAM to XGROUP CREATE"
        }
        _ if detail_has("equal or smaller than the target stream top item") => {
            "stream ids only grow: give * and Redis picks the next id"
        }
        _ if detail_has("invalid stream id") => {
            "stream ids are <milliseconds>-<sequence>, e.g. 1700000000000-0; in XRANGE - and + \
             are the ends, in XREAD $ means only new entries, in XREADGROUP > means entries no \
             consumer of the group has had yet"
        }
        _ if detail_has("syntax error") => {
            "check the order of the options against the usage: HELP <command>"
        }
        _ if detail_has("not an integer") || detail_has("out of range") => {
            "a count, a time or a length must be a whole number"
        }
        _ => return None,
    };
    Some(hint.to_owned())
}

/// What an empty answer means when the key it read does not exist.
pub fn for_missing_stream(typed: &str) -> String {
    format!("no such stream: nothing has been published to {typed} yet (XADD creates it)")
}

/// What a blocking read that returned nothing means.
pub fn for_timeout(ms: u64) -> String {
    format!(
        "nothing new arrived within {ms} ms; XADD to the stream from another tab and read again"
    )
}

/// The relay cannot reach Redis.
pub fn for_unavailable() -> String {
    "connection refused: the relay cannot reach Redis right now and reconnects by itself; \
     if it lasts, check that redis-server runs and that REDIS_URL points at it"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_issues_have_their_fix() {
        assert!(
            for_error("NOGROUP", "No such key 's' or consumer group 'g'")
                .unwrap()
                .contains("XGROUP CREATE")
        );
        assert!(
            for_error("BUSYGROUP", "Consumer Group name already exists")
                .unwrap()
                .contains("DESTROY")
        );
        assert!(
            for_error(
                "WRONGTYPE",
                "Operation against a key holding the wrong kind of value"
            )
            .unwrap()
            .contains("TYPE")
        );
        assert!(
            for_error("ERR", "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
                .unwrap()
                .contains("MKSTREAM")
        );
        assert!(
            for_error(
                "ERR",
                "Invalid stream ID specified as stream command argument"
            )
            .unwrap()
            .contains("milliseconds")
        );
        assert_eq!(for_error("ERR", "something else"), None);
    }
}
