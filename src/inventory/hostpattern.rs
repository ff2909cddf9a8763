//! Host patterns in inventories: `host:port`, `[v6::addr]:port` and ranges such as
//! `node[01:10].example.com`, `node-[a:c]` or `[1:10:2]`, expanded as Ansible's
//! `parse_address` and `expand_hostname_range` do (quirks included, since users'
//! inventories already rely on them).

/// Splits a pattern into its expanded host names and the port it names, if any.
pub fn expand(pattern: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (host, port) = match split_port(pattern) {
        Some((h, p)) if valid_host(h) => (h, Some(p)),
        Some(_) => (pattern, None),
        None if valid_host(pattern) => (pattern, None),
        None => (pattern, None),
    };
    let hosts = if host.contains('[') {
        expand_ranges(host)?
    } else {
        vec![host.to_string()]
    };
    if pattern.trim_end().ends_with(':') && port.is_none() {
        return Err(format!(
            "Invalid host pattern '{pattern}' supplied, ending in ':' is not allowed, this character is reserved to provide a port."
        ));
    }
    if hosts.iter().any(|h| h.trim() == "---") {
        return Err(format!(
            "Invalid host pattern '{pattern}' supplied, '---' is normally a sign this is a YAML file."
        ));
    }
    Ok((hosts, port))
}

/// `host:NN` or `[host]:NN`, where the host part has no `:` outside brackets.
fn split_port(s: &str) -> Option<(&str, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        // bracketed_hostport: `[anything]:digits`
        if let Some(close) = rest.rfind("]:") {
            let port = &rest[close + 2..];
            if !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit()) {
                let inner = &rest[..close];
                if !inner.is_empty() {
                    return port.parse().ok().map(|p| (inner, p));
                }
            }
        }
    }
    let idx = s.rfind(':')?;
    let port = &s[idx + 1..];
    if port.is_empty() || !port.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let head = &s[..idx];
    // The head may contain ':' only inside complete [..] expressions.
    let mut depth = 0;
    for c in head.chars() {
        match c {
            '[' if depth == 0 => depth = 1,
            '[' => return None,
            ']' if depth == 1 => depth = 0,
            ']' => return None,
            ':' if depth == 0 => return None,
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    port.parse().ok().map(|p| (head, p))
}

/// Whether `parse_address` accepts `h` as an IPv4/IPv6 address or a host name
/// (with ranges allowed in labels).
fn valid_host(h: &str) -> bool {
    is_ipv4(h) || is_ipv6(h) || is_hostname(h)
}

fn is_ipv4(h: &str) -> bool {
    let parts: Vec<&str> = h.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            is_range(p)
                || (!p.is_empty()
                    && p.len() <= 3
                    && p.bytes().all(|c| c.is_ascii_digit())
                    && p.parse::<u16>().is_ok_and(|v| v <= 255))
        })
}

fn is_ipv6(h: &str) -> bool {
    h.contains(':') && h.parse::<std::net::Ipv6Addr>().is_ok() && !h.contains('[')
}

fn is_range(p: &str) -> bool {
    let Some(inner) = p.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return false;
    };
    let parts: Vec<&str> = inner.split(':').collect();
    let num = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match parts.as_slice() {
        [a, b] => num(a) && num(b),
        [a, b, c] => num(a) && num(b) && num(c),
        _ => false,
    }
}

/// A label: word characters, `-` and alphanumeric ranges, not ending in `-` or `_`.
fn is_hostname(h: &str) -> bool {
    if h.is_empty() {
        return false;
    }
    let mut label_start = true;
    let mut last_plain: Option<char> = None;
    let mut i = 0;
    let b: Vec<char> = h.chars().collect();
    while i < b.len() {
        let c = b[i];
        if c == '[' {
            let close = match b[i..].iter().position(|&x| x == ']') {
                Some(p) => i + p,
                None => return false,
            };
            let inner: String = b[i + 1..close].iter().collect();
            if !is_alnum_range(&inner) {
                return false;
            }
            i = close + 1;
            label_start = false;
            last_plain = None;
            continue;
        }
        if c == '.' {
            if label_start || matches!(last_plain, Some('-') | Some('_')) {
                return false;
            }
            label_start = true;
            last_plain = None;
            i += 1;
            continue;
        }
        let word = c.is_alphanumeric() || c == '_';
        if label_start && !word {
            return false;
        }
        if !word && c != '-' {
            return false;
        }
        label_start = false;
        last_plain = Some(c);
        i += 1;
    }
    !label_start && !matches!(last_plain, Some('-') | Some('_'))
}

fn is_alnum_range(inner: &str) -> bool {
    let parts: Vec<&str> = inner.split(':').collect();
    let num = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let alpha = |s: &str| s.len() == 1 && s.bytes().all(|c| c.is_ascii_lowercase());
    let (a, b, step) = match parts.as_slice() {
        [a, b] => (*a, *b, None),
        [a, b, c] => (*a, *b, Some(*c)),
        _ => return false,
    };
    ((num(a) && num(b)) || (alpha(a) && alpha(b))) && step.is_none_or(num)
}

const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Ansible's `expand_hostname_range`: the first `[..]` is expanded, then recursively the rest.
fn expand_ranges(line: &str) -> Result<Vec<String>, String> {
    let open = line.find('[').ok_or("no range")?;
    let after = &line[open + 1..];
    // Python replaces the first '[' and the first ']' (anywhere) with '|' and splits:
    // exactly three parts are required.
    let close_rel = line.find(']').ok_or_else(|| unbalanced(line))?;
    if close_rel < open {
        return Err(unbalanced(line));
    }
    let head = &line[..open];
    let nrange = &line[open + 1..close_rel];
    let tail = &line[close_rel + 1..];
    if nrange.contains('|') || head.contains('|') || tail.contains('|') || after.is_empty() {
        return Err(unbalanced(line));
    }
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".into());
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err("host range must specify end value".into());
    }
    let step: i64 = match bounds.get(2) {
        None => 1,
        Some(s) => py_int(s)?,
    };
    if step == 0 {
        return Err("range() arg 3 must not be zero".into());
    }
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err("host range must specify equal-length begin and end formats".into());
        }
        Some(beg.len())
    } else {
        None
    };
    let seq: Vec<String> = match (ASCII_LETTERS.find(beg), ASCII_LETTERS.find(end)) {
        (Some(ib), Some(ie)) => {
            if ib > ie {
                return Err("host range must have begin <= end".into());
            }
            let letters: Vec<char> = ASCII_LETTERS[ib..=ie].chars().collect();
            py_slice_step(&letters, step)
                .into_iter()
                .map(String::from)
                .collect()
        }
        _ => {
            let b = py_int(beg)?;
            let e = py_int(end)?;
            let mut v = Vec::new();
            let mut x = b;
            // range(b, e + 1, step), bounded so a typo cannot eat the memory.
            while (step > 0 && x <= e) || (step < 0 && x > e + 1) {
                v.push(match width {
                    Some(w) => zfill(x, w),
                    None => x.to_string(),
                });
                if v.len() > 1_000_000 {
                    return Err(format!(
                        "host range [{nrange}] expands to more than a million hosts"
                    ));
                }
                x += step;
            }
            v
        }
    };
    let mut hosts = Vec::new();
    for item in seq {
        let name = format!("{head}{item}{tail}");
        if name.contains('[') {
            hosts.extend(expand_ranges(&name)?);
        } else {
            hosts.push(name);
        }
    }
    Ok(hosts)
}

fn unbalanced(line: &str) -> String {
    format!("unbalanced range in host pattern '{line}': expected [begin:end] or [begin:end:step]")
}

fn py_int(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return Err(format!("invalid literal for int() with base 10: '{s}'"));
    }
    t.replace('_', "")
        .parse()
        .map_err(|_| format!("invalid literal for int() with base 10: '{s}'"))
}

fn zfill(x: i64, w: usize) -> String {
    if x < 0 {
        format!("-{:0>width$}", -x, width = w.saturating_sub(1))
    } else {
        format!("{x:0>w$}")
    }
}

fn py_slice_step(items: &[char], step: i64) -> Vec<char> {
    if step > 0 {
        items.iter().step_by(step as usize).copied().collect()
    } else {
        items
            .iter()
            .rev()
            .step_by((-step) as usize)
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn hosts(p: &str) -> Vec<String> {
        expand(p).unwrap().0
    }

    #[test]
    fn ranges() {
        assert_eq!(
            hosts("node[01:03].example.com"),
            [
                "node01.example.com",
                "node02.example.com",
                "node03.example.com"
            ]
        );
        assert_eq!(hosts("node-[a:c]"), ["node-a", "node-b", "node-c"]);
        assert_eq!(hosts("n[1:10:4]"), ["n1", "n5", "n9"]);
        assert_eq!(hosts("db[1:2]-[a:b]"), ["db1-a", "db1-b", "db2-a", "db2-b"]);
        assert_eq!(hosts("x[:2]"), ["x0", "x1", "x2"]);
        assert_eq!(hosts("plain.example.com"), ["plain.example.com"]);
    }

    #[test]
    fn ports() {
        assert_eq!(
            expand("m1.example.com:2222").unwrap(),
            (vec!["m1.example.com".into()], Some(2222))
        );
        assert_eq!(
            expand("n[1:2]:22").unwrap(),
            (vec!["n1".into(), "n2".into()], Some(22))
        );
        assert_eq!(
            expand("10.0.0.1:22").unwrap(),
            (vec!["10.0.0.1".into()], Some(22))
        );
        assert_eq!(expand("[::1]:22").unwrap(), (vec!["::1".into()], Some(22)));
        assert_eq!(expand("fe80::1").unwrap(), (vec!["fe80::1".into()], None));
    }

    #[test]
    fn errors() {
        assert!(expand("node[1:").is_err());
        assert!(expand("host:").is_err());
        assert!(expand("n[01:100]").unwrap_err().contains("equal-length"));
        assert!(expand("n[1:2:3:4]").is_err());
        assert!(expand("n[c:a]").is_err());
        assert!(expand("---").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in "[a-z0-9\\[\\]:.\\-]{0,30}") {
            let _ = expand(&input);
        }
    }
}
