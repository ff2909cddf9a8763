//! `WWW-Authenticate` parsing (RFC 7235): several challenges in one header or in
//! several headers, parameters with quoted strings and backslash escapes. The
//! registry's answer to `GET /v2/` decides between Basic and the token flow.

/// One challenge: a scheme and its parameters, names lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as sent (`Basic`, `Bearer`); compare with `eq_ignore_ascii_case`.
    pub scheme: String,
    /// `name=value` pairs in order, names lower-cased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (case-insensitive), if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True for the scheme `name`, whatever its case.
    pub fn is(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }
}

/// What a registry asks for, reduced to the two schemes registries use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthScheme {
    /// Send `user:password` on every request.
    Basic,
    /// Get a token from `realm` for `service` first.
    Bearer {
        /// Token endpoint URL.
        realm: String,
        /// `service` parameter to pass back, if the registry named one.
        service: Option<String>,
    },
}

/// Picks the scheme to use from all challenges: Bearer with a realm wins over Basic,
/// as the container tools prefer it.
pub fn choose(challenges: &[Challenge]) -> Option<AuthScheme> {
    let bearer = challenges.iter().find_map(|c| {
        let realm = c.param("realm").filter(|r| !r.is_empty())?;
        c.is("bearer").then(|| AuthScheme::Bearer {
            realm: realm.to_string(),
            service: c.param("service").map(str::to_string),
        })
    });
    bearer.or_else(|| {
        challenges
            .iter()
            .any(|c| c.is("basic"))
            .then_some(AuthScheme::Basic)
    })
}

/// Parses every challenge in one `WWW-Authenticate` value; junk is skipped, not fatal.
pub fn parse(header: &str) -> Vec<Challenge> {
    let mut p = Parser {
        s: header.as_bytes(),
        i: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        p.skip(|c| c == b' ' || c == b'\t' || c == b',');
        let Some(scheme) = p.token() else {
            if p.i >= p.s.len() {
                break;
            }
            // Not a token where a scheme should be: drop one byte and resync.
            p.i += 1;
            continue;
        };
        let mut ch = Challenge {
            scheme,
            params: Vec::new(),
        };
        loop {
            p.skip(|c| c == b' ' || c == b'\t');
            let save = p.i;
            let Some(name) = p.token() else { break };
            p.skip(|c| c == b' ' || c == b'\t');
            if p.peek() != Some(b'=') {
                // A bare token: the next challenge's scheme.
                p.i = save;
                break;
            }
            let eqs = p.count(b'=');
            p.skip(|c| c == b' ' || c == b'\t');
            if eqs > 1 || matches!(p.peek(), None | Some(b',')) {
                // token68 (`Negotiate abc==`): not a parameter; nothing we use.
            } else {
                let value = if p.peek() == Some(b'"') {
                    p.quoted()
                } else {
                    p.token().unwrap_or_default()
                };
                ch.params.push((name.to_ascii_lowercase(), value));
            }
            p.skip(|c| c == b' ' || c == b'\t');
            if p.peek() == Some(b',') {
                p.i += 1;
            }
        }
        out.push(ch);
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
    }

    fn count(&mut self, b: u8) -> usize {
        let start = self.i;
        self.skip(|c| c == b);
        self.i - start
    }

    /// RFC 7230 `token` characters.
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&c));
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// A quoted string starting at `"`; `\x` stands for `x`. An unterminated one runs to the end.
    fn quoted(&mut self) -> String {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(c),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect()
    }

    #[test]
    fn bearer_of_distribution() {
        let h = r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#;
        let c = parse(h);
        assert_eq!(c.len(), 1);
        assert!(c[0].is("bearer"));
        assert_eq!(
            params(&c[0]),
            [
                ("realm", "https://auth.example/token"),
                ("service", "registry.example"),
                ("scope", "repository:a/b:pull")
            ]
        );
        assert_eq!(
            choose(&c),
            Some(AuthScheme::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into())
            })
        );
    }

    #[test]
    fn several_challenges_escapes_and_tokens() {
        let h = r#"Basic realm="a \"quoted\" \\ realm", charset=UTF-8, Negotiate abc==, BEARER Realm=https://t/x , error="insufficient_scope""#;
        let c = parse(h);
        let schemes: Vec<_> = c.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "Negotiate", "BEARER"]);
        assert_eq!(
            params(&c[0]),
            [("realm", r#"a "quoted" \ realm"#), ("charset", "UTF-8")]
        );
        assert!(c[1].params.is_empty());
        assert_eq!(c[2].param("REALM"), Some("https://t/x"));
        assert_eq!(c[2].param("error"), Some("insufficient_scope"));
        assert!(matches!(choose(&c), Some(AuthScheme::Bearer { .. })));
    }

    #[test]
    fn basic_only_and_junk() {
        assert_eq!(
            choose(&parse(r#"Basic realm="Registry Realm""#)),
            Some(AuthScheme::Basic)
        );
        assert_eq!(choose(&parse("")), None);
        assert_eq!(
            choose(&parse("Bearer service=x")),
            None,
            "Bearer without realm is unusable"
        );
        // Garbage must not panic and must not invent parameters.
        for junk in [
            "\"",
            "=,=,",
            "Basic realm=\"unterminated",
            "Bearer ,,, realm",
            "@@@ Basic",
        ] {
            let _ = parse(junk);
        }
        assert_eq!(
            parse("Basic realm=\"unterminated")[0].param("realm"),
            Some("unterminated")
        );
    }
}
