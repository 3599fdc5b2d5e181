//! Contract §9: the web app's overlay v2 params (a keyframed highlight with stroke, fill,
//! dimming and text layers), their defaults and their validation. Field names are the web
//! app's own, camelCase included. Which version a params object is, is decided by
//! [`is_v2`] from the params alone.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::params::{CropKeyframe, Limits, ParamError, finite, validate_keyframes};

/// Most §9 regions drawn on one frame (a job may hold any number in all).
pub const MAX_ACTIVE_HIGHLIGHTS: usize = 64;
/// Most text layers shown on one frame.
pub const MAX_ACTIVE_TEXT_LAYERS: usize = 8;

/// What happens around the highlight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HighlightEffect {
    /// Everything outside the ellipse is darkened by `dim_strength`.
    #[default]
    DarkOverlay,
    /// The inside is brightened by `boost_strength`; the outside is left alone.
    BrightnessBoost,
    /// §5's feathered blur of the background.
    Blur,
    /// §5's spotlight (background × 0.3).
    Spotlight,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HighlightShape {
    /// An ellipse around the player's body.
    #[default]
    Body,
    /// A flat ellipse on the ground under the player, its front arc stroked, always filled.
    Ground,
}

fn two() -> f64 {
    2.0
}
fn dim_default() -> f64 {
    0.15
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OverlaySettings {
    #[serde(default)]
    pub highlight_shape: HighlightShape,
    #[serde(default = "two")]
    pub stroke_width: f64,
    #[serde(default)]
    pub fill_enabled: bool,
    /// `None`: 0.05, or 0.15 for the ground shape.
    #[serde(default)]
    pub fill_opacity: Option<f64>,
    #[serde(default = "dim_default")]
    pub dim_strength: f64,
    #[serde(default)]
    pub boost_strength: f64,
}

impl Default for OverlaySettings {
    fn default() -> Self {
        Self {
            highlight_shape: HighlightShape::Body,
            stroke_width: 2.0,
            fill_enabled: false,
            fill_opacity: None,
            dim_strength: 0.15,
            boost_strength: 0.0,
        }
    }
}

impl OverlaySettings {
    /// The keyframes' default fill opacity.
    pub fn fill_opacity(&self) -> f64 {
        self.fill_opacity.unwrap_or(match self.highlight_shape {
            HighlightShape::Body => 0.05,
            HighlightShape::Ground => 0.15,
        })
    }
}

/// A point of a region's path, in seconds of the source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HighlightKeyframe {
    pub time: f64,
    pub x: f64,
    pub y: f64,
    #[serde(rename = "radiusX")]
    pub radius_x: f64,
    #[serde(rename = "radiusY")]
    pub radius_y: f64,
    /// `None`: 0.85.
    #[serde(rename = "strokeOpacity", default)]
    pub stroke_opacity: Option<f64>,
    /// `None`: the settings' fill opacity.
    #[serde(rename = "fillOpacity", default)]
    pub fill_opacity: Option<f64>,
    /// `"#RRGGBB"`; `None`: white.
    #[serde(default)]
    pub color: Option<String>,
    /// No colour (§9 JSON cannot say it; the app's calls can, contract §12): from this
    /// keyframe on, no stroke and no fill, the outline in black. `color` is then ignored.
    #[serde(skip)]
    pub uncoloured: bool,
}

/// A highlighted player over `start_time..=end_time`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HighlightRegion {
    #[serde(default)]
    pub id: Option<Value>,
    pub start_time: f64,
    pub end_time: f64,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub keyframes: Vec<HighlightKeyframe>,
    /// Size of the frame the keyframes were drawn on (the detector's), when it differs.
    #[serde(rename = "videoWidth", default)]
    pub video_width: Option<f64>,
    #[serde(rename = "videoHeight", default)]
    pub video_height: Option<f64>,
}

/// What is drawn where enabled regions overlap in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverlapRule {
    /// Every active region, in order of start time (§9.1).
    #[default]
    DrawAll,
    /// Only the active region that starts first (contract §12).
    FirstStarted,
}

/// Where a text layer's PNG comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TextImage {
    /// The PNG's bytes (decoded from `png_base64`).
    Png(Vec<u8>),
    /// An object key in the job's bucket (`image_key`), fetched before the export.
    Key(String),
}

/// A full-frame RGBA image burned in over `start_time..end_time`.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLayer {
    pub start_time: f64,
    pub end_time: f64,
    pub image: TextImage,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct RawTextLayer {
    #[serde(rename = "startTime")]
    start_time: f64,
    #[serde(rename = "endTime")]
    end_time: f64,
    #[serde(default)]
    png_base64: Option<String>,
    #[serde(default)]
    image_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct RawParams {
    #[serde(default)]
    highlight_regions: Vec<HighlightRegion>,
    #[serde(default)]
    effect_type: HighlightEffect,
    #[serde(default)]
    overlay_settings: OverlaySettings,
    #[serde(default)]
    text_layers: Vec<RawTextLayer>,
    #[serde(default)]
    crop_keyframes: Option<Vec<CropKeyframe>>,
    #[serde(default = "super::params::default_output_width")]
    output_width: i64,
    #[serde(default = "super::params::default_output_height")]
    output_height: i64,
}

/// Validated §9 params.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayV2Params {
    pub highlight_regions: Vec<HighlightRegion>,
    pub effect_type: HighlightEffect,
    pub overlay_settings: OverlaySettings,
    pub text_layers: Vec<TextLayer>,
    pub crop_keyframes: Option<Vec<CropKeyframe>>,
    pub output_width: i64,
    pub output_height: i64,
    pub overlap: OverlapRule,
}

impl OverlayV2Params {
    /// Whether any frame can need the GPU.
    pub fn draws(&self) -> bool {
        self.highlight_regions
            .iter()
            .any(|r| r.enabled && !r.keyframes.is_empty())
            || !self.text_layers.is_empty()
            || self.crop_keyframes.as_ref().is_some_and(|k| !k.is_empty())
    }
}

impl OverlayV2Params {
    /// Replaces every `image_key` with the PNG `read(key)` returns (the worker reads the
    /// job's bucket, the CLI files next to the job file); errors name the layer's field.
    pub fn resolve_image_keys(
        &mut self,
        mut read: impl FnMut(&str) -> Result<Vec<u8>, String>,
    ) -> Result<(), ParamError> {
        for (i, layer) in self.text_layers.iter_mut().enumerate() {
            if let TextImage::Key(key) = &layer.image {
                let field = format!("params.text_layers[{i}].image_key");
                let bytes = read(key).map_err(|e| ParamError::new(&field, e))?;
                check_png_header(&bytes).map_err(|m| ParamError::new(&field, m))?;
                layer.image = TextImage::Png(bytes);
            }
        }
        Ok(())
    }

    /// The `image_key`s to fetch.
    pub fn image_keys(&self) -> impl Iterator<Item = &str> {
        self.text_layers.iter().filter_map(|l| match &l.image {
            TextImage::Key(k) => Some(k.as_str()),
            TextImage::Png(_) => None,
        })
    }
}

/// Contract Part 2: a params object is §9 when a region has `keyframes`, or it has
/// `overlay_settings` or `text_layers`.
pub fn is_v2(params: &Value) -> bool {
    let Some(map) = params.as_object() else {
        return false;
    };
    map.contains_key("overlay_settings")
        || map.contains_key("text_layers")
        || map
            .get("highlight_regions")
            .and_then(Value::as_array)
            .is_some_and(|regions| regions.iter().any(|r| r.get("keyframes").is_some()))
}

/// Parses and validates §9 params.
pub fn parse(params: &Value, limits: &Limits) -> Result<OverlayV2Params, ParamError> {
    let raw: RawParams = super::params::parse(params)?;
    let text_layers = raw
        .text_layers
        .iter()
        .enumerate()
        .map(|(i, l)| text_layer(i, l))
        .collect::<Result<Vec<_>, _>>()?;
    let p = OverlayV2Params {
        highlight_regions: raw.highlight_regions,
        effect_type: raw.effect_type,
        overlay_settings: raw.overlay_settings,
        text_layers,
        crop_keyframes: raw.crop_keyframes,
        output_width: raw.output_width,
        output_height: raw.output_height,
        overlap: OverlapRule::DrawAll,
    };
    validate(&p, limits)?;
    Ok(p)
}

/// `"#RRGGBB"` as bytes.
pub fn parse_color(s: &str) -> Option<[u8; 3]> {
    let hex = s.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

fn unit(field: &str, v: f64) -> Result<(), ParamError> {
    finite(field, v)?;
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(ParamError::new(
            field,
            format!("must be between 0 and 1 (got {v})"),
        ))
    }
}

fn text_layer(i: usize, l: &RawTextLayer) -> Result<TextLayer, ParamError> {
    let f = |n: &str| format!("params.text_layers[{i}].{n}");
    let image = match (&l.png_base64, &l.image_key) {
        (Some(_), Some(_)) => {
            return Err(ParamError::new(
                f("image_key"),
                "must not be given with png_base64 (one image per layer)",
            ));
        }
        (None, None) => {
            return Err(ParamError::new(
                f("png_base64"),
                "is required (or image_key: an R2 key of the PNG)",
            ));
        }
        (Some(b64), None) => {
            // tolerate a data URL's prefix, as a canvas' toDataURL() writes it
            let data = b64
                .strip_prefix("data:image/png;base64,")
                .unwrap_or(b64)
                .trim();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| ParamError::new(f("png_base64"), format!("is not base64: {e}")))?;
            check_png_header(&bytes).map_err(|m| ParamError::new(f("png_base64"), m))?;
            TextImage::Png(bytes)
        }
        (None, Some(key)) => {
            if key.trim().is_empty() {
                return Err(ParamError::new(f("image_key"), "must not be empty"));
            }
            TextImage::Key(key.clone())
        }
    };
    Ok(TextLayer {
        start_time: l.start_time,
        end_time: l.end_time,
        image,
    })
}

/// Checks that `bytes` is a PNG with an alpha channel, reading only its header; returns its
/// size.
pub fn check_png_header(bytes: &[u8]) -> Result<(u32, u32), String> {
    use image::ImageDecoder;
    let decoder = image::codecs::png::PngDecoder::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("is not a PNG image: {e}"))?;
    if !decoder.color_type().has_alpha() {
        return Err(format!(
            "must be an RGBA PNG (with alpha); this one is {:?}",
            decoder.color_type()
        ));
    }
    Ok(decoder.dimensions())
}

/// Validates §9 params built by code rather than parsed (the app's calls, contract §12).
pub fn validate_built(p: &OverlayV2Params, limits: &Limits) -> Result<(), ParamError> {
    validate(p, limits)
}

fn validate(p: &OverlayV2Params, limits: &Limits) -> Result<(), ParamError> {
    let s = &p.overlay_settings;
    let sf = |n: &str| format!("params.overlay_settings.{n}");
    finite(&sf("stroke_width"), s.stroke_width)?;
    if !(1.0..=6.0).contains(&s.stroke_width) {
        return Err(ParamError::new(
            sf("stroke_width"),
            format!("must be between 1 and 6 (got {})", s.stroke_width),
        ));
    }
    if let Some(v) = s.fill_opacity {
        unit(&sf("fill_opacity"), v)?;
    }
    unit(&sf("dim_strength"), s.dim_strength)?;
    unit(&sf("boost_strength"), s.boost_strength)?;
    for (i, r) in p.highlight_regions.iter().enumerate() {
        let f = |n: &str| format!("params.highlight_regions[{i}].{n}");
        finite(&f("start_time"), r.start_time)?;
        finite(&f("end_time"), r.end_time)?;
        if r.start_time < 0.0 {
            return Err(ParamError::new(f("start_time"), "must be >= 0"));
        }
        if r.end_time < r.start_time {
            return Err(ParamError::new(
                f("end_time"),
                format!("must be >= start_time ({})", r.start_time),
            ));
        }
        for (name, v) in [
            ("videoWidth", r.video_width),
            ("videoHeight", r.video_height),
        ] {
            if let Some(v) = v {
                finite(&f(name), v)?;
                if v < 1.0 {
                    return Err(ParamError::new(f(name), format!("must be >= 1 (got {v})")));
                }
            }
        }
        for (k, kf) in r.keyframes.iter().enumerate() {
            let f = |n: &str| format!("params.highlight_regions[{i}].keyframes[{k}].{n}");
            finite(&f("time"), kf.time)?;
            finite(&f("x"), kf.x)?;
            finite(&f("y"), kf.y)?;
            for (name, v) in [("radiusX", kf.radius_x), ("radiusY", kf.radius_y)] {
                finite(&f(name), v)?;
                if v <= 0.0 {
                    return Err(ParamError::new(f(name), format!("must be > 0 (got {v})")));
                }
            }
            if let Some(v) = kf.stroke_opacity {
                unit(&f("strokeOpacity"), v)?;
            }
            if let Some(v) = kf.fill_opacity {
                unit(&f("fillOpacity"), v)?;
            }
            if let Some(c) = &kf.color
                && !kf.uncoloured
                && parse_color(c).is_none()
            {
                return Err(ParamError::new(
                    f("color"),
                    format!("must be a colour \"#RRGGBB\" (got {c:?})"),
                ));
            }
        }
    }
    for (i, l) in p.text_layers.iter().enumerate() {
        let f = |n: &str| format!("params.text_layers[{i}].{n}");
        finite(&f("startTime"), l.start_time)?;
        finite(&f("endTime"), l.end_time)?;
        if l.start_time < 0.0 {
            return Err(ParamError::new(f("startTime"), "must be >= 0"));
        }
        if l.end_time < l.start_time {
            return Err(ParamError::new(
                f("endTime"),
                format!("must be >= startTime ({})", l.start_time),
            ));
        }
    }
    let spans = p
        .highlight_regions
        .iter()
        .filter(|r| r.enabled)
        .map(|r| (r.start_time, r.end_time, true));
    if let Some((t, n)) = busiest_time(spans)
        && n > MAX_ACTIVE_HIGHLIGHTS
    {
        return Err(ParamError::new(
            "params.highlight_regions",
            format!(
                "has {n} enabled regions active at {t} s: at most {MAX_ACTIVE_HIGHLIGHTS} may be \
                 active at one time (a job may hold any number in all)"
            ),
        ));
    }
    let spans = p
        .text_layers
        .iter()
        .map(|l| (l.start_time, l.end_time, false));
    if let Some((t, n)) = busiest_time(spans)
        && n > MAX_ACTIVE_TEXT_LAYERS
    {
        return Err(ParamError::new(
            "params.text_layers",
            format!(
                "has {n} layers shown at {t} s: at most {MAX_ACTIVE_TEXT_LAYERS} may be shown at \
                 one time"
            ),
        ));
    }
    if let Some(kfs) = &p.crop_keyframes {
        validate_keyframes(kfs, false)?;
        super::params::validate_output_size(p.output_width, p.output_height, limits)?;
    }
    Ok(())
}

/// The time with the most spans active, and how many: `(start, end, inclusive_end)` spans,
/// swept in `O(n log n)`.
fn busiest_time(spans: impl Iterator<Item = (f64, f64, bool)>) -> Option<(f64, usize)> {
    // (time, order, delta): at one time an exclusive end (order 0) goes before the starts
    // (order 1), an inclusive one (order 2) after them
    let mut events: Vec<(f64, u8, i32)> = Vec::new();
    for (s, e, inclusive) in spans {
        if e < s || (!inclusive && e == s) {
            continue;
        }
        events.push((s, 1, 1));
        events.push((e, if inclusive { 2 } else { 0 }, -1));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut active, mut best) = (0usize, None::<(f64, usize)>);
    for (t, _, delta) in events {
        if delta > 0 {
            active += 1;
            if best.is_none_or(|(_, n)| active > n) {
                best = Some((t, active));
            }
        } else {
            active -= 1;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(params: Value) -> String {
        parse(&params, &Limits::default()).unwrap_err().to_string()
    }

    fn region(kfs: Value) -> Value {
        json!({"start_time": 0.0, "end_time": 2.0, "keyframes": kfs})
    }

    fn kf(t: f64) -> Value {
        json!({"time": t, "x": 100, "y": 50, "radiusX": 30, "radiusY": 60})
    }

    #[test]
    fn the_version_is_decided_by_the_params_alone() {
        assert!(!is_v2(&json!({"highlight_regions": [{"start_frame": 0}]})));
        assert!(is_v2(&json!({"highlight_regions": [{"keyframes": []}]})));
        assert!(is_v2(&json!({"overlay_settings": {}})));
        assert!(is_v2(&json!({"text_layers": []})));
        assert!(!is_v2(&json!({})));
    }

    #[test]
    fn defaults_follow_the_contract() {
        let p = parse(
            &json!({"highlight_regions": [region(json!([kf(0.0)]))]}),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(p.effect_type, HighlightEffect::DarkOverlay);
        let s = &p.overlay_settings;
        assert_eq!(
            (
                s.stroke_width,
                s.fill_enabled,
                s.dim_strength,
                s.boost_strength
            ),
            (2.0, false, 0.15, 0.0)
        );
        assert_eq!(s.fill_opacity(), 0.05);
        let ground = OverlaySettings {
            highlight_shape: HighlightShape::Ground,
            ..Default::default()
        };
        assert_eq!(ground.fill_opacity(), 0.15);
        assert!(p.highlight_regions[0].enabled);
        assert_eq!(p.highlight_regions[0].keyframes[0].stroke_opacity, None);
    }

    #[test]
    fn errors_name_the_field() {
        let bad_radius = json!({"time": 0, "x": 1, "y": 1, "radiusX": 0, "radiusY": 5});
        assert_eq!(
            err(
                json!({"highlight_regions": [region(json!([kf(0.0)])), region(json!([kf(0.0), bad_radius]))]})
            ),
            "params.highlight_regions[1].keyframes[1].radiusX must be > 0 (got 0)"
        );
        let mut red = kf(0.0);
        red["color"] = json!("red");
        assert!(
            err(json!({"highlight_regions": [region(json!([red]))]}))
                .starts_with("params.highlight_regions[0].keyframes[0].color must be a colour")
        );
        let mut o = kf(0.0);
        o["strokeOpacity"] = json!(1.5);
        assert!(
            err(json!({"highlight_regions": [region(json!([o]))]})).starts_with(
                "params.highlight_regions[0].keyframes[0].strokeOpacity must be between 0 and 1"
            )
        );
        assert!(
            err(json!({"highlight_regions": [{"start_time": 3, "end_time": 1, "keyframes": []}]}))
                .starts_with("params.highlight_regions[0].end_time must be >= start_time")
        );
        assert!(
            err(json!({"overlay_settings": {"stroke_width": 7}}))
                .starts_with("params.overlay_settings.stroke_width must be between 1 and 6")
        );
        assert!(
            err(json!({"overlay_settings": {"dim_strength": -0.1}}))
                .starts_with("params.overlay_settings.dim_strength")
        );
        assert!(
            err(json!({"overlay_settings": {"highlight_shape": "feet"}}))
                .starts_with("params.overlay_settings.highlight_shape")
        );
        assert!(
            err(json!({"effect_type": "glow", "text_layers": []}))
                .starts_with("params.effect_type")
        );
        assert!(
            err(json!({"text_layers": [{"startTime": 0, "endTime": 1}]}))
                .starts_with("params.text_layers[0].png_base64 is required")
        );
        assert!(
            err(json!({"text_layers": [{"startTime": 0, "endTime": 1, "png_base64": "!!"}]}))
                .starts_with("params.text_layers[0].png_base64 is not base64")
        );
        assert!(
            err(json!({"text_layers": [{"startTime": 0, "endTime": 1, "png_base64": "aGVsbG8="}]}))
                .starts_with("params.text_layers[0].png_base64 is not a PNG")
        );
        assert!(err(json!({"highlight_regions": [{"start_time": 0, "end_time": 1, "keyframes": [], "videoWidth": 0}]})).starts_with("params.highlight_regions[0].videoWidth must be >= 1"));
    }

    #[test]
    fn a_png_without_alpha_is_refused() {
        let mut png = Vec::new();
        image::RgbImage::new(4, 2)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(check_png_header(&png).unwrap_err().contains("RGBA"));
        let mut rgba = Vec::new();
        image::RgbaImage::new(4, 2)
            .write_to(
                &mut std::io::Cursor::new(&mut rgba),
                image::ImageFormat::Png,
            )
            .unwrap();
        assert_eq!(check_png_header(&rgba).unwrap(), (4, 2));
    }

    #[test]
    fn the_limit_on_active_regions_is_per_time() {
        // 100 regions one after another: fine
        let regions: Vec<Value> = (0..100)
            .map(|i| json!({"start_time": i as f64, "end_time": i as f64 + 0.5, "keyframes": [kf(i as f64)]}))
            .collect();
        parse(&json!({"highlight_regions": regions}), &Limits::default()).unwrap();
        // 65 at once: refused, saying when; disabled ones do not count
        let mut regions: Vec<Value> = (0..65).map(|_| region(json!([kf(0.0)]))).collect();
        assert!(
            err(json!({"highlight_regions": regions.clone()}))
                .contains("65 enabled regions active at 0 s: at most 64")
        );
        regions[3]["enabled"] = json!(false);
        parse(&json!({"highlight_regions": regions}), &Limits::default()).unwrap();
        // text layers end exclusively: back-to-back layers never overlap
        let layers: Vec<Value> = (0..20)
            .map(|i| json!({"startTime": i, "endTime": i + 1, "image_key": "t.png"}))
            .collect();
        parse(&json!({"text_layers": layers}), &Limits::default()).unwrap();
    }
}
