//! `request_parse`: the proxy's request parser, `hedge_serve::serve::parse_request`. The first byte picks the
//! API (even: chat, odd: completions), the rest is the request body.

use hedge_client::ApiKind;
use hedge_client::reward::Prompt;
use hedge_serve::serve::{ServeError, parse_request};

fn main() {
    afl::fuzz!(|input: &[u8]| {
        let Some((&which, body)) = input.split_first() else {
            return;
        };
        let kind = if which & 1 == 0 {
            ApiKind::Chat
        } else {
            ApiKind::Completions
        };
        match parse_request(kind, body) {
            Ok(r) => {
                assert_eq!(r.kind, kind);
                match (kind, &r.prompt) {
                    (ApiKind::Chat, Prompt::Messages(m)) => {
                        assert!(!m.is_empty());
                        assert_eq!(r.body.get("messages"), Some(&serde_json::Value::Array(m.clone())));
                    }
                    (ApiKind::Completions, Prompt::Text(_)) => assert!(r.body.contains_key("prompt")),
                    (k, p) => panic!("{k:?} request parsed to {p:?}"),
                }
                // What the proxy forwards must serialise.
                let _ = serde_json::to_vec(&r.body).expect("the body serialises");
            }
            Err(e) => {
                assert!(
                    matches!(e, ServeError::BadRequest(_)),
                    "parse_request failed with {e:?}"
                );
                let _ = e.to_string();
            }
        }
    });
}
