//! Built-in verifiers: a true reward of 1 or 0 from a response and a reference answer.
//!
//! - [`Verifier::Exact`]: the whole response equals the reference after normalisation (trimmed, lower
//!   case, runs of whitespace made one space, surrounding `$`/quotes and a final `.` removed, thousands
//!   separators dropped); numbers compare by value (`0.50` = `.5`).
//! - [`Verifier::Choice`]: the multiple-choice letter (A–J) of the response equals the reference's: the last
//!   "answer is X" / "answer: (X)", else a `\boxed{X}`, else a response that is just `X`, `(X)`, `X.` or
//!   `X)`, else the last `(X)` in the text.
//! - [`Verifier::Boxed`]: the content of the last `\boxed{...}` (balanced braces) equals the reference (its
//!   own `\boxed{}` content if it has one) after LaTeX normalisation (spaces, `\left`/`\right`, `\!`,
//!   `\text{}`, `dfrac`/`tfrac`, degrees and percent signs removed); numbers compare by value. A response
//!   without `\boxed{}` scores 0.
//! - [`Verifier::Number`]: the last number written in the response ([`last_number`]: an integer or a decimal,
//!   with an optional minus sign and thousands separators) equals the reference's number by value:
//!   `"3 + 4 = 7."` answers `7`; a response without a number scores 0.

use std::fmt;
use std::str::FromStr;

use crate::error::NetError;

/// A built-in verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verifier {
    /// Exact match after normalisation.
    Exact,
    /// Multiple-choice letter.
    Choice,
    /// Final `\boxed{}` answer.
    Boxed,
    /// The last number in the response.
    Number,
}

impl Verifier {
    /// Every verifier.
    pub const ALL: [Verifier; 4] = [Verifier::Exact, Verifier::Choice, Verifier::Boxed, Verifier::Number];

    /// The name used by `--verifier`.
    pub fn name(self) -> &'static str {
        match self {
            Verifier::Exact => "exact",
            Verifier::Choice => "choice",
            Verifier::Boxed => "boxed",
            Verifier::Number => "number",
        }
    }

    /// 1.0 if `response` answers `reference` correctly, else 0.0.
    pub fn score(self, response: &str, reference: &str) -> f64 {
        let ok = match self {
            Verifier::Exact => answers_equal(&normalize_text(response), &normalize_text(reference)),
            Verifier::Choice => match (extract_choice(response), extract_choice(reference)) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
            Verifier::Boxed => {
                let reference = last_boxed(reference).unwrap_or(reference);
                match last_boxed(response) {
                    Some(answer) => answers_equal(&normalize_math(answer), &normalize_math(reference)),
                    None => false,
                }
            }
            Verifier::Number => match (last_number(response), last_number(reference)) {
                (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
                _ => false,
            },
        };
        if ok { 1.0 } else { 0.0 }
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Verifier {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self, NetError> {
        Verifier::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                NetError::Config(format!(
                    "unknown verifier {s:?}; expected exact, choice, boxed or number"
                ))
            })
    }
}

/// The value of the last number in `text`: digits with an optional fractional part (`3.5`; a final `.` ends
/// the sentence, not the number), thousands separators (`1,234`) and a minus sign directly before the
/// digits that does not follow a letter or digit (`-3`, `= -3`; in `5-3` the numbers are 5 and 3).
///
/// ```
/// use hedge_client::verify::last_number;
/// assert_eq!(last_number("3 + 4 = 7."), Some(7.0));
/// assert_eq!(last_number("so the answer is -12,345.5!"), Some(-12345.5));
/// assert_eq!(last_number("no digits"), None);
/// ```
pub fn last_number(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut last = None;
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        // Thousands groups: ",ddd" not followed by another digit.
        while i + 3 < b.len()
            && b[i] == b','
            && b[i + 1..i + 4].iter().all(u8::is_ascii_digit)
            && !b.get(i + 4).is_some_and(u8::is_ascii_digit)
        {
            i += 4;
        }
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        let negative = start >= 1 && b[start - 1] == b'-' && !(start >= 2 && b[start - 2].is_ascii_alphanumeric());
        let digits: String = text[start..i].chars().filter(|&c| c != ',').collect();
        if let Ok(v) = digits.parse::<f64>() {
            last = Some(if negative { -v } else { v });
        }
    }
    last
}

fn strip_thousands(s: &str) -> String {
    // "1,234,567" → "1234567" (only when every group after the first has three digits).
    let body = s.strip_prefix('-').unwrap_or(s);
    let groups: Vec<&str> = body.split(',').collect();
    if groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups[0].bytes().all(|b| b.is_ascii_digit())
        && groups[1..].iter().enumerate().all(|(i, g)| {
            let g = if i + 2 == groups.len() {
                g.split('.').next().unwrap_or(g)
            } else {
                g
            };
            g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit())
        })
    {
        s.replace(',', "")
    } else {
        s.to_string()
    }
}

/// Normalises a short answer: trimmed, lower case, whitespace runs collapsed, surrounding `$` and quotes
/// and a final period removed, thousands separators dropped.
pub fn normalize_text(s: &str) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let mut t = collapsed.as_str();
    loop {
        let before = t;
        t = t.trim();
        t = t.strip_suffix('.').unwrap_or(t);
        for (a, b) in [("$", "$"), ("\"", "\""), ("'", "'"), ("`", "`")] {
            if t.len() >= 2 && t.starts_with(a) && t.ends_with(b) {
                t = &t[a.len()..t.len() - b.len()];
            }
        }
        if t == before {
            break;
        }
    }
    strip_thousands(t)
}

fn answers_equal(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (parse_number(a), parse_number(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some((n, d)) = t.split_once('/') {
        let (n, d) = (n.trim().parse::<f64>().ok()?, d.trim().parse::<f64>().ok()?);
        return (d != 0.0).then(|| n / d);
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// The content of the last `\boxed{...}` (or `\fbox{...}`) with balanced braces.
pub fn last_boxed(s: &str) -> Option<&str> {
    let start = [s.rfind("\\boxed{").map(|i| i + 7), s.rfind("\\fbox{").map(|i| i + 6)]
        .into_iter()
        .flatten()
        .max()?;
    let mut depth = 1usize;
    for (i, c) in s[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&s[start..start + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Replaces `\cmd{x}` by `x` for the given commands.
fn unwrap_commands(s: &str, commands: &[&str]) -> String {
    let mut out = s.to_string();
    for cmd in commands {
        let pat = format!("\\{cmd}{{");
        while let Some(i) = out.find(&pat) {
            let start = i + pat.len();
            let mut depth = 1usize;
            let mut end = None;
            for (j, c) in out[start..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(start + j);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            match end {
                Some(e) => out = format!("{}{}{}", &out[..i], &out[start..e], &out[e + 1..]),
                None => break,
            }
        }
    }
    out
}

/// Normalises a LaTeX answer for comparison.
pub fn normalize_math(s: &str) -> String {
    let mut t = unwrap_commands(s, &["text", "textbf", "mathrm", "mathbf"]);
    for (from, to) in [
        ("\\left", ""),
        ("\\right", ""),
        ("\\!", ""),
        ("\\,", ""),
        ("\\;", ""),
        ("\\:", ""),
        ("\\ ", ""),
        ("\\dfrac", "\\frac"),
        ("\\tfrac", "\\frac"),
        ("^{\\circ}", ""),
        ("^\\circ", ""),
        ("\\%", ""),
        ("%", ""),
        ("\\$", ""),
        ("$", ""),
    ] {
        t = t.replace(from, to);
    }
    t.retain(|c| !c.is_whitespace());
    let t = t.strip_suffix('.').unwrap_or(&t).to_lowercase();
    let t = strip_thousands(&t);
    // \frac{a}{b} with plain numbers → a/b so that it compares with 0.5 etc.
    if let Some(rest) = t.strip_prefix("\\frac{") {
        if let Some((n, d)) = rest.strip_suffix('}').and_then(|r| r.split_once("}{")) {
            if parse_number(n).is_some() && parse_number(d).is_some() {
                return format!("{n}/{d}");
            }
        }
    }
    t
}

fn letter(c: char) -> Option<char> {
    let u = c.to_ascii_uppercase();
    ('A'..='J').contains(&u).then_some(u)
}

/// The multiple-choice letter a text gives as its answer (see the module documentation).
pub fn extract_choice(text: &str) -> Option<char> {
    let lower = text.to_lowercase();
    // 1. The last "answer is X" / "answer: X" / "answer is (X)".
    let mut best: Option<(usize, char)> = None;
    for key in ["answer is", "answer:"] {
        for (i, _) in lower.match_indices(key) {
            let after = text[i + key.len()..].trim_start();
            let after = after.strip_prefix(':').unwrap_or(after).trim_start();
            let after = after.strip_prefix("**").unwrap_or(after);
            let after = after.strip_prefix('(').unwrap_or(after);
            let mut chars = after.chars();
            if let Some(c) = chars.next().and_then(letter) {
                let next = chars.next();
                if next.is_none_or(|n| !n.is_alphanumeric()) && best.is_none_or(|(j, _)| i > j) {
                    best = Some((i, c));
                }
            }
        }
    }
    if let Some((_, c)) = best {
        return Some(c);
    }
    // 2. \boxed{X}.
    if let Some(b) = last_boxed(text) {
        let b = b.trim().trim_start_matches("\\text{").trim_end_matches('}').trim();
        let b = b.trim_start_matches('(').trim_end_matches(')');
        if b.chars().count() == 1 {
            if let Some(c) = b.chars().next().and_then(letter) {
                return Some(c);
            }
        }
    }
    // 3. The whole text is a letter: "B", "(B)", "B.", "B)".
    let t = text.trim().trim_start_matches('(').trim_end_matches(['.', ')']).trim();
    let mut chars = t.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c.is_ascii_uppercase() {
            return letter(c);
        }
    }
    // "B) some option text" as a reference.
    let mut chars = text.trim().chars();
    if let (Some(c), Some(')' | '.' | ':')) = (chars.next(), chars.next()) {
        if c.is_ascii_uppercase() {
            if let Some(l) = letter(c) {
                return Some(l);
            }
        }
    }
    // 4. The last "(X)".
    let b = text.as_bytes();
    (0..b.len().saturating_sub(2)).rev().find_map(|i| {
        (b[i] == b'(' && b[i + 2] == b')' && b[i + 1].is_ascii_uppercase())
            .then(|| letter(b[i + 1] as char))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact() {
        let v = Verifier::Exact;
        assert_eq!(v.score("  Paris. ", "paris"), 1.0);
        assert_eq!(v.score("New   York", "new york"), 1.0);
        assert_eq!(v.score("$42$", "42"), 1.0);
        assert_eq!(v.score("1,000", "1000"), 1.0);
        assert_eq!(v.score("0.50", ".5"), 1.0);
        assert_eq!(v.score("Paris is the capital", "Paris"), 0.0);
        assert_eq!(v.score("", "x"), 0.0);
    }

    #[test]
    fn choice() {
        let v = Verifier::Choice;
        assert_eq!(v.score("Let me think... The answer is (C).", "C"), 1.0);
        assert_eq!(v.score("Answer: b", "B"), 1.0);
        assert_eq!(v.score("The answer is A. Wait, no: the answer is D", "D"), 1.0);
        assert_eq!(v.score("\\boxed{E}", "(E)"), 1.0);
        assert_eq!(v.score("B.", "B) 42 apples"), 1.0);
        assert_eq!(v.score("I pick (A) over (B)", "B"), 1.0);
        assert_eq!(v.score("I am not sure", "A"), 0.0);
        assert_eq!(v.score("The answer is (C).", "D"), 0.0);
    }

    #[test]
    fn boxed() {
        let v = Verifier::Boxed;
        assert_eq!(v.score("so x = \\boxed{\\frac{1}{2}}.", "0.5"), 1.0);
        assert_eq!(v.score("\\boxed{\\dfrac{3}{4}}", "\\frac{3}{4}"), 1.0);
        assert_eq!(v.score("first \\boxed{1} then \\boxed{2}", "2"), 1.0);
        assert_eq!(v.score("\\boxed{90^\\circ}", "90"), 1.0);
        assert_eq!(v.score("\\boxed{\\text{(B)}}", "(b)"), 1.0);
        assert_eq!(v.score("\\boxed{x^{2}+1}", "x^{2} + 1"), 1.0);
        assert_eq!(v.score("no box: 2", "2"), 0.0);
        assert_eq!(v.score("\\boxed{2", "2"), 0.0);
        assert_eq!(last_boxed("\\boxed{a{b}c}"), Some("a{b}c"));
    }

    #[test]
    fn number() {
        let v = Verifier::Number;
        for (response, reference, want) in [
            ("3 + 4 = 7.", "7", 1.0),
            ("The answer is 7", "7", 1.0),
            ("7 apples and 2 pears, so 9", "9", 1.0),
            ("7 apples and 2 pears, so 9", "7", 0.0),
            ("It is 7.0", "7", 1.0),
            ("1,234 in all", "1234", 1.0),
            ("5-3 = 2", "2", 1.0),
            ("x = -4", "-4", 1.0),
            ("x = -4", "4", 0.0),
            ("ten", "10", 0.0),
            ("", "3", 0.0),
            ("12", "no number", 0.0),
            ("2.5 or 2.50", "2.5", 1.0),
            ("Answer: 13\n\nI hope this helps", "13", 1.0),
        ] {
            assert_eq!(v.score(response, reference), want, "{response:?} vs {reference:?}");
        }
        assert_eq!(last_number("a,b 12,34"), Some(34.0));
        assert_eq!(last_number("v2"), Some(2.0));
        assert_eq!(last_number("-"), None);
    }

    #[test]
    fn names() {
        for v in Verifier::ALL {
            assert_eq!(v.name().parse::<Verifier>().unwrap(), v);
        }
        assert!("regex".parse::<Verifier>().is_err());
    }
}
