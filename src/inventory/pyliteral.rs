//! Python's `ast.literal_eval`, as Ansible's INI plugin applies it to every value:
//! a value that is a Python literal becomes that literal (`True`, `10`, `[{'a': 1}]`),
//! anything else stays the string it was. No crate evaluates Python literals, so this
//! is the small recursive-descent subset literal_eval accepts, then Ansible's coercion
//! (tuples and sets to lists, complex numbers and `...` back to strings).

use super::value::Value;
use indexmap::IndexMap;

mod ops;

/// Evaluates `text` as Ansible's `_parse_value` does: the literal, or the text unchanged.
pub fn parse_value(text: &str) -> Value {
    match literal_eval(text) {
        Some(v) => v,
        None => Value::Str(text.to_string()),
    }
}

/// `ast.literal_eval(text)`, coerced to inventory values; `None` where Python raises.
pub fn literal_eval(text: &str) -> Option<Value> {
    // literal_eval strips leading spaces and tabs itself (Python 3.10+).
    evaluate(text.trim_start_matches([' ', '\t']), false)
}

/// Ansible 2.9's `safe_eval(text)` (lib/ansible/template/safe_eval.py, on Python 3),
/// coerced to inventory values; `None` where it returns the text back (a syntax error
/// or an exception). Beyond literal_eval it knows the names `true`, `false`, `null`
/// and evaluates `+ - * /` and unary minus (its safe AST nodes); it refuses every call
/// (`set()` included), unary plus, comparisons and any other operator. Not mirrored:
/// complex `/`, integers beyond 64 bits and results beyond 1 MB (all left as text),
/// and `/` of integers beyond 2^53 (rounded twice here, once in Python).
pub fn safe_eval(text: &str) -> Option<Value> {
    evaluate(text, true)
}

fn evaluate(text: &str, safe: bool) -> Option<Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        src: text,
        pos: 0,
        depth: 0,
        safe,
    };
    let lit = p.expression()?;
    p.skip_ws(false);
    if p.pos != p.s.len() {
        return None;
    }
    Some(lit.into_value())
}

/// A Python literal before Ansible's coercion.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    Ellipsis,
    List(Vec<Lit>),
    Tuple(Vec<Lit>),
    Set(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

impl Lit {
    fn into_value(self) -> Value {
        match self {
            Lit::None => Value::Null,
            Lit::Bool(b) => Value::Bool(b),
            Lit::Int(i) => Value::Int(i),
            Lit::Float(f) => Value::Float(f),
            Lit::Complex(re, im) => Value::Str(complex_str(re, im)),
            Lit::Str(s) => Value::Str(s),
            Lit::Bytes(b) => Value::Str(String::from_utf8_lossy(&b).into_owned()),
            Lit::Ellipsis => Value::Str("...".into()),
            Lit::List(v) | Lit::Tuple(v) | Lit::Set(v) => {
                Value::List(v.into_iter().map(Lit::into_value).collect())
            }
            Lit::Dict(kv) => {
                let mut m = IndexMap::new();
                for (k, v) in kv {
                    m.insert(k.key_string(), v.into_value());
                }
                Value::Map(m)
            }
        }
    }

    /// A dict key as the JSON encoder would write it.
    fn key_string(&self) -> String {
        match self {
            Lit::Str(s) => s.clone(),
            Lit::Int(i) => i.to_string(),
            Lit::Bool(true) => "true".into(),
            Lit::Bool(false) => "false".into(),
            Lit::None => "null".into(),
            Lit::Float(f) => super::render::python_float(*f),
            other => format!("{other:?}"),
        }
    }

    fn is_number(&self) -> bool {
        matches!(
            self,
            Lit::Int(_) | Lit::Float(_) | Lit::Complex(..) | Lit::Bool(_)
        )
    }
}

fn complex_str(re: f64, im: f64) -> String {
    let f = |x: f64| {
        if x.fract() == 0.0 && x.abs() < 1e16 {
            format!("{}", x as i64)
        } else {
            super::render::python_float(x)
        }
    };
    if re == 0.0 && re.is_sign_positive() {
        format!("{}j", f(im))
    } else {
        let sign = if im < 0.0 || (im == 0.0 && im.is_sign_negative()) {
            "-"
        } else {
            "+"
        };
        format!("({}{}{}j)", f(re), sign, f(im.abs()))
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    depth: usize,
    /// safe_eval's grammar (names, arithmetic) instead of literal_eval's.
    safe: bool,
}

// Deep nesting makes Python's parser give up too; this keeps hostile input from
// exhausting the stack.
const MAX_DEPTH: usize = 100;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// Skips blanks and comments; inside brackets newlines are blanks too.
    fn skip_ws(&mut self, in_brackets: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\x0c' => self.pos += 1,
                b'\n' | b'\r' if in_brackets || self.only_ws_after() => self.pos += 1,
                b'\\' if matches!(self.s.get(self.pos + 1), Some(b'\n')) => self.pos += 2,
                b'#' => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn only_ws_after(&self) -> bool {
        self.s[self.pos..].iter().all(|c| c.is_ascii_whitespace())
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Top level: an expression, or a bare tuple `1, 2`.
    fn expression(&mut self) -> Option<Lit> {
        self.skip_ws(false);
        let first = self.sum(false)?;
        self.skip_ws(false);
        if self.peek() != Some(b',') {
            return Some(first);
        }
        let mut items = vec![first];
        while self.eat(b',') {
            self.skip_ws(false);
            if self.pos == self.s.len() {
                break;
            }
            items.push(self.sum(false)?);
            self.skip_ws(false);
        }
        Some(Lit::Tuple(items))
    }

    /// `a + bj` / `a - bj`: literal_eval allows only a real number plus or minus a complex.
    fn sum(&mut self, br: bool) -> Option<Lit> {
        if self.safe {
            return self.arith(br);
        }
        let left = self.unary(br)?;
        self.skip_ws(br);
        let op = match self.peek() {
            Some(b'+') => 1.0,
            Some(b'-') => -1.0,
            _ => return Some(left),
        };
        self.pos += 1;
        self.skip_ws(br);
        let right = self.unary(br)?;
        let re = match left {
            Lit::Int(i) => i as f64,
            Lit::Float(f) => f,
            _ => return None,
        };
        match right {
            Lit::Complex(r2, im) => Some(Lit::Complex(re + op * r2, op * im)),
            _ => None,
        }
    }

    fn unary(&mut self, br: bool) -> Option<Lit> {
        self.skip_ws(br);
        match self.peek() {
            // safe_eval: ast.UAdd is not a safe node.
            Some(b'+') if self.safe => None,
            Some(b'-') | Some(b'+') => {
                let neg = self.peek() == Some(b'-');
                self.pos += 1;
                self.skip_ws(br);
                let v = self.unary(br)?;
                if !v.is_number() {
                    return None;
                }
                Some(if neg {
                    match v {
                        Lit::Int(i) => Lit::Int(i.checked_neg()?),
                        Lit::Bool(b) => Lit::Int(-(b as i64)),
                        Lit::Float(f) => Lit::Float(-f),
                        Lit::Complex(r, i) => Lit::Complex(-r, -i),
                        _ => return None,
                    }
                } else {
                    match v {
                        Lit::Bool(b) => Lit::Int(b as i64),
                        other => other,
                    }
                })
            }
            _ => self.atom(br),
        }
    }

    fn atom(&mut self, br: bool) -> Option<Lit> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let r = self.atom_inner(br);
        self.depth -= 1;
        r
    }

    fn atom_inner(&mut self, br: bool) -> Option<Lit> {
        let c = self.peek()?;
        match c {
            b'[' => {
                self.pos += 1;
                let items = self.items(b']')?;
                Some(Lit::List(items))
            }
            b'(' => {
                self.pos += 1;
                self.skip_ws(true);
                if self.eat(b')') {
                    return Some(Lit::Tuple(vec![]));
                }
                let first = self.sum(true)?;
                self.skip_ws(true);
                if self.eat(b')') {
                    return Some(first);
                }
                if !self.eat(b',') {
                    return None;
                }
                let mut rest = self.items(b')')?;
                rest.insert(0, first);
                Some(Lit::Tuple(rest))
            }
            b'{' => {
                self.pos += 1;
                self.dict_or_set()
            }
            b'.' if self.s[self.pos..].starts_with(b"...") => {
                self.pos += 3;
                Some(Lit::Ellipsis)
            }
            b'0'..=b'9' | b'.' => self.number(),
            b'\'' | b'"' => self.strings(br),
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                let word = &self.src[start..self.pos];
                if matches!(self.peek(), Some(b'\'') | Some(b'"')) && is_string_prefix(word) {
                    self.pos = start;
                    return self.strings(br);
                }
                match word {
                    "True" => Some(Lit::Bool(true)),
                    "False" => Some(Lit::Bool(false)),
                    "None" => Some(Lit::None),
                    // safe_eval's globals add JSON's three names.
                    "true" if self.safe => Some(Lit::Bool(true)),
                    "false" if self.safe => Some(Lit::Bool(false)),
                    "null" if self.safe => Some(Lit::None),
                    // A call: not a safe node.
                    "set" if self.safe => None,
                    "set" => {
                        // `set()` is the one call literal_eval accepts.
                        self.skip_ws(br);
                        if self.eat(b'(') {
                            self.skip_ws(true);
                            if self.eat(b')') {
                                return Some(Lit::Set(vec![]));
                            }
                        }
                        None
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Comma-separated items up to `close`, trailing comma allowed.
    fn items(&mut self, close: u8) -> Option<Vec<Lit>> {
        let mut items = Vec::new();
        loop {
            self.skip_ws(true);
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.sum(true)?);
            self.skip_ws(true);
            if self.eat(close) {
                return Some(items);
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    fn dict_or_set(&mut self) -> Option<Lit> {
        self.skip_ws(true);
        if self.eat(b'}') {
            return Some(Lit::Dict(vec![]));
        }
        let first = self.sum(true)?;
        self.skip_ws(true);
        if self.eat(b':') {
            let mut pairs = Vec::new();
            self.skip_ws(true);
            let v = self.sum(true)?;
            if !hashable(&first) {
                return None;
            }
            pairs.push((first, v));
            loop {
                self.skip_ws(true);
                if self.eat(b'}') {
                    return Some(Lit::Dict(dedup_dict(pairs)));
                }
                if !self.eat(b',') {
                    return None;
                }
                self.skip_ws(true);
                if self.eat(b'}') {
                    return Some(Lit::Dict(dedup_dict(pairs)));
                }
                let k = self.sum(true)?;
                self.skip_ws(true);
                if !self.eat(b':') {
                    return None;
                }
                self.skip_ws(true);
                let v = self.sum(true)?;
                if !hashable(&k) {
                    return None;
                }
                pairs.push((k, v));
            }
        }
        if !hashable(&first) {
            return None;
        }
        let mut items = vec![first];
        loop {
            self.skip_ws(true);
            if self.eat(b'}') {
                break;
            }
            if !self.eat(b',') {
                return None;
            }
            self.skip_ws(true);
            if self.eat(b'}') {
                break;
            }
            let it = self.sum(true)?;
            if !hashable(&it) {
                return None;
            }
            items.push(it);
        }
        let mut uniq: Vec<Lit> = Vec::new();
        for it in items {
            if !uniq.iter().any(|u| ops::py_eq(u, &it)) {
                uniq.push(it);
            }
        }
        Some(Lit::Set(uniq))
    }

    fn number(&mut self) -> Option<Lit> {
        let start = self.pos;
        let s = self.s;
        let digits = |p: &mut usize, ok: fn(u8) -> bool| {
            // Underscores only between digits, as Python's tokenizer requires.
            let begin = *p;
            while *p < s.len()
                && (ok(s[*p]) || (s[*p] == b'_' && *p > begin && *p + 1 < s.len() && ok(s[*p + 1])))
            {
                *p += 1;
            }
            *p > begin
        };
        let mut p = self.pos;
        if s[p] == b'0'
            && p + 1 < s.len()
            && matches!(s[p + 1], b'x' | b'X' | b'o' | b'O' | b'b' | b'B')
        {
            let radix = match s[p + 1] {
                b'x' | b'X' => 16,
                b'o' | b'O' => 8,
                _ => 2,
            };
            p += 2;
            if p < s.len() && s[p] == b'_' {
                p += 1;
            }
            let ok: fn(u8) -> bool = match radix {
                16 => |c| c.is_ascii_hexdigit(),
                8 => |c| (b'0'..=b'7').contains(&c),
                _ => |c| c == b'0' || c == b'1',
            };
            let dstart = p;
            if !digits(&mut p, ok) {
                return None;
            }
            if p < s.len() && (s[p].is_ascii_alphanumeric() || s[p] == b'_') {
                return None;
            }
            let txt: String = self.src[dstart..p].chars().filter(|c| *c != '_').collect();
            self.pos = p;
            return i64::from_str_radix(&txt, radix).ok().map(Lit::Int);
        }
        let int_part = digits(&mut p, |c| c.is_ascii_digit());
        let mut is_float = false;
        if p < s.len() && s[p] == b'.' {
            is_float = true;
            p += 1;
            let frac = digits(&mut p, |c| c.is_ascii_digit());
            if !int_part && !frac {
                return None;
            }
        } else if !int_part {
            return None;
        }
        if p < s.len() && (s[p] == b'e' || s[p] == b'E') {
            let mut q = p + 1;
            if q < s.len() && (s[q] == b'+' || s[q] == b'-') {
                q += 1;
            }
            if digits(&mut q, |c| c.is_ascii_digit()) {
                is_float = true;
                p = q;
            } else {
                return None;
            }
        }
        let imag = p < s.len() && (s[p] == b'j' || s[p] == b'J');
        if imag {
            p += 1;
        }
        if p < s.len() && (s[p].is_ascii_alphanumeric() || s[p] == b'_') {
            return None;
        }
        let txt: String = self.src[start..p]
            .chars()
            .filter(|c| *c != '_' && *c != 'j' && *c != 'J')
            .collect();
        self.pos = p;
        if imag {
            return txt.parse::<f64>().ok().map(|f| Lit::Complex(0.0, f));
        }
        if is_float {
            return txt.parse::<f64>().ok().map(Lit::Float);
        }
        // Python rejects leading zeros in decimal integers ("0644"), except all zeros.
        if txt.len() > 1 && txt.starts_with('0') && !txt.bytes().all(|c| c == b'0') {
            return None;
        }
        txt.parse::<i64>().ok().map(Lit::Int)
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self, br: bool) -> Option<Lit> {
        let mut text: Option<String> = None;
        let mut bytes: Option<Vec<u8>> = None;
        loop {
            let save = self.pos;
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c.is_ascii_alphabetic() {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            let prefix = self.src[start..self.pos].to_ascii_lowercase();
            if !matches!(self.peek(), Some(b'\'') | Some(b'"')) || !is_string_prefix(&prefix) {
                self.pos = save;
                break;
            }
            if prefix.contains('f') {
                // f-strings are JoinedStr nodes: literal_eval refuses them.
                return None;
            }
            let raw = prefix.contains('r');
            let is_bytes = prefix.contains('b');
            let body = self.string_body(raw, is_bytes)?;
            if is_bytes {
                if text.is_some() {
                    return None;
                }
                bytes
                    .get_or_insert_with(Vec::new)
                    .extend(body.into_bytes_lossless());
            } else {
                if bytes.is_some() {
                    return None;
                }
                text.get_or_insert_with(String::new).push_str(&body.text);
            }
            self.skip_ws(br);
        }
        match (text, bytes) {
            (Some(t), None) => Some(Lit::Str(t)),
            (None, Some(b)) => Some(Lit::Bytes(b)),
            _ => None,
        }
    }

    fn string_body(&mut self, raw: bool, is_bytes: bool) -> Option<Body> {
        let q = self.peek()?;
        let triple = self.s[self.pos..].starts_with(&[q, q, q]);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        let mut out_bytes: Vec<u8> = Vec::new();
        loop {
            let c = self.peek()?;
            if c == q && (!triple || self.s[self.pos..].starts_with(&[q, q, q])) {
                self.pos += if triple { 3 } else { 1 };
                return Some(Body {
                    text: out,
                    bytes: if is_bytes { Some(out_bytes) } else { None },
                });
            }
            if (c == b'\n' || c == b'\r') && !triple {
                return None;
            }
            if c == b'\\' {
                let n = *self.s.get(self.pos + 1)?;
                if raw {
                    // Raw strings keep the backslash, but it still protects the quote.
                    push(&mut out, &mut out_bytes, "\\", is_bytes);
                    let ch = self.src[self.pos + 1..].chars().next()?;
                    let mut b = [0u8; 4];
                    push(&mut out, &mut out_bytes, ch.encode_utf8(&mut b), is_bytes);
                    self.pos += 1 + ch.len_utf8();
                    continue;
                }
                self.pos += 2;
                let esc: Option<String> = match n {
                    b'\n' => Some(String::new()),
                    b'\\' => Some("\\".into()),
                    b'\'' => Some("'".into()),
                    b'"' => Some("\"".into()),
                    b'a' => Some("\x07".into()),
                    b'b' => Some("\x08".into()),
                    b'f' => Some("\x0c".into()),
                    b'n' => Some("\n".into()),
                    b'r' => Some("\r".into()),
                    b't' => Some("\t".into()),
                    b'v' => Some("\x0b".into()),
                    b'0'..=b'7' => {
                        let mut v = (n - b'0') as u32;
                        for _ in 0..2 {
                            match self.peek() {
                                Some(d @ b'0'..=b'7') => {
                                    v = v * 8 + (d - b'0') as u32;
                                    self.pos += 1;
                                }
                                _ => break,
                            }
                        }
                        if is_bytes {
                            out_bytes.push(v as u8);
                            None
                        } else {
                            Some(char::from_u32(v)?.to_string())
                        }
                    }
                    b'x' => {
                        let h = self.src.get(self.pos..self.pos + 2)?;
                        let v = u32::from_str_radix(h, 16).ok()?;
                        self.pos += 2;
                        if is_bytes {
                            out_bytes.push(v as u8);
                            None
                        } else {
                            Some(char::from_u32(v)?.to_string())
                        }
                    }
                    b'u' | b'U' if !is_bytes => {
                        let len = if n == b'u' { 4 } else { 8 };
                        let h = self.src.get(self.pos..self.pos + len)?;
                        let v = u32::from_str_radix(h, 16).ok()?;
                        self.pos += len;
                        Some(char::from_u32(v)?.to_string())
                    }
                    b'N' if !is_bytes => return None,
                    _ => {
                        // Unknown escapes keep their backslash (with a SyntaxWarning).
                        self.pos -= 1;
                        Some("\\".into())
                    }
                };
                if let Some(e) = esc {
                    push(&mut out, &mut out_bytes, &e, is_bytes);
                }
                continue;
            }
            let ch = self.src[self.pos..].chars().next()?;
            if is_bytes && !ch.is_ascii() {
                return None;
            }
            let mut b = [0u8; 4];
            push(&mut out, &mut out_bytes, ch.encode_utf8(&mut b), is_bytes);
            self.pos += ch.len_utf8();
        }
    }
}

struct Body {
    text: String,
    bytes: Option<Vec<u8>>,
}

impl Body {
    fn into_bytes_lossless(self) -> Vec<u8> {
        self.bytes.unwrap_or_else(|| self.text.into_bytes())
    }
}

fn push(out: &mut String, bytes: &mut Vec<u8>, s: &str, is_bytes: bool) {
    if is_bytes {
        bytes.extend_from_slice(s.as_bytes());
    } else {
        out.push_str(s);
    }
}

fn is_string_prefix(p: &str) -> bool {
    matches!(
        p.to_ascii_lowercase().as_str(),
        "" | "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf"
    )
}

fn hashable(l: &Lit) -> bool {
    match l {
        Lit::List(_) | Lit::Dict(_) | Lit::Set(_) => false,
        Lit::Tuple(items) => items.iter().all(hashable),
        _ => true,
    }
}

/// Python dicts keep the first key's position and the last value; keys equal in
/// Python (`1`, `1.0`, `True`) are one key.
fn dedup_dict(pairs: Vec<(Lit, Lit)>) -> Vec<(Lit, Lit)> {
    let mut out: Vec<(Lit, Lit)> = Vec::new();
    for (k, v) in pairs {
        if let Some(slot) = out.iter_mut().find(|(ek, _)| ops::py_eq(ek, &k)) {
            slot.1 = v;
        } else {
            out.push((k, v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn scalars_like_python() {
        let cases: Vec<(&str, Value)> = vec![
            ("True", Value::Bool(true)),
            ("False", Value::Bool(false)),
            ("None", Value::Null),
            ("10", Value::Int(10)),
            ("-10", Value::Int(-10)),
            ("1_000", Value::Int(1000)),
            ("0x1F", Value::Int(31)),
            ("0o17", Value::Int(15)),
            ("0b101", Value::Int(5)),
            ("00", Value::Int(0)),
            ("0644", s("0644")),
            ("1.5", Value::Float(1.5)),
            ("1e5", Value::Float(100000.0)),
            (".5", Value::Float(0.5)),
            ("1.", Value::Float(1.0)),
            ("'x'", s("x")),
            ("\"a b\"", s("a b")),
            ("u'text'", s("text")),
            ("r'a\\b'", s("a\\b")),
            ("b'bytes'", s("bytes")),
            ("'a' 'b'", s("ab")),
            ("'tab\\there'", s("tab\there")),
            ("'\\x41\\u00e9'", s("Aé")),
            ("10 # comment", Value::Int(10)),
            ("  spaced", s("  spaced")),
            ("yes", s("yes")),
            ("foo # comment", s("foo # comment")),
            ("true", s("true")),
            ("...", s("...")),
            ("2j", s("2j")),
            ("1+2j", s("(1+2j)")),
            ("f'x'", s("f'x'")),
            ("'unterminated", s("'unterminated")),
            ("[1, 2", s("[1, 2")),
            ("1 2", s("1 2")),
            ("ab#cd", s("ab#cd")),
            ("", s("")),
        ];
        for (input, want) in cases {
            assert_eq!(parse_value(input), want, "input {input:?}");
        }
    }

    #[test]
    fn containers_like_python() {
        let v = parse_value(
            "[{'host':'r1.example.com','user':'u','password':'p','test_login':'False'},{'host':'r2','password':'tok'}]",
        );
        let Value::List(items) = v else {
            panic!("not a list")
        };
        assert_eq!(items.len(), 2);
        let Value::Map(m) = &items[0] else {
            panic!("not a map")
        };
        assert_eq!(m.get("host"), Some(&s("r1.example.com")));
        assert_eq!(m.get("test_login"), Some(&s("False")));
        assert_eq!(
            parse_value("(1,2)"),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(
            parse_value("1, 2,"),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(parse_value("(1)"), Value::Int(1));
        assert_eq!(parse_value("()"), Value::List(vec![]));
        assert_eq!(parse_value("{}"), Value::Map(IndexMap::new()));
        assert_eq!(parse_value("set()"), Value::List(vec![]));
        assert_eq!(
            parse_value("{1, 1, 2}"),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(
            parse_value("[1,\n 2]"),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        // Unhashable keys make Python raise TypeError, which Ansible does not catch;
        // we keep the string, which is what a user would see as "not a literal".
        assert_eq!(parse_value("{[1]: 2}"), s("{[1]: 2}"));
        assert_eq!(
            parse_value("{'a': 1, 'a': 2}").as_map_get("a"),
            Some(Value::Int(2))
        );
    }

    #[test]
    fn hostile_input_does_not_overflow() {
        let deep = "[".repeat(10_000);
        assert_eq!(parse_value(&deep), Value::Str(deep.clone()));
    }

    impl Value {
        fn as_map_get(&self, k: &str) -> Option<Value> {
            match self {
                Value::Map(m) => m.get(k).cloned(),
                _ => None,
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in "\\PC{0,40}") {
            let _ = parse_value(&input);
            let _ = safe_eval(&input);
        }

        #[test]
        fn arithmetic_never_panics(input in "[\\[({]?[-+*/ 0-9.jTrue'a\\[\\](){},]{0,40}") {
            let _ = safe_eval(&input);
        }

        #[test]
        fn ints_round_trip(i in proptest::num::i64::ANY) {
            proptest::prop_assume!(i != i64::MIN);
            proptest::prop_assert_eq!(parse_value(&i.to_string()), Value::Int(i));
        }
    }
}
