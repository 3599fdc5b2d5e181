//! Reading a call's keyword arguments (contract §11): typed getters that name the kwarg in
//! their errors (`kwargs.highlight_regions[1].keyframes[0].color`), `null` read as absent, int
//! and float both numbers, and the field check the job contract uses: a key the app is known
//! to send is accepted silently, a near miss of a known key is an error naming both, and any
//! other key is accepted and listed as ignored.

use serde_json::{Map, Value};

use crate::job::ParamError;
use crate::job::fields::near_miss;

/// One object of the kwargs and where it sits (`kwargs`, `kwargs.clips_data[2]`, ...).
#[derive(Clone, Copy)]
pub struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: &'a str,
}

impl<'a> Obj<'a> {
    /// `value` as an object at `path`.
    pub fn new(value: &'a Value, path: &'a str) -> Result<Self, ParamError> {
        match value.as_object() {
            Some(map) => Ok(Self { map, path }),
            None => Err(ParamError::new(path, "must be an object")),
        }
    }

    pub fn field(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    /// The value of `name`, `None` when absent or `null`.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ParamError::new(self.field(name), "must be a string")),
        }
    }

    pub fn str(&self, name: &str) -> Result<&'a str, ParamError> {
        self.opt_str(name)?
            .ok_or_else(|| ParamError::new(self.field(name), "is required"))
    }

    pub fn opt_num(&self, name: &str) -> Result<Option<f64>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(ParamError::new(self.field(name), "must be a finite number")),
            },
            Some(_) => Err(ParamError::new(self.field(name), "must be a number")),
        }
    }

    pub fn num(&self, name: &str) -> Result<f64, ParamError> {
        self.opt_num(name)?
            .ok_or_else(|| ParamError::new(self.field(name), "is required"))
    }

    /// A whole number (`810` or `810.0`).
    pub fn opt_int(&self, name: &str) -> Result<Option<i64>, ParamError> {
        match self.opt_num(name)? {
            None => Ok(None),
            Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => Ok(Some(v as i64)),
            Some(v) => Err(ParamError::new(
                self.field(name),
                format!("must be a whole number (got {v})"),
            )),
        }
    }

    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ParamError::new(self.field(name), "must be true or false")),
        }
    }

    /// A list (absent or `null`: empty).
    pub fn list(&self, name: &str) -> Result<&'a [Value], ParamError> {
        match self.get(name) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(ParamError::new(self.field(name), "must be a list")),
        }
    }

    /// Checks the keys against `known` (the contract's) and `app_only` (keys the app sends
    /// that the contract does not use): near misses of `known` are errors; unknown keys are
    /// pushed to `ignored`.
    pub fn check_keys(
        &self,
        known: &[&str],
        app_only: &[&str],
        ignored: &mut Vec<String>,
    ) -> Result<(), ParamError> {
        for name in self.map.keys() {
            if known.contains(&name.as_str()) || app_only.contains(&name.as_str()) {
                continue;
            }
            if let Some(meant) = near_miss(name, known) {
                return Err(ParamError::new(
                    self.field(name),
                    format!("is not a known argument; did you mean {meant}?"),
                ));
            }
            ignored.push(self.field(name));
        }
        Ok(())
    }
}

/// `params.x.y` (a §9/§10 error) as `kwargs.x.y`, with `renames` applied to the path's last
/// names (`png_base64` → `png`).
pub fn as_kwarg(mut e: ParamError, renames: &[(&str, &str)]) -> ParamError {
    if let Some(rest) = e.field.strip_prefix("params") {
        e.field = format!("kwargs{rest}");
    }
    for (from, to) in renames {
        if let Some(head) = e.field.strip_suffix(from)
            && head.ends_with('.')
        {
            e.field = format!("{head}{to}");
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn getters_name_the_kwarg() {
        let v = json!({"a": "x", "n": 3, "f": 2.5, "z": null, "b": true, "l": [1]});
        let o = Obj::new(&v, "kwargs").unwrap();
        assert_eq!(o.str("a").unwrap(), "x");
        assert_eq!(o.num("n").unwrap(), 3.0);
        assert_eq!(o.opt_int("n").unwrap(), Some(3));
        assert_eq!(
            o.opt_int("f").unwrap_err().to_string(),
            "kwargs.f must be a whole number (got 2.5)"
        );
        assert_eq!(o.opt_num("z").unwrap(), None, "null is absent");
        assert_eq!(o.str("z").unwrap_err().to_string(), "kwargs.z is required");
        assert_eq!(
            o.num("a").unwrap_err().to_string(),
            "kwargs.a must be a number"
        );
        assert_eq!(o.list("l").unwrap().len(), 1);
        assert!(o.list("zz").unwrap().is_empty());
        assert_eq!(o.opt_bool("b").unwrap(), Some(true));
    }

    #[test]
    fn keys_known_app_only_near_misses_and_others() {
        let v = json!({"output_key": 1, "label": 2, "whatever": 4});
        let o = Obj::new(&v, "kwargs").unwrap();
        let mut ignored = Vec::new();
        o.check_keys(&["output_key"], &["label"], &mut ignored)
            .unwrap();
        assert_eq!(ignored, vec!["kwargs.whatever"]);
        let v = json!({"ouptut_key": 1});
        let e = Obj::new(&v, "kwargs")
            .unwrap()
            .check_keys(&["output_key"], &[], &mut ignored)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "kwargs.ouptut_key is not a known argument; did you mean output_key?"
        );
    }

    #[test]
    fn job_errors_are_renamed_to_kwargs() {
        let e = as_kwarg(
            ParamError::new("params.text_layers[0].png_base64", "bad"),
            &[("png_base64", "png")],
        );
        assert_eq!(e.field, "kwargs.text_layers[0].png");
    }
}
