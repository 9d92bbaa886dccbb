//! Prompt files for `collect`: JSON lines, one prompt per line.
//!
//! ```text
//! {"id": "q1", "prompt": "2+2=", "reference": "4"}
//! {"id": 7, "messages": [{"role": "user", "content": "Capital of France?"}], "reference": "Paris"}
//! ```
//!
//! `id` (string or integer) must be unique; exactly one of `prompt` (string, sent to `/v1/completions`) and
//! `messages` (array of `{"role", "content"}`, sent to `/v1/chat/completions`); `reference` (string or
//! number) is optional and used by the verifiers. Blank lines are skipped; other keys are ignored.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};

use serde_json::Value;

use crate::error::{NetError, Result};
use crate::reward::Prompt;

/// One prompt of a prompts file.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptRecord {
    /// The prompt id, as text (integers are written in decimal).
    pub id: String,
    /// The prompt or conversation.
    pub prompt: Prompt,
    /// The reference answer, if any.
    pub reference: Option<String>,
    /// 1-based line in the file.
    pub line: usize,
}

/// Reads a prompts file; errors name the file and line.
pub fn read_prompts(path: &str) -> Result<Vec<PromptRecord>> {
    let file = std::fs::File::open(path).map_err(|e| NetError::io(path, e))?;
    parse_prompts(BufReader::new(file), path)
}

/// Parses prompts from any reader; `name` is used in messages.
pub fn parse_prompts<R: BufRead>(reader: R, name: &str) -> Result<Vec<PromptRecord>> {
    let bad = |line: usize, message: String| NetError::Prompts {
        path: name.to_string(),
        line,
        message,
    };
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in reader.lines().enumerate() {
        let lineno = i + 1;
        let line = line.map_err(|e| bad(lineno, format!("cannot read: {e}")))?;
        let text = line.trim().trim_start_matches('\u{feff}');
        if text.is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            bad(lineno, format!("invalid JSON at column {}: {msg}", e.column()))
        })?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad(lineno, "expected a JSON object".into()))?;
        let id = match obj.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(other) => {
                return Err(bad(
                    lineno,
                    format!("\"id\" must be a non-empty string or an integer, found {other}"),
                ));
            }
            None => return Err(bad(lineno, "missing field \"id\"".into())),
        };
        if let Some(first) = seen.insert(id.clone(), lineno) {
            return Err(bad(lineno, format!("duplicate id {id:?} (first on line {first})")));
        }
        let prompt = match (obj.get("prompt"), obj.get("messages")) {
            (Some(Value::String(p)), None) => Prompt::Text(p.clone()),
            (None, Some(Value::Array(m))) => {
                if m.is_empty() {
                    return Err(bad(lineno, "\"messages\" is empty".into()));
                }
                for (k, msg) in m.iter().enumerate() {
                    if !msg.get("role").is_some_and(Value::is_string) || msg.get("content").is_none() {
                        return Err(bad(
                            lineno,
                            format!("messages[{k}] must be an object with \"role\" and \"content\""),
                        ));
                    }
                }
                Prompt::Messages(m.clone())
            }
            (Some(_), Some(_)) => return Err(bad(lineno, "give either \"prompt\" or \"messages\", not both".into())),
            (Some(_), None) => return Err(bad(lineno, "\"prompt\" must be a string".into())),
            (None, Some(_)) => return Err(bad(lineno, "\"messages\" must be an array".into())),
            (None, None) => return Err(bad(lineno, "missing field \"prompt\" or \"messages\"".into())),
        };
        let reference = match obj.get("reference") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                return Err(bad(
                    lineno,
                    format!("\"reference\" must be a string or a number, found {other}"),
                ));
            }
        };
        out.push(PromptRecord {
            id,
            prompt,
            reference,
            line: lineno,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_kinds() {
        let text = "{\"id\": \"a\", \"prompt\": \"2+2=\", \"reference\": 4}\n\n{\"id\": 7, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n";
        let p = parse_prompts(text.as_bytes(), "p.jsonl").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].reference.as_deref(), Some("4"));
        assert_eq!(p[1].id, "7");
        assert_eq!(p[1].line, 3);
        assert!(matches!(p[1].prompt, Prompt::Messages(_)));
    }

    #[test]
    fn errors_name_the_line() {
        for (text, msg) in [
            (
                "{\"id\": 1, \"prompt\": \"x\"}\n{\"id\": 1, \"prompt\": \"y\"}\n",
                "p.jsonl:2: duplicate id \"1\" (first on line 1)",
            ),
            ("{\"prompt\": \"x\"}\n", "p.jsonl:1: missing field \"id\""),
            (
                "{\"id\": \"a\"}\n",
                "p.jsonl:1: missing field \"prompt\" or \"messages\"",
            ),
            (
                "{\"id\": \"a\", \"prompt\": \"x\", \"messages\": []}\n",
                "p.jsonl:1: give either",
            ),
            (
                "{\"id\": \"a\", \"messages\": [{\"content\": \"x\"}]}\n",
                "p.jsonl:1: messages[0]",
            ),
            (
                "{\"id\": \"a\", \"prompt\": \"x\",}\n",
                "p.jsonl:1: invalid JSON at column",
            ),
        ] {
            let e = parse_prompts(text.as_bytes(), "p.jsonl").unwrap_err().to_string();
            assert!(e.starts_with(msg), "{e}");
        }
    }
}
