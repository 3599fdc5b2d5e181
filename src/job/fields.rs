//! Which fields a job may hold, and what to do with the others. The web app adds fields of its
//! own over time, so a field the contract does not know is accepted and reported as ignored —
//! unless it is a near miss of one it does know (`highlight_region` for `highlight_regions`),
//! which is a typo that would otherwise silently export the wrong thing: that is an error
//! naming both. §9 overlay params have their own field lists; a params object mixing §5 and §9
//! fields is refused naming the field, as are §10 framing params mixed with §6 ones.

use serde_json::{Map, Value};

use super::params::ParamError;

/// The job envelope's own fields (contract §1; `id`/`input` of a RunPod envelope are handled
/// before this).
pub const INPUT_FIELDS: &[&str] = &[
    "job_id",
    "type",
    "input_video_key",
    "params",
    "callback_url",
];
/// Fields every export type's params may hold.
const COMMON_PARAMS: &[&str] = &["tolerate_decode_errors"];
pub const OVERLAY_PARAMS: &[&str] = &[
    "highlight_regions",
    "effect_type",
    "crop_keyframes",
    "output_width",
    "output_height",
];
pub const REGION_FIELDS: &[&str] = &[
    "start_frame",
    "end_frame",
    "x",
    "y",
    "radius_x",
    "radius_y",
    "opacity",
];
pub const CROP_KEYFRAME_FIELDS: &[&str] = &["frame", "x", "y", "width", "height"];
pub const FRAMING_PARAMS: &[&str] = &[
    "crop_keyframes",
    "output_width",
    "output_height",
    "start_frame",
    "end_frame",
];
pub const ANNOTATE_PARAMS: &[&str] = &["clips"];
pub const CLIP_FIELDS: &[&str] = &["start_time", "end_time", "name", "notes", "rating"];

/// Markers of the web app's v2 params (contract §9, §10): where they appear, and which part of
/// the contract they belong to.
/// §10 framing params.
pub const REEL_PARAMS: &[&str] = &[
    "clips_data",
    "source_keys",
    "target_width",
    "target_height",
    "fps",
    "include_audio",
    "transition",
    "upscale",
];
pub const REEL_CLIP_FIELDS: &[&str] = &[
    "keyframes",
    "rotation",
    "source_start_time",
    "source_end_time",
    "segment_data",
    "input_video_key",
];
pub const REEL_KEYFRAME_FIELDS: &[&str] = &["time", "x", "y", "width", "height"];
pub const SEGMENT_DATA_FIELDS: &[&str] = &["trim_start", "trim_end", "trimRange", "segments"];
pub const SPEED_SEGMENT_FIELDS: &[&str] = &["start", "end", "speed"];
pub const TRANSITION_FIELDS: &[&str] = &["type", "duration"];

/// §9 overlay params.
pub const OVERLAY_V2_PARAMS: &[&str] = &[
    "highlight_regions",
    "effect_type",
    "overlay_settings",
    "text_layers",
    "crop_keyframes",
    "output_width",
    "output_height",
];
pub const REGION_V2_FIELDS: &[&str] = &[
    "id",
    "start_time",
    "end_time",
    "enabled",
    "keyframes",
    "videoWidth",
    "videoHeight",
];
pub const KEYFRAME_V2_FIELDS: &[&str] = &[
    "time",
    "x",
    "y",
    "radiusX",
    "radiusY",
    "strokeOpacity",
    "fillOpacity",
    "color",
];
pub const SETTINGS_V2_FIELDS: &[&str] = &[
    "highlight_shape",
    "stroke_width",
    "fill_enabled",
    "fill_opacity",
    "dim_strength",
    "boost_strength",
];
pub const TEXT_LAYER_FIELDS: &[&str] = &["startTime", "endTime", "png_base64", "image_key"];

/// Checks a job's fields against the contract: a near miss of a known field is an error;
/// other unknown fields are returned (dotted paths) as ignored.
pub fn check(
    kind: &str,
    params: &Value,
    envelope: Option<(&Map<String, Value>, &str)>,
) -> Result<Vec<String>, ParamError> {
    let mut ignored = Vec::new();
    if let Some((map, prefix)) = envelope {
        unknown(
            map,
            INPUT_FIELDS,
            prefix.trim_end_matches('.'),
            &mut ignored,
        )?;
    }
    let Some(params) = params.as_object() else {
        return Ok(ignored);
    };
    let known = |own: &[&'static str]| -> Vec<&'static str> {
        own.iter().chain(COMMON_PARAMS).copied().collect()
    };
    match kind {
        "overlay" if super::overlay_v2::is_v2(&Value::Object(params.clone())) => {
            unknown(params, &known(OVERLAY_V2_PARAMS), "params", &mut ignored)?;
            for (i, region) in objects(params.get("highlight_regions")) {
                let path = format!("params.highlight_regions[{i}]");
                // a §5 field in a §9 region: the two versions mixed
                if let Some(field) = REGION_FIELDS
                    .iter()
                    .find(|f| region.contains_key(**f) && !REGION_V2_FIELDS.contains(f))
                {
                    return Err(ParamError::new(
                        format!("{path}.{field}"),
                        "is a §5 (v1) region field, but these params are §9 (v2: a region has \
                         keyframes, or overlay_settings/text_layers is given); a §9 region \
                         uses start_time/end_time and keyframes",
                    ));
                }
                unknown(region, REGION_V2_FIELDS, &path, &mut ignored)?;
                for (k, kf) in objects(region.get("keyframes")) {
                    unknown(
                        kf,
                        KEYFRAME_V2_FIELDS,
                        &format!("{path}.keyframes[{k}]"),
                        &mut ignored,
                    )?;
                }
            }
            if let Some(Value::Object(settings)) = params.get("overlay_settings") {
                unknown(
                    settings,
                    SETTINGS_V2_FIELDS,
                    "params.overlay_settings",
                    &mut ignored,
                )?;
            }
            for (i, layer) in objects(params.get("text_layers")) {
                let path = format!("params.text_layers[{i}]");
                unknown(layer, TEXT_LAYER_FIELDS, &path, &mut ignored)?;
            }
            keyframes(params, &mut ignored)?;
        }
        "overlay" => {
            unknown(params, &known(OVERLAY_PARAMS), "params", &mut ignored)?;
            for (i, region) in objects(params.get("highlight_regions")) {
                let path = format!("params.highlight_regions[{i}]");
                // a §9 field in a region without keyframes: the two versions mixed
                if let Some(field) = REGION_V2_FIELDS
                    .iter()
                    .find(|f| **f != "id" && region.contains_key(**f))
                {
                    return Err(ParamError::new(
                        format!("{path}.{field}"),
                        "is a §9 (v2) region field, but the region has no keyframes (a §9 \
                         region needs them; a §5 region uses start_frame/end_frame)",
                    ));
                }
                unknown(region, REGION_FIELDS, &path, &mut ignored)?;
            }
            keyframes(params, &mut ignored)?;
        }
        "framing" if params.contains_key("clips_data") => {
            // a §5/§6 field in §10 params: the two versions mixed
            if let Some(field) = FRAMING_PARAMS
                .iter()
                .find(|f| params.contains_key(**f) && !REEL_PARAMS.contains(f))
            {
                return Err(ParamError::new(
                    format!("params.{field}"),
                    "is a §6 (v1) framing field, but these params are §10 (they have \
                     clips_data): crops go in each clip's keyframes, the size in \
                     target_width/target_height",
                ));
            }
            unknown(params, &known(REEL_PARAMS), "params", &mut ignored)?;
            if let Some(Value::Object(t)) = params.get("transition") {
                unknown(t, TRANSITION_FIELDS, "params.transition", &mut ignored)?;
            }
            for (i, clip) in objects(params.get("clips_data")) {
                let path = format!("params.clips_data[{i}]");
                unknown(clip, REEL_CLIP_FIELDS, &path, &mut ignored)?;
                for (k, kf) in objects(clip.get("keyframes")) {
                    let p = format!("{path}.keyframes[{k}]");
                    unknown(kf, REEL_KEYFRAME_FIELDS, &p, &mut ignored)?;
                }
                if let Some(Value::Object(d)) = clip.get("segment_data") {
                    let p = format!("{path}.segment_data");
                    unknown(d, SEGMENT_DATA_FIELDS, &p, &mut ignored)?;
                    for (k, s) in objects(d.get("segments")) {
                        let p = format!("{path}.segment_data.segments[{k}]");
                        unknown(s, SPEED_SEGMENT_FIELDS, &p, &mut ignored)?;
                    }
                }
            }
        }
        "framing" => {
            unknown(params, &known(FRAMING_PARAMS), "params", &mut ignored)?;
            keyframes(params, &mut ignored)?;
        }
        "annotate" => {
            unknown(params, &known(ANNOTATE_PARAMS), "params", &mut ignored)?;
            for (i, clip) in objects(params.get("clips")) {
                unknown(
                    clip,
                    CLIP_FIELDS,
                    &format!("params.clips[{i}]"),
                    &mut ignored,
                )?;
            }
        }
        _ => {}
    }
    Ok(ignored)
}

fn keyframes(params: &Map<String, Value>, ignored: &mut Vec<String>) -> Result<(), ParamError> {
    for (i, k) in objects(params.get("crop_keyframes")) {
        let path = format!("params.crop_keyframes[{i}]");
        unknown(k, CROP_KEYFRAME_FIELDS, &path, ignored)?;
    }
    Ok(())
}

/// The objects of a list (others are left to the typed parser to report).
fn objects(list: Option<&Value>) -> impl Iterator<Item = (usize, &Map<String, Value>)> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| v.as_object().map(|o| (i, o)))
}

/// Fields of `map` not in `known`: an error for a near miss, else recorded as ignored.
fn unknown(
    map: &Map<String, Value>,
    known: &[&str],
    path: &str,
    ignored: &mut Vec<String>,
) -> Result<(), ParamError> {
    for name in map.keys() {
        if known.contains(&name.as_str()) {
            continue;
        }
        let field = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        if let Some(meant) = near_miss(name, known) {
            return Err(ParamError::new(
                field,
                format!("is not a field; did you mean {meant}?"),
            ));
        }
        ignored.push(field);
    }
    Ok(())
}

/// The known field `name` is most likely a typo of: within 1 edit for short names, 2 for
/// longer ones, ignoring case and `_`/`-` differences (`radiusX` for `radius_x`).
pub fn near_miss<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let n = squash(name);
    known
        .iter()
        .map(|k| {
            let d = edit_distance(&n, &squash(k)).min(edit_distance(name, k));
            (d, *k)
        })
        .filter(|(d, k)| {
            let limit = if k.len() <= 4 { 1 } else { 2 };
            // one- and two-letter fields (`x`, `y`) are too close to everything to guess at
            k.len() > 2 && *d <= limit
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Optimal string alignment distance (Levenshtein plus adjacent swaps).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("highlight_region", "highlight_regions"), 1);
        assert_eq!(edit_distance("efect_type", "effect_type"), 1);
        assert_eq!(edit_distance("raduis_x", "radius_x"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn near_misses_are_named_and_other_fields_ignored() {
        assert_eq!(
            near_miss("highlight_region", OVERLAY_PARAMS),
            Some("highlight_regions")
        );
        assert_eq!(near_miss("radiusX", REGION_FIELDS), Some("radius_x"));
        assert_eq!(near_miss("Opacity", REGION_FIELDS), Some("opacity"));
        assert_eq!(near_miss("id", REGION_FIELDS), None);
        assert_eq!(near_miss("z", REGION_FIELDS), None);
        assert_eq!(near_miss("player_name", REGION_FIELDS), None);

        let err = check("overlay", &json!({"highlight_region": []}), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "params.highlight_region is not a field; did you mean highlight_regions?"
        );
        let err = check(
            "overlay",
            &json!({"highlight_regions": [{"start_frame": 0, "raduis_x": 3}]}),
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "params.highlight_regions[0].raduis_x");
        let ignored = check(
            "overlay",
            &json!({"highlight_regions": [{"id": "p7", "x": 1}], "app_version": "3.1"}),
            None,
        )
        .unwrap();
        assert_eq!(
            ignored,
            ["params.app_version", "params.highlight_regions[0].id"]
        );
        let env = json!({"job_id": "j", "type": "annotate", "input_video_kye": "k"});
        let err = check("annotate", &json!({}), Some((env.as_object().unwrap(), ""))).unwrap_err();
        assert_eq!(err.field, "input_video_kye");
        let err = check("annotate", &json!({"clips": [{"start_tme": 1}]}), None).unwrap_err();
        assert_eq!(err.field, "params.clips[0].start_tme");
    }

    #[test]
    fn mixed_v1_and_v2_regions_are_refused_naming_the_field() {
        let err = check(
            "overlay",
            &json!({"highlight_regions": [{"start_frame": 0, "keyframes": []}]}),
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "params.highlight_regions[0].start_frame");
        assert!(err.message.contains("§9"), "{err}");
        // a v1 region next to a v2 one
        let err = check(
            "overlay",
            &json!({"highlight_regions": [{"start_time": 0, "keyframes": []}, {"start_frame": 0, "radius_x": 3}]}),
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "params.highlight_regions[1].start_frame");
        // a §9 field in a region without keyframes
        let err = check(
            "overlay",
            &json!({"highlight_regions": [{"start_time": 0, "end_frame": 3}]}),
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "params.highlight_regions[0].start_time");
        // §9 typos are near misses of §9 names
        let err = check(
            "overlay",
            &json!({"highlight_regions": [{"keyframes": [{"radiusx": 3, "colour": "#fff"}]}]}),
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "params.highlight_regions[0].keyframes[0].colour");
        let ignored = check(
            "overlay",
            &json!({"highlight_regions": [{"id": 7, "keyframes": [], "playerName": "A"}], "text_layers": [{"startTime": 0, "font": "x"}]}),
            None,
        )
        .unwrap();
        assert_eq!(
            ignored,
            [
                "params.highlight_regions[0].playerName",
                "params.text_layers[0].font"
            ]
        );
    }

    #[test]
    fn framing_v1_fields_in_v2_params_are_refused() {
        let err = check(
            "framing",
            &json!({"clips_data": [], "crop_keyframes": []}),
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "params.crop_keyframes");
        assert!(err.message.contains("§10"), "{err}");
        let err = check(
            "framing",
            &json!({"clips_data": [{"segment_data": {"segmnets": []}}]}),
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "params.clips_data[0].segment_data.segmnets");
    }
}
