//! `stitch_members` (contract §14): the app's kwargs for joining finished reels.

use serde_json::Value;

use super::keys::UserPrefix;
use super::kwargs::Obj;
use crate::job::ParamError;

pub const KWARGS: &[&str] = &["user_id", "input_keys", "output_key"];

/// A checked `stitch_members` call.
#[derive(Debug, Clone)]
pub struct StitchCall {
    pub user: UserPrefix,
    /// Full object keys, in order.
    pub inputs: Vec<String>,
    pub output: String,
    pub output_key: String,
    pub ignored: Vec<String>,
}

pub fn parse(kwargs: &Value) -> Result<StitchCall, ParamError> {
    let kw = Obj::new(kwargs, "kwargs")?;
    let mut ignored = Vec::new();
    kw.check_keys(KWARGS, &["job_id"], &mut ignored)?;
    let user = UserPrefix::new(kw.str("user_id")?, "kwargs.user_id")?;
    let output_key = kw.str("output_key")?;
    let output = user.output(output_key, "kwargs.output_key")?;
    let inputs = user.objects(&kw, "input_keys")?;
    Ok(StitchCall {
        user,
        inputs,
        output,
        output_key: output_key.to_string(),
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_under_the_prefix_and_errors_name_the_kwarg() {
        let c = parse(
            &json!({"user_id": "u/p", "input_keys": ["a.mp4", "games/b.mp4"],
            "output_key": "tmp/s.mp4"}),
        )
        .unwrap();
        assert_eq!(c.inputs, vec!["u/p/a.mp4", "games/b.mp4"]);
        assert_eq!(c.output, "u/p/tmp/s.mp4");
        let err = |v: Value| parse(&v).unwrap_err().to_string();
        assert_eq!(
            err(json!({"user_id": "u", "input_keys": [], "output_key": "o.mp4"})),
            "kwargs.input_keys must hold at least one key"
        );
        assert_eq!(
            err(json!({"user_id": "u", "input_keys": [3], "output_key": "o.mp4"})),
            "kwargs.input_keys[0] must be a string"
        );
        assert_eq!(
            err(json!({"user_id": "u", "input_key": ["a"], "output_key": "o.mp4"})),
            "kwargs.input_key is not a known argument; did you mean input_keys?"
        );
    }
}
