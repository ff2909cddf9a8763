//! Ansible's `serial`: a host count, a percentage of the play's hosts (`"20%"`), or a
//! list of them (`[1, "10%", "50%"]`, the last repeating), cut into batches exactly as
//! ansible-core's `PlaybookExecutor._get_serialized_batches` and `pct_to_int` do.

use crate::inventory::Value;

/// One element of a `serial` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A number of hosts; zero or negative means every host left, in one batch.
    Hosts(i64),
    /// A percentage of all the play's hosts (not of those left), at least one host.
    Percent(i64),
}

/// A parsed `serial` value; empty means every host in one batch (Ansible's default).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Serial(pub Vec<Item>);

impl Serial {
    /// One batch of `n` hosts at a time.
    pub fn hosts(n: i64) -> Serial {
        Serial(vec![Item::Hosts(n)])
    }

    /// Reads a YAML or inventory value as Ansible's `serial` keyword takes it: a scalar
    /// is a one-element list, `null` the empty list.
    pub fn from_value(v: &Value) -> Result<Serial, String> {
        match v {
            Value::Null => Ok(Serial::default()),
            Value::List(items) => items.iter().map(item).collect::<Result<_, _>>().map(Serial),
            Value::Str(s) if s.trim_start().starts_with('[') => Serial::parse(s),
            other => Ok(Serial(vec![item(other)?])),
        }
    }

    /// Reads a string as given with `-e`: `5`, `20%`, or a flow list `[1, "10%"]`.
    pub fn parse(s: &str) -> Result<Serial, String> {
        let t = s.trim();
        let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
            return Ok(Serial(vec![item(&Value::Str(t.to_string()))?]));
        };
        inner
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|x| {
                let unquoted = x
                    .strip_prefix('"')
                    .and_then(|r| r.strip_suffix('"'))
                    .or_else(|| x.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')));
                item(&Value::Str(unquoted.unwrap_or(x).to_string()))
            })
            .collect::<Result<_, _>>()
            .map(Serial)
    }

    /// Batch sizes for `n` hosts, in order; they add up to `n`.
    pub fn batches(&self, n: usize) -> Vec<usize> {
        let items: &[Item] = if self.0.is_empty() {
            &[Item::Hosts(-1)]
        } else {
            &self.0
        };
        let mut left = n;
        let mut cur = 0;
        let mut out = Vec::new();
        while left > 0 {
            let serial = pct_to_int(items[cur], n);
            if serial <= 0 {
                out.push(left);
                break;
            }
            let take = usize::try_from(serial).unwrap_or(usize::MAX).min(left);
            out.push(take);
            left -= take;
            cur = (cur + 1).min(items.len() - 1);
        }
        out
    }

    /// `items` cut into consecutive batches of [`Serial::batches`]' sizes.
    pub fn split<'a, T>(&self, items: &'a [T]) -> Vec<&'a [T]> {
        let mut rest = items;
        self.batches(items.len())
            .into_iter()
            .map(|n| {
                let (batch, tail) = rest.split_at(n);
                rest = tail;
                batch
            })
            .collect()
    }
}

/// A `serial` option as a playbook writes it: the value, or `"{{ variable }}"` to take
/// it from `-e` or the inventory when the run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialSpec {
    /// Given in the playbook.
    Literal(Serial),
    /// The name of the variable holding it.
    Var(String),
}

impl std::fmt::Display for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words: Vec<String> = self
            .0
            .iter()
            .map(|i| match i {
                Item::Hosts(n) => n.to_string(),
                Item::Percent(p) => format!("{p}%"),
            })
            .collect();
        write!(f, "[{}]", words.join(", "))
    }
}

/// ansible-core's `pct_to_int(value, num_items, min_value=1)`: `int(pct / 100.0 * n) or 1`,
/// the product in floating point as Python computes it (29% of 100 is 28).
fn pct_to_int(i: Item, n: usize) -> i64 {
    match i {
        Item::Hosts(h) => h,
        Item::Percent(p) => match ((p as f64 / 100.0) * n as f64) as i64 {
            0 => 1,
            v => v,
        },
    }
}

/// Python's `int(x)` of one element, with `"N%"` a percentage (every `%` dropped, as
/// `value.replace("%", "")` does).
fn item(v: &Value) -> Result<Item, String> {
    let int = |s: &str| -> Option<i64> { s.trim().replace('_', "").parse().ok() };
    match v {
        Value::Int(i) => Ok(Item::Hosts(*i)),
        Value::Bool(b) => Ok(Item::Hosts(i64::from(*b))),
        Value::Float(f) if f.is_finite() => Ok(Item::Hosts(f.trunc() as i64)),
        Value::Str(s) if s.ends_with('%') => int(&s.replace('%', ""))
            .map(Item::Percent)
            .ok_or_else(|| format!("serial: '{s}' is not a whole percentage such as \"20%\"")),
        Value::Str(s) => int(s).map(Item::Hosts).ok_or_else(|| {
            format!(
                "serial: '{s}' is not a number of hosts, a percentage (\"20%\") or a list of them"
            )
        }),
        _ => Err(
            "serial takes a number of hosts, a percentage (\"20%\") or a list of them".to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Serial {
        Serial::parse(text).unwrap()
    }

    /// Sizes printed by ansible-core 2.19.14's own `_get_serialized_batches`
    /// (tests/oracles/ansible_serial.py; tests/serial.rs compares many more live).
    #[test]
    fn batches_match_ansible() {
        for (serial, n, want) in [
            ("1", 5, &[1, 1, 1, 1, 1][..]),
            ("20%", 2000, &[400, 400, 400, 400, 400]),
            ("[1, '10%', '50%']", 2000, &[1, 200, 1000, 799]),
            ("29%", 100, &[28, 28, 28, 16]),
            ("0%", 3, &[1, 1, 1]),
            ("0", 5, &[5]),
            ("-2", 5, &[5]),
            ("[2, '0']", 9, &[2, 7]),
            ("-10%", 30, &[30]),
            (" 3 ", 10, &[3, 3, 3, 1]),
        ] {
            assert_eq!(s(serial).batches(n), want, "serial {serial} on {n} hosts");
        }
        assert_eq!(Serial::default().batches(3), [3]);
        assert_eq!(
            Serial::from_value(&Value::Float(2.7)).unwrap().batches(5),
            [2, 2, 1]
        );
    }

    #[test]
    fn values_as_ansible_reads_them() {
        assert_eq!(
            Serial::from_value(&Value::Int(3)).unwrap(),
            Serial::hosts(3)
        );
        assert_eq!(Serial::from_value(&Value::Null).unwrap(), Serial::default());
        assert_eq!(
            Serial::from_value(&Value::List(vec![Value::Int(1), Value::Str("10%".into())]))
                .unwrap(),
            Serial(vec![Item::Hosts(1), Item::Percent(10)])
        );
        assert_eq!(
            Serial::from_value(&Value::Str("[1, '50%']".into())).unwrap(),
            Serial(vec![Item::Hosts(1), Item::Percent(50)])
        );
        assert_eq!(s(" 7 "), Serial::hosts(7));
        assert!(Serial::parse("ten").is_err());
        assert!(Serial::parse("2.5%").is_err());
        assert!(Serial::from_value(&Value::Map(Default::default())).is_err());
    }
}
