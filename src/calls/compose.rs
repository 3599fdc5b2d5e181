//! `compose_serve_time_modal` (contract §15): the app's kwargs for putting an intro card and
//! the branded outro around a reel. The app passes them positionally, in [`KWARGS`]' order.
//! Every key is `{user_prefix}/{key}`, as the app's function reads them. A `card_plan` that
//! does not parse is not an error here: §15 leaves the intro out and says why.

use serde_json::Value;

use super::keys::UserPrefix;
use super::kwargs::Obj;
use crate::job::ParamError;
use crate::job::card::CardPlan;

pub const KWARGS: &[&str] = &[
    "user_prefix",
    "reel_key",
    "card_plan",
    "intro_layer_keys",
    "outro_enabled",
    "out_key",
];

/// A checked `compose_serve_time_modal` call.
#[derive(Debug, Clone)]
pub struct ComposeCall {
    pub user: UserPrefix,
    /// The reel's full key.
    pub reel: String,
    /// The intro asked for (a plan and layer keys both given): the plan, or why it does not
    /// parse; and each layer's full key.
    pub intro: Option<(Result<CardPlan, String>, Vec<String>)>,
    pub outro: bool,
    /// The result's full key, and as the app named it.
    pub output: String,
    pub out_key: String,
    pub ignored: Vec<String>,
}

pub fn parse(kwargs: &Value) -> Result<ComposeCall, ParamError> {
    let kw = Obj::new(kwargs, "kwargs")?;
    let mut ignored = Vec::new();
    kw.check_keys(KWARGS, &[], &mut ignored)?;
    let user = UserPrefix::new(kw.str("user_prefix")?, "kwargs.user_prefix")?;
    let reel = user.output(kw.str("reel_key")?, "kwargs.reel_key")?;
    let out_key = kw.str("out_key")?;
    let output = user.output(out_key, "kwargs.out_key")?;
    if output == reel {
        return Err(ParamError::new(
            "kwargs.out_key",
            "must not be the reel's key (the reel would be overwritten)",
        ));
    }
    let outro = kw.opt_bool("outro_enabled")?.unwrap_or(false);
    let layers = kw.list("intro_layer_keys")?;
    let mut keys = Vec::with_capacity(layers.len());
    for (i, k) in layers.iter().enumerate() {
        let field = format!("kwargs.intro_layer_keys[{i}]");
        let k = k
            .as_str()
            .ok_or_else(|| ParamError::new(&field, "must be a string"))?;
        keys.push(user.output(k, &field)?);
    }
    // an empty object, like null, asks for no intro (the app: `bool(card_plan)`)
    let plan = kw
        .get("card_plan")
        .filter(|p| !p.as_object().is_some_and(|o| o.is_empty()));
    let intro = match plan {
        Some(p) if !keys.is_empty() => Some((
            CardPlan::parse(p, "kwargs.card_plan").map_err(|e| e.to_string()),
            keys,
        )),
        _ => None,
    };
    Ok(ComposeCall {
        user,
        reel,
        intro,
        outro,
        output,
        out_key: out_key.to_string(),
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kwargs() -> Value {
        json!({"user_prefix": "u/1", "reel_key": "downloads/reel.mp4",
            "card_plan": crate::testing::card::plan(64, 96, 2.0, 1),
            "intro_layer_keys": ["cards/1/bg.png", "cards/1/photo.png",
                "cards/1/static_overlay.png", "cards/1/el_0.png"],
            "outro_enabled": true, "out_key": "downloads/tmp/composed.mp4"})
    }

    #[test]
    fn the_apps_call_parses() {
        let c = parse(&kwargs()).unwrap();
        assert_eq!(c.reel, "u/1/downloads/reel.mp4");
        assert_eq!(c.output, "u/1/downloads/tmp/composed.mp4");
        let (plan, keys) = c.intro.unwrap();
        assert_eq!(plan.unwrap().layers.len(), 4);
        assert_eq!(keys[3], "u/1/cards/1/el_0.png");
        assert!(c.outro);
    }

    #[test]
    fn no_intro_without_a_plan_or_layers_and_a_bad_plan_degrades() {
        for (k, v) in [
            ("card_plan", json!(null)),
            ("card_plan", json!({})),
            ("intro_layer_keys", json!([])),
        ] {
            let mut kw = kwargs();
            kw[k] = v;
            assert!(parse(&kw).unwrap().intro.is_none(), "{k}");
        }
        let mut kw = kwargs();
        kw["card_plan"]["layers"][1]["kind"] = json!("video");
        let (plan, _) = parse(&kw).unwrap().intro.unwrap();
        assert!(
            plan.unwrap_err()
                .contains("kwargs.card_plan.layers[1].kind")
        );
    }

    #[test]
    fn bad_kwargs_name_the_field() {
        for (k, v, field) in [
            ("reel_key", json!(null), "kwargs.reel_key"),
            ("out_key", json!("../x.mp4"), "kwargs.out_key"),
            ("out_key", json!("downloads/reel.mp4"), "kwargs.out_key"),
            ("outro_enabled", json!("yes"), "kwargs.outro_enabled"),
            ("intro_layer_keys", json!([3]), "kwargs.intro_layer_keys[0]"),
            ("user_prefix", json!(""), "kwargs.user_prefix"),
        ] {
            let mut kw = kwargs();
            kw[k] = v;
            assert_eq!(parse(&kw).unwrap_err().field, field, "{k}");
        }
        let mut kw = kwargs();
        kw["out_kee"] = json!("x");
        assert_eq!(parse(&kw).unwrap_err().field, "kwargs.out_kee");
    }
}

/// The operator's outro conformed to each reel format a worker has seen, made once per format
/// and kept for the worker's life (files in its work folder).
#[derive(Default)]
pub struct OutroCache {
    made: tokio::sync::Mutex<std::collections::HashMap<String, std::path::PathBuf>>,
}

impl OutroCache {
    /// The outro at `location` (a file on the worker, else a key in its bucket) in `format`.
    pub async fn get(
        &self,
        ctx: &super::CallContext,
        location: &str,
        format: &crate::export::compose::ReelFormat,
        cancel: &crate::cancel::CancelToken,
    ) -> Result<std::path::PathBuf, String> {
        use crate::export::compose::{conform_outro, format_key};
        // the location is part of the name: another outro is another file
        let at: String = location
            .chars()
            .rev()
            .take(80)
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let key = format!("{at}-{}", format_key(format));
        // one conform at a time: a second call for the same format waits and reuses it
        let mut made = self.made.lock().await;
        if let Some(p) = made.get(&key).filter(|p| p.is_file()) {
            return Ok(p.clone());
        }
        let dir = ctx.work_dir.join("outro-cache");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let local = std::path::Path::new(location);
        let source = if local.is_file() {
            local.to_path_buf()
        } else {
            let p = dir.join(format!("source-{at}"));
            if !p.is_file() {
                let part = dir.join(format!("source-{at}.partial"));
                match crate::task::until_cancelled(cancel, ctx.storage.download(location, &part))
                    .await
                {
                    Ok(Ok(_)) => std::fs::rename(&part, &p).map_err(|e| e.to_string())?,
                    Ok(Err(e)) => {
                        let _ = std::fs::remove_file(&part);
                        return Err(format!(
                            "{}={location}: {e}",
                            crate::export::compose::OUTRO_ENV
                        ));
                    }
                    Err(f) => return Err(f.message),
                }
            }
            p
        };
        let out = dir.join(format!("{key}.mp4"));
        let (gpu, f, enc, c, o) = (
            ctx.gpu.clone(),
            format.clone(),
            ctx.encoder,
            cancel.clone(),
            out.clone(),
        );
        tokio::task::spawn_blocking(move || conform_outro(&gpu, &source, &f, &o, enc, &c))
            .await
            .map_err(|e| format!("outro task: {e}"))?
            .map_err(|e| format!("{}={location}: {e}", crate::export::compose::OUTRO_ENV))?;
        made.insert(key, out.clone());
        Ok(out)
    }
}
