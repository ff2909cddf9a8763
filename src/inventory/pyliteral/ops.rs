//! safe_eval's arithmetic: the binary operators its whitelist lets through
//! (`ast.Add`, `ast.Sub`, `ast.Mult`, `ast.Div`) with Python 3's meaning and
//! precedence, and Python's `==` for dict keys and set members. Anything Python
//! would raise on (a TypeError, ZeroDivisionError) is `None`: safe_eval then leaves
//! the text as it was.

use super::{Lit, Parser};

/// Longest string, bytes or list a repetition may build; Python would build more,
/// but an inventory value asking for megabytes is hostile, not configuration.
const MAX_LEN: usize = 1 << 20;

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Parser<'_> {
    /// `term (('+' | '-') term)*`, left-associative.
    pub(super) fn arith(&mut self, br: bool) -> Option<Lit> {
        self.left_assoc(br, Self::term, |c| match c {
            b'+' => Some(Op::Add),
            b'-' => Some(Op::Sub),
            _ => None,
        })
    }

    /// `unary (('*' | '/') unary)*`; `**` and `//` fail on their second character.
    fn term(&mut self, br: bool) -> Option<Lit> {
        self.left_assoc(br, Self::unary, |c| match c {
            b'*' => Some(Op::Mul),
            b'/' => Some(Op::Div),
            _ => None,
        })
    }

    /// `operand (OP operand)*` for the operators `op_of` recognises.
    fn left_assoc(
        &mut self,
        br: bool,
        operand: fn(&mut Self, bool) -> Option<Lit>,
        op_of: fn(u8) -> Option<Op>,
    ) -> Option<Lit> {
        let mut left = operand(self, br)?;
        loop {
            self.skip_ws(br);
            let Some(op) = self.peek().and_then(op_of) else {
                return Some(left);
            };
            self.pos += 1;
            let right = operand(self, br)?;
            left = binop(op, left, right)?;
        }
    }
}

/// A number as Python's numeric tower sees it (bool is an int).
enum Num {
    Int(i64),
    Float(f64),
    Complex(f64, f64),
}

fn num(l: &Lit) -> Option<Num> {
    Some(match l {
        Lit::Bool(b) => Num::Int(*b as i64),
        Lit::Int(i) => Num::Int(*i),
        Lit::Float(f) => Num::Float(*f),
        Lit::Complex(r, i) => Num::Complex(*r, *i),
        _ => return None,
    })
}

fn as_complex(n: &Num) -> (f64, f64) {
    match *n {
        Num::Int(i) => (i as f64, 0.0),
        Num::Float(f) => (f, 0.0),
        Num::Complex(r, i) => (r, i),
    }
}

fn numeric(op: Op, a: Num, b: Num) -> Option<Lit> {
    match (&a, &b) {
        (Num::Int(x), Num::Int(y)) => match op {
            Op::Add => x.checked_add(*y).map(Lit::Int),
            Op::Sub => x.checked_sub(*y).map(Lit::Int),
            Op::Mul => x.checked_mul(*y).map(Lit::Int),
            Op::Div if *y == 0 => None,
            Op::Div => Some(Lit::Float(*x as f64 / *y as f64)),
        },
        (Num::Complex(..), _) | (_, Num::Complex(..)) => {
            let ((ar, ai), (br, bi)) = (as_complex(&a), as_complex(&b));
            match op {
                Op::Add => Some(Lit::Complex(ar + br, ai + bi)),
                Op::Sub => Some(Lit::Complex(ar - br, ai - bi)),
                Op::Mul => Some(Lit::Complex(ar * br - ai * bi, ar * bi + ai * br)),
                // CPython's complex division rounds its own way; left as text.
                Op::Div => None,
            }
        }
        _ => {
            let (x, y) = (as_complex(&a).0, as_complex(&b).0);
            match op {
                Op::Add => Some(Lit::Float(x + y)),
                Op::Sub => Some(Lit::Float(x - y)),
                Op::Mul => Some(Lit::Float(x * y)),
                Op::Div if y == 0.0 => None,
                Op::Div => Some(Lit::Float(x / y)),
            }
        }
    }
}

/// `seq * n` for str, bytes, list and tuple; a negative count gives an empty one.
fn repeat(seq: Lit, n: i64) -> Option<Lit> {
    let n = usize::try_from(n.max(0)).ok()?;
    let len = match &seq {
        Lit::Str(s) => s.len(),
        Lit::Bytes(b) => b.len(),
        Lit::List(v) | Lit::Tuple(v) => v.len(),
        _ => return None,
    };
    if len.checked_mul(n)? > MAX_LEN {
        return None;
    }
    Some(match seq {
        Lit::Str(s) => Lit::Str(s.repeat(n)),
        Lit::Bytes(b) => Lit::Bytes(b.repeat(n)),
        Lit::List(v) => Lit::List(cycle(&v, n)),
        Lit::Tuple(v) => Lit::Tuple(cycle(&v, n)),
        _ => return None,
    })
}

fn cycle(items: &[Lit], n: usize) -> Vec<Lit> {
    (0..n).flat_map(|_| items.iter().cloned()).collect()
}

fn count(l: &Lit) -> Option<i64> {
    match l {
        Lit::Bool(b) => Some(*b as i64),
        Lit::Int(i) => Some(*i),
        _ => None,
    }
}

fn binop(op: Op, a: Lit, b: Lit) -> Option<Lit> {
    if let (Some(x), Some(y)) = (num(&a), num(&b)) {
        return numeric(op, x, y);
    }
    match (op, a, b) {
        (Op::Add, Lit::Str(x), Lit::Str(y)) => Some(Lit::Str(x + &y)),
        (Op::Add, Lit::Bytes(mut x), Lit::Bytes(y)) => {
            x.extend(y);
            Some(Lit::Bytes(x))
        }
        (Op::Add, Lit::List(mut x), Lit::List(y)) => {
            x.extend(y);
            Some(Lit::List(x))
        }
        (Op::Add, Lit::Tuple(mut x), Lit::Tuple(y)) => {
            x.extend(y);
            Some(Lit::Tuple(x))
        }
        (Op::Sub, Lit::Set(x), Lit::Set(y)) => Some(Lit::Set(
            x.into_iter()
                .filter(|e| !y.iter().any(|o| py_eq(e, o)))
                .collect(),
        )),
        (Op::Mul, seq, n) if count(&n).is_some() => repeat(seq, count(&n)?),
        (Op::Mul, n, seq) if count(&n).is_some() => repeat(seq, count(&n)?),
        _ => None,
    }
}

/// Python's `==`: numbers by value across bool, int, float and complex; containers
/// element by element; otherwise same type and same value.
pub(super) fn py_eq(a: &Lit, b: &Lit) -> bool {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return match (x, y) {
            (Num::Int(x), Num::Int(y)) => x == y,
            (x, y) => as_complex(&x) == as_complex(&y),
        };
    }
    let all =
        |x: &[Lit], y: &[Lit]| x.len() == y.len() && x.iter().zip(y).all(|(a, b)| py_eq(a, b));
    match (a, b) {
        (Lit::List(x), Lit::List(y)) | (Lit::Tuple(x), Lit::Tuple(y)) => all(x, y),
        (Lit::Set(x), Lit::Set(y)) => {
            x.len() == y.len() && x.iter().all(|e| y.iter().any(|o| py_eq(e, o)))
        }
        (Lit::Dict(x), Lit::Dict(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| py_eq(k, k2) && py_eq(v, v2)))
        }
        _ => a == b,
    }
}
