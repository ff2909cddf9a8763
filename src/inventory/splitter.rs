//! Ansible's `key=value` argument parsing (`ansible.parsing.splitter.parse_kv`, with
//! `split_args`, `_decode_escapes` and `quoting.unquote`), as `-e K=V` uses it: words
//! split on spaces but kept together inside quotes and Jinja blocks, escapes decoded,
//! the first unescaped `=` (not at the start) splitting key from value, values trimmed
//! and unquoted. Words without `=` are joined into `_raw_params`, as Ansible does.

use indexmap::IndexMap;

/// Parses one `-e` argument of `key=value` words into string values, in order.
pub fn parse_kv(args: &str) -> Result<IndexMap<String, String>, String> {
    let mut options = IndexMap::new();
    let mut raw_params: Vec<String> = Vec::new();
    for orig in split_args(args)? {
        let x = decode_escapes(&orig)?;
        if !x.contains('=') {
            raw_params.push(orig);
            continue;
        }
        // `x.index('=', pos + 1)` from 0: an `=` in the first position never splits.
        let chars: Vec<char> = x.chars().collect();
        let split = (1..chars.len()).find(|&i| chars[i] == '=' && chars[i - 1] != '\\');
        match split {
            Some(pos) => {
                let k: String = chars[..pos].iter().collect();
                let v: String = chars[pos + 1..].iter().collect();
                options.insert(k.trim().to_string(), unquote(v.trim()).to_string());
            }
            None => raw_params.push(x.replace("\\=", "=")),
        }
    }
    if !raw_params.is_empty() {
        options.insert("_raw_params".to_string(), join_args(&raw_params));
    }
    Ok(options)
}

/// `quoting.unquote`: drops one pair of matching outer quotes (not an escaped closing one).
fn unquote(data: &str) -> &str {
    let b = data.as_bytes();
    let quoted = b.len() > 1
        && b[0] == b[b.len() - 1]
        && (b[0] == b'"' || b[0] == b'\'')
        && b[b.len() - 2] != b'\\';
    if quoted {
        &data[1..data.len() - 1]
    } else {
        data
    }
}

/// `join_args`: words joined by a space, except after a newline.
fn join_args(words: &[String]) -> String {
    let mut result = String::new();
    for p in words {
        if !(result.is_empty() || result.ends_with('\n')) {
            result.push(' ');
        }
        result.push_str(p);
    }
    result
}

/// `_get_quote_state`: the quote still open at the end of a token.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

/// `_count_jinja2_blocks`: the depth after a token (never below zero).
fn block_depth(token: &str, depth: usize, open: &str, close: &str) -> usize {
    let (o, c) = (token.matches(open).count(), token.matches(close).count());
    if o == c {
        depth
    } else {
        (depth as isize + o as isize - c as isize).max(0) as usize
    }
}

/// `split_args`: splits on spaces and newlines, rejoining what quotes or Jinja blocks
/// hold together; an unbalanced quote or block is an error.
pub fn split_args(args: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    if args.is_empty() {
        return Ok(params);
    }
    let items: Vec<&str> = args.split('\n').collect();
    let mut quote: Option<char> = None;
    let mut inside_quotes = false;
    let (mut print_depth, mut block, mut comment) = (0usize, 0usize, 0usize);
    for (itemidx, item) in items.iter().enumerate() {
        let mut line_continuation = false;
        for (idx, token) in item.split(' ').enumerate() {
            if token.is_empty() && idx != 0 {
                if params.is_empty() {
                    params.push(String::new());
                }
                params.last_mut().expect("just ensured").push(' ');
                continue;
            }
            if token == "\\" && !inside_quotes {
                line_continuation = true;
                continue;
            }
            let was_inside_quotes = inside_quotes;
            quote = quote_state(token, quote);
            inside_quotes = quote.is_some();
            let in_block = print_depth > 0 || block > 0 || comment > 0;
            let mut appended = false;
            if inside_quotes && !was_inside_quotes && !in_block {
                params.push(token.to_string());
                appended = true;
            } else if in_block || inside_quotes || was_inside_quotes {
                // Python's params[-1] on an empty list would raise; a token can only
                // continue a param that exists, so start one if none does.
                if params.is_empty() {
                    params.push(String::new());
                }
                let last = params.last_mut().expect("just ensured");
                if idx > 0 {
                    last.push(' ');
                }
                last.push_str(token);
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print_depth, "{{", "}}"),
                (&mut block, "{%", "%}"),
                (&mut comment, "{#", "#}"),
            ] {
                let before = *depth;
                *depth = block_depth(token, *depth, open, close);
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            let in_block = print_depth > 0 || block > 0 || comment > 0;
            if !in_block && !inside_quotes && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if items.len() > 1 && itemidx != items.len() - 1 && !line_continuation {
            if params.is_empty() {
                params.push(String::new());
            }
            params.last_mut().expect("just ensured").push('\n');
        }
    }
    if print_depth > 0 || block > 0 || comment > 0 || inside_quotes {
        return Err(
            "failed at splitting arguments, either an unbalanced jinja2 block or quotes".into(),
        );
    }
    Ok(params)
}

/// `_decode_escapes`: `\U########`, `\u####`, `\x##`, `\N{NAME}` and `\\ \' \" \a \b
/// \f \n \r \t \v` decoded as Python's `unicode-escape` codec does; anything else kept.
fn decode_escapes(s: &str) -> Result<String, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' || i + 1 >= chars.len() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let hex = |n: usize| -> Option<u32> {
            let digits: String = chars.get(i + 2..i + 2 + n)?.iter().collect();
            (digits.len() == n && digits.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(&digits, 16).ok())
                .flatten()
        };
        let simple = match chars[i + 1] {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        let width = match chars[i + 1] {
            'U' => 8,
            'u' => 4,
            'x' => 2,
            'N' if chars.get(i + 2) == Some(&'{') => {
                return Err("\\N{...} escapes (characters by name) are not supported: write the character itself or \\uXXXX".into());
            }
            _ => 0,
        };
        match (width > 0).then(|| hex(width)).flatten() {
            Some(code) => {
                let c = char::from_u32(code).ok_or_else(|| {
                    format!("\\{}{code:0width$x} is not a valid character", chars[i + 1])
                })?;
                out.push(c);
                i += 2 + width;
            }
            None => {
                out.push('\\');
                i += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(s: &str) -> Vec<(String, String)> {
        parse_kv(s).unwrap().into_iter().collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // Expected values are ansible-core 2.19's parse_kv on the same input.
    #[test]
    fn words_quotes_and_raw_params() {
        assert_eq!(kv("a=1 b=two"), pairs(&[("a", "1"), ("b", "two")]));
        assert_eq!(
            kv("c=\"quoted value\" d='single q' e= f=\"\""),
            pairs(&[
                ("c", "quoted value"),
                ("d", "single q"),
                ("e", ""),
                ("f", "")
            ])
        );
        assert_eq!(
            kv("g=x=y h=a\\=b\\=c=d"),
            pairs(&[("g", "x=y"), ("h", "a\\=b\\=c=d")])
        );
        assert_eq!(kv(" k = spaced "), pairs(&[("_raw_params", "k = spaced ")]));
        assert_eq!(
            kv("foo bar=1 baz"),
            pairs(&[("bar", "1"), ("_raw_params", "foo baz")])
        );
        assert_eq!(kv("=x"), pairs(&[("_raw_params", "=x")]));
        assert_eq!(kv("m=x\"y z\""), pairs(&[("m", "x\"y z\"")]));
        assert_eq!(kv("n={{ a b }}"), pairs(&[("n", "{{ a b }}")]));
        assert!(split_args("a=\"x").is_err());
        assert!(split_args("a={{ x").is_err());
    }

    #[test]
    fn escapes_as_pythons_unicode_escape() {
        assert_eq!(kv("i=\\u00e9\\x41\\t|"), pairs(&[("i", "éA\t|")]));
        assert_eq!(kv("d=\\\\n"), pairs(&[("d", "\\n")]));
        assert_eq!(
            kv("o=one\\ two"),
            pairs(&[("o", "one\\"), ("_raw_params", "two")])
        );
        assert_eq!(kv("e=\\U0001F600\\q"), pairs(&[("e", "😀\\q")]));
        assert!(parse_kv("e=\\N{DEGREE SIGN}").is_err());
        assert!(parse_kv("e=\\U00110000").is_err());
    }
}
