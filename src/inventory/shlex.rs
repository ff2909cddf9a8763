//! Python's `shlex.split(line, comments=True)` (POSIX mode), which Ansible uses to
//! split INI host lines. The `shlex` crate has no comment handling, and Python's rule
//! that an unquoted `#` ends the line even inside a word (`pw=ab#cd` gives `pw=ab`)
//! decides real inventories, so this follows CPython's state machine.

/// Splits a host line into words; `Err` carries Python's message.
pub fn split(line: &str) -> Result<Vec<String>, &'static str> {
    #[derive(PartialEq, Clone, Copy)]
    enum State {
        Blank,
        Word,
        Single,
        Double,
        Escape(Back),
    }
    #[derive(PartialEq, Clone, Copy)]
    enum Back {
        Word,
        Double,
    }
    let mut words = Vec::new();
    let mut tok = String::new();
    let mut quoted = false;
    let mut state = State::Blank;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Blank | State::Word => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    if state == State::Word {
                        words.push(std::mem::take(&mut tok));
                        quoted = false;
                    }
                    state = State::Blank;
                }
                '#' => {
                    // A comment runs to the end of the line, even in the middle of a word.
                    for rest in chars.by_ref() {
                        if rest == '\n' {
                            break;
                        }
                    }
                    if state == State::Word && (!tok.is_empty() || quoted) {
                        words.push(std::mem::take(&mut tok));
                        quoted = false;
                    }
                    state = State::Blank;
                }
                '\'' => {
                    state = State::Single;
                    quoted = true;
                }
                '"' => {
                    state = State::Double;
                    quoted = true;
                }
                '\\' => state = State::Escape(Back::Word),
                _ => {
                    tok.push(c);
                    state = State::Word;
                }
            },
            State::Single => {
                if c == '\'' {
                    state = State::Word;
                } else {
                    tok.push(c);
                }
            }
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => state = State::Escape(Back::Double),
                _ => tok.push(c),
            },
            State::Escape(back) => {
                // Inside double quotes a backslash escapes only `"` and `\`.
                if back == Back::Double && c != '"' && c != '\\' {
                    tok.push('\\');
                }
                tok.push(c);
                state = match back {
                    Back::Word => State::Word,
                    Back::Double => State::Double,
                };
            }
        }
    }
    match state {
        State::Single | State::Double => Err("No closing quotation"),
        State::Escape(_) => Err("No escaped character"),
        State::Word => {
            words.push(tok);
            Ok(words)
        }
        State::Blank => Ok(words),
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    fn sp(s: &str) -> Vec<String> {
        split(s).unwrap()
    }

    #[test]
    fn like_python_shlex() {
        assert_eq!(sp("a b=c  d='e f'"), ["a", "b=c", "d=e f"]);
        assert_eq!(sp("h x=\"True\" # tail"), ["h", "x=True"]);
        assert_eq!(sp("h w=ab#cd v=1"), ["h", "w=ab"]);
        assert_eq!(sp("h p='a#b' q=\"c;d\""), ["h", "p=a#b", "q=c;d"]);
        assert_eq!(sp(r#"h p="a\"b\c""#), ["h", r#"p=a"b\c"#]);
        assert_eq!(sp(r"h p=a\ b"), ["h", "p=a b"]);
        assert_eq!(sp("h p=''"), ["h", "p="]);
        assert_eq!(sp("h ''"), ["h", ""]);
        assert_eq!(sp("#only comment"), Vec::<String>::new());
        assert_eq!(split("h p='open"), Err("No closing quotation"));
        assert_eq!(split("h p=\\"), Err("No escaped character"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in "\\PC{0,60}") {
            let _ = split(&input);
        }
    }
}
