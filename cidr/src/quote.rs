//! Quoting user input in messages: short values whole, long ones cut, with their length,
//! so that a value of any size yields a message of bounded size.

/// Bytes of a value shown before it is cut.
const SHOWN: usize = 48;
/// Values up to this many bytes are shown whole.
const WHOLE: usize = 64;

/// `text` quoted and escaped as Rust's `{:?}` does (`"10.2.1.1/24"`), or, above 64 bytes,
/// its first 48 bytes (cut at a character boundary) quoted, then `... (N bytes)`.
///
/// E.g. 100 KB of `x` gives `"xxx…x"... (102400 bytes)`: 48 `x`, about 70 bytes in all.
pub fn quote(text: &str) -> String {
    if text.len() <= WHOLE {
        return format!("{text:?}");
    }
    let mut end = SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}... ({} bytes)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("10.2.1.1/24"), "\"10.2.1.1/24\"");
        assert_eq!(quote("a\"b\n"), "\"a\\\"b\\n\"");
        let max = "y".repeat(WHOLE);
        assert_eq!(quote(&max), format!("\"{max}\""));
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        let junk = "x".repeat(100 * 1024);
        let q = quote(&junk);
        assert_eq!(q, format!("\"{}\"... (102400 bytes)", "x".repeat(SHOWN)));
        assert_eq!(
            quote(&"z".repeat(WHOLE + 1)),
            format!("\"{}\"... (65 bytes)", "z".repeat(SHOWN))
        );
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        // 'é' is two bytes: byte 48 falls inside the 25th one.
        let text = "é".repeat(40);
        let q = quote(&text);
        assert_eq!(q, format!("\"{}\"... (80 bytes)", "é".repeat(24)));
    }
}
