//! Where a call's objects live (contract §11): every key is relative to the user's prefix
//! (`user_id`, e.g. `production/users/<uuid>/profiles/<8 hex>`), so the object is
//! `{user_id}/{key}`, except keys that begin with `games/` (shared game footage), read as they
//! are. Keys and the prefix are checked as §1 checks keys.

use crate::job::ParamError;
use crate::storage::check_key;

/// The user's prefix, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPrefix(String);

impl UserPrefix {
    /// `user_id` as given in `field` (a trailing `/` is tolerated).
    pub fn new(user_id: &str, field: &str) -> Result<Self, ParamError> {
        let p = user_id.trim_end_matches('/');
        check_key(p).map_err(|m| ParamError::new(field, m))?;
        Ok(Self(p.to_string()))
    }

    /// The full object key of `key` (named `field` in errors).
    pub fn object(&self, key: &str, field: &str) -> Result<String, ParamError> {
        check_key(key).map_err(|m| ParamError::new(field, m))?;
        if key.starts_with("games/") {
            Ok(key.to_string())
        } else {
            Ok(format!("{}/{key}", self.0))
        }
    }

    /// The full key of an output: always under the prefix (a reel is never written into the
    /// shared `games/` footage).
    pub fn output(&self, key: &str, field: &str) -> Result<String, ParamError> {
        check_key(key).map_err(|m| ParamError::new(field, m))?;
        Ok(format!("{}/{key}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full keys of the non-empty key list `name` of `kw` (`source_keys`, `input_keys`).
    pub fn objects(&self, kw: &super::kwargs::Obj, name: &str) -> Result<Vec<String>, ParamError> {
        let list = kw.list(name)?;
        if list.is_empty() {
            return Err(ParamError::new(
                kw.field(name),
                "must hold at least one key",
            ));
        }
        list.iter()
            .enumerate()
            .map(|(i, k)| {
                let field = format!("{}[{i}]", kw.field(name));
                let k = k
                    .as_str()
                    .ok_or_else(|| ParamError::new(&field, "must be a string"))?;
                self.object(k, &field)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_live_under_the_prefix_except_games() {
        let u =
            UserPrefix::new("production/users/u1/profiles/ab12cd34/", "kwargs.user_id").unwrap();
        assert_eq!(u.as_str(), "production/users/u1/profiles/ab12cd34");
        assert_eq!(
            u.object("temp/clip.mp4", "kwargs.input_key").unwrap(),
            "production/users/u1/profiles/ab12cd34/temp/clip.mp4"
        );
        assert_eq!(u.object("games/g1.mp4", "k").unwrap(), "games/g1.mp4");
        assert_eq!(
            u.output("games/x.mp4", "kwargs.output_key").unwrap(),
            "production/users/u1/profiles/ab12cd34/games/x.mp4"
        );
        assert_eq!(
            u.object("../x", "kwargs.source_keys[1]")
                .unwrap_err()
                .to_string(),
            "kwargs.source_keys[1] must not contain a '..' segment"
        );
        assert_eq!(
            u.object("/abs", "kwargs.input_key")
                .unwrap_err()
                .to_string(),
            "kwargs.input_key must not start with '/'"
        );
        assert!(UserPrefix::new("", "kwargs.user_id").is_err());
        assert!(UserPrefix::new("a/../b", "kwargs.user_id").is_err());
    }
}
