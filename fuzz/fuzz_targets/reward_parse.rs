//! `reward_parse`: the five reward APIs' answer parsers, `hedge_client::reward::parse_scores`, after the JSON
//! decoding. The first byte picks the API (`% 5`, in the order of `RewardApi::ALL`) and the number of texts
//! the answer must score (`/ 5 % 8`); the rest is the server's answer body.
//!
//! The client decodes answers with `parse_json_lenient` (crate-private in `hedge_client::http`): invalid UTF-8
//! becomes U+FFFD and lone surrogate escapes are replaced. Here the body is decoded with
//! `serde_json::from_slice`, and, if that fails, from its lossy UTF-8 text (the lenient parser's first step).

use hedge_client::RewardApi;
use hedge_client::reward::parse_scores;
use serde_json::Value;

fn main() {
    afl::fuzz!(|input: &[u8]| {
        let Some((&which, body)) = input.split_first() else {
            return;
        };
        let api = RewardApi::ALL[usize::from(which % 5)];
        let expected = usize::from(which / 5 % 8);
        let value = match serde_json::from_slice::<Value>(body) {
            Ok(v) => v,
            Err(_) => match serde_json::from_str::<Value>(&String::from_utf8_lossy(body)) {
                Ok(v) => v,
                Err(_) => return,
            },
        };
        match parse_scores(api, &value, expected, "http://fuzz/score") {
            Ok(scores) => assert_eq!(scores.len(), expected, "{api:?}"),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    });
}
