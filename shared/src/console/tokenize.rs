//! Splitting a console line into arguments the way `redis-cli` does: spaces separate, double
//! quotes take escapes (`\n`, `\t`, `\"`, `\xHH` ...), single quotes take text as it is (bar
//! `\'`), and a closing quote must end the argument.

use super::ConsoleError;

/// The arguments of one line; an empty line gives none.
pub fn tokenize(line: &str) -> Result<Vec<String>, ConsoleError> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return Ok(args);
        };
        let mut arg = String::new();
        match first {
            '"' => {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err(unbalanced()),
                        Some('"') => break,
                        Some('\\') => arg.push(escape(&mut chars)?),
                        Some(c) => arg.push(c),
                    }
                }
                end_of_quoted(&mut chars)?;
            }
            '\'' => {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err(unbalanced()),
                        Some('\'') => break,
                        Some('\\') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            arg.push('\'');
                        }
                        Some(c) => arg.push(c),
                    }
                }
                end_of_quoted(&mut chars)?;
            }
            _ => {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    arg.push(c);
                }
            }
        }
        args.push(arg);
    }
}

/// The character an escape inside double quotes stands for (the backslash already read).
fn escape(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<char, ConsoleError> {
    let Some(c) = chars.next() else {
        return Err(unbalanced());
    };
    Ok(match c {
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'b' => '\u{8}',
        'a' => '\u{7}',
        'x' => {
            let hex: String = (0..2).filter_map(|_| chars.next()).collect();
            let byte = u8::from_str_radix(&hex, 16)
                .ok()
                .filter(|b| b.is_ascii() && hex.len() == 2)
                .ok_or_else(|| {
                    ConsoleError::new(
                        format!("\\x{hex} is not an escape this console takes"),
                        "write \\x and two hex digits from 00 to 7f, e.g. \\x41 for A",
                    )
                })?;
            char::from(byte)
        }
        other => other,
    })
}

fn end_of_quoted(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<(), ConsoleError> {
    match chars.peek() {
        None => Ok(()),
        Some(c) if c.is_whitespace() => Ok(()),
        Some(_) => Err(ConsoleError::new(
            "a closing quote must be followed by a space",
            "quote the whole argument: \"two words\", not \"two\"words",
        )),
    }
}

fn unbalanced() -> ConsoleError {
    ConsoleError::new(
        "unbalanced quotes",
        "close every \" or ' you open; write \\\" for a quote inside double quotes",
    )
}

/// An argument written so that [`tokenize`] reads it back as it is.
pub fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| !c.is_whitespace() && c != '"' && c != '\'' && c != '\\' && !c.is_control());
    if plain {
        return arg.to_owned();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        escape_char(&mut out, c);
    }
    out.push('"');
    out
}

/// One character as `redis-cli` writes it inside double quotes, and as [`tokenize`] reads it
/// back: `\"`, `\\`, `\n`, `\r`, `\t`, `\a`, `\b`, other control characters as the
/// `\xHH` of their UTF-8 bytes.
pub fn escape_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        c if c.is_control() => {
            let mut utf8 = [0; 4];
            for b in c.encode_utf8(&mut utf8).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn args(line: &str) -> Vec<String> {
        tokenize(line).unwrap()
    }

    #[test]
    fn spaces_separate_and_quotes_group() {
        assert_eq!(args("  XADD  s * a 1 "), ["XADD", "s", "*", "a", "1"]);
        assert_eq!(args(r#"XADD s * note "two words""#)[4], "two words");
        assert_eq!(args(r"XADD s * note 'a \'b\' c'")[4], "a 'b' c");
        assert!(args("   ").is_empty());
    }

    #[test]
    fn double_quotes_take_escapes() {
        assert_eq!(args(r#""a\nb\t\"c\" \\ \x41""#), ["a\nb\t\"c\" \\ A"]);
        assert_eq!(args(r#""""#), [""]);
    }

    #[test]
    fn broken_quoting_says_what_is_wrong() {
        assert_eq!(
            tokenize(r#"XADD "s"#).unwrap_err().message,
            "unbalanced quotes"
        );
        assert_eq!(
            tokenize("XADD 's").unwrap_err().message,
            "unbalanced quotes"
        );
        assert!(
            tokenize(r#"XADD "a"b"#)
                .unwrap_err()
                .message
                .contains("closing quote")
        );
        assert!(tokenize(r#""\xzz""#).unwrap_err().message.contains("\\xzz"));
        assert!(tokenize(r#""\xff""#).is_err());
        assert_eq!(
            tokenize(r#""ends with \"#).unwrap_err().message,
            "unbalanced quotes"
        );
    }

    proptest! {
        #[test]
        fn no_line_makes_it_panic(line in "\\PC{0,80}") {
            let _ = tokenize(&line);
        }

        #[test]
        fn quoted_arguments_read_back_as_they_were(
            words in proptest::collection::vec("[ -~\\t\\n]{0,12}", 0..6),
        ) {
            let line = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
            prop_assert_eq!(tokenize(&line).unwrap(), words);
        }
    }
}
