//! The `--store URL` flag's parser, shared by every command that takes a store (a leaf module).

/// `--store URL`: a scheme this build opens and a URL it can parse ([`hedge_store::validate_url`]), a
/// usage error otherwise, before anything is opened. clap's own "invalid value" error would quote the
/// argument as given, password included; this parser's error shows only the redacted URL.
#[derive(Debug, Clone, Copy)]
pub struct StoreUrl;

impl clap::builder::TypedValueParser for StoreUrl {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<String, clap::Error> {
        let fail = |reason: String| {
            let arg = arg.map_or_else(|| "--store".to_string(), ToString::to_string);
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for '{arg}': {reason}\n"),
            )
            .with_cmd(cmd)
        };
        let Some(url) = value.to_str() else {
            return Err(fail("the store URL is not valid UTF-8".into()));
        };
        hedge_store::validate_url(url).map_err(|e| fail(e.to_string()))?;
        Ok(url.to_string())
    }
}
