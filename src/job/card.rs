//! The intro card's plan (contract §15 `card_plan`) and its timeline: what frame `n` of the
//! card draws (the photo's zoom, each text's opacity and rise, the exit flash). Plain Rust:
//! the engine's card pass draws what [`CardPlan::frame`] says.

use serde_json::Value;

use super::ParamError;
use super::kwargs::Obj;

/// The plan keys the app sends (§15).
pub const PLAN_KEYS: &[&str] = &[
    "duration",
    "fps_str",
    "pix_fmt",
    "sar",
    "timescale",
    "has_audio",
    "a_layout",
    "a_rate",
    "a_channels",
    "flash_st",
    "flash_d",
    "layers",
];

/// Shortest and longest card (seconds).
pub const DURATION_S: (f64, f64) = (0.5, 30.0);

/// The photo's zoom over the frames: `z0 + dz·(1 − (1 − min(n/m, 1))²)` (the app's `zexpr`,
/// `"Z0+DZ*(1-pow(1-min(on/M,1),2))"`): from `z0` to `z0 + dz`, easing out, over `m` frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zoom {
    pub z0: f64,
    pub dz: f64,
    pub m: f64,
}

impl Zoom {
    /// Parses the app's expression (spaces allowed; nothing else is).
    pub fn parse(expr: &str, field: &str) -> Result<Self, ParamError> {
        let s: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
        let bad = || {
            ParamError::new(
                field,
                format!(
                    "must be \"Z0+DZ*(1-pow(1-min(on/M,1),2))\" with numbers Z0, DZ, M (got {expr:?})"
                ),
            )
        };
        let (z0, rest) = s.split_once("+").ok_or_else(bad)?;
        let (dz, rest) = rest.split_once("*(1-pow(1-min(on/").ok_or_else(bad)?;
        let m = rest.strip_suffix(",1),2))").ok_or_else(bad)?;
        let num = |v: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(bad)
        };
        let z = Self {
            z0: num(z0)?,
            dz: num(dz)?,
            m: num(m)?,
        };
        if z.z0 <= 0.0 || z.z0 + z.dz <= 0.0 || z.m <= 0.0 {
            return Err(ParamError::new(
                field,
                format!("zooms must stay above 0 and M be positive (got {expr:?})"),
            ));
        }
        Ok(z)
    }

    /// The zoom at frame `n`.
    pub fn at(&self, n: u64) -> f64 {
        let p = (n as f64 / self.m).min(1.0);
        self.z0 + self.dz * (1.0 - (1.0 - p) * (1.0 - p))
    }
}

/// One layer of the card, bottom to top.
#[derive(Debug, Clone, PartialEq)]
pub enum CardLayer {
    /// The canvas: an RGB PNG of the reel's size.
    Bg { file: String },
    /// A photo `rw × rh` zoomed about its centre and placed at `(px, py)`.
    Photo {
        file: String,
        px: i64,
        py: i64,
        rw: u32,
        rh: u32,
        zoom: Zoom,
    },
    /// An RGBA PNG of the reel's size over everything below.
    Static { file: String },
    /// An RGBA PNG at `(lx, y)` fading in from `st` over `fade_d` seconds while rising
    /// `rise_px` into place at `ly`.
    Text {
        file: String,
        lx: i64,
        ly: i64,
        st: f64,
        fade_d: f64,
        rise_px: f64,
    },
}

impl CardLayer {
    pub fn file(&self) -> &str {
        match self {
            CardLayer::Bg { file }
            | CardLayer::Photo { file, .. }
            | CardLayer::Static { file }
            | CardLayer::Text { file, .. } => file,
        }
    }
}

/// A checked `card_plan`.
#[derive(Debug, Clone, PartialEq)]
pub struct CardPlan {
    pub duration_s: f64,
    pub flash_st: f64,
    pub flash_d: f64,
    pub layers: Vec<CardLayer>,
}

/// What frame `n` draws, layer by layer (the same order as the plan's layers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerState {
    /// Drawn as it is (bg, static).
    Plain,
    /// The photo's zoom.
    Zoom(f64),
    /// A text's opacity (0–1) and its top edge (canvas pixels, fractional).
    Text { alpha: f64, y: f64 },
}

/// Frame `n` of the card.
#[derive(Debug, Clone, PartialEq)]
pub struct CardFrame {
    pub layers: Vec<LayerState>,
    /// How far toward white (0–1).
    pub flash: f64,
}

impl CardPlan {
    /// Parses `card_plan` (at `field`, e.g. `kwargs.card_plan`). The reel's own format, not
    /// the plan's `fps_str`/`pix_fmt`/..., is what the card is encoded to; those keys are
    /// accepted and not used.
    pub fn parse(value: &Value, field: &str) -> Result<Self, ParamError> {
        let kw = Obj::new(value, field)?;
        let mut ignored = Vec::new();
        kw.check_keys(PLAN_KEYS, &[], &mut ignored)?;
        let duration_s = kw.num("duration")?;
        if !(DURATION_S.0..=DURATION_S.1).contains(&duration_s) {
            return Err(ParamError::new(
                kw.field("duration"),
                format!(
                    "must be {}–{} seconds (got {duration_s})",
                    DURATION_S.0, DURATION_S.1
                ),
            ));
        }
        let flash_d = kw.opt_num("flash_d")?.unwrap_or(0.22);
        let flash_st = kw.opt_num("flash_st")?.unwrap_or(duration_s - flash_d);
        if flash_d <= 0.0 {
            return Err(ParamError::new(kw.field("flash_d"), "must be above 0"));
        }
        let list = kw.list("layers")?;
        if list.is_empty() {
            return Err(ParamError::new(kw.field("layers"), "must not be empty"));
        }
        let mut layers = Vec::with_capacity(list.len());
        for (i, l) in list.iter().enumerate() {
            let path = format!("{}[{i}]", kw.field("layers"));
            let o = Obj::new(l, &path)?;
            let kind = o.str("kind")?;
            let file = o.str("file")?.to_string();
            if file.is_empty() || file.contains('/') || file.contains('\\') || file == ".." {
                return Err(ParamError::new(
                    o.field("file"),
                    format!("must be a file name (got {file:?})"),
                ));
            }
            let int = |name: &str| -> Result<i64, ParamError> {
                o.opt_int(name)?
                    .ok_or_else(|| ParamError::new(o.field(name), "is required"))
            };
            let size = |name: &str| -> Result<u32, ParamError> {
                match int(name)? {
                    v @ 1..=8192 => Ok(v as u32),
                    v => Err(ParamError::new(
                        o.field(name),
                        format!("must be 1–8192 (got {v})"),
                    )),
                }
            };
            let layer = match kind {
                "bg" => CardLayer::Bg { file },
                "photo" => CardLayer::Photo {
                    file,
                    px: int("px")?,
                    py: int("py")?,
                    rw: size("rw")?,
                    rh: size("rh")?,
                    zoom: Zoom::parse(o.str("zexpr")?, &o.field("zexpr"))?,
                },
                "static" => CardLayer::Static { file },
                "text" => {
                    let fade_d = o.num("fade_d")?;
                    if fade_d < 0.0 {
                        return Err(ParamError::new(o.field("fade_d"), "must not be negative"));
                    }
                    CardLayer::Text {
                        file,
                        lx: int("lx")?,
                        ly: int("ly")?,
                        st: o.num("st")?,
                        fade_d,
                        rise_px: o.num("rise_px")?,
                    }
                }
                other => {
                    return Err(ParamError::new(
                        o.field("kind"),
                        format!("must be bg, photo, static or text (got {other:?})"),
                    ));
                }
            };
            if (i == 0) != matches!(layer, CardLayer::Bg { .. }) {
                return Err(ParamError::new(
                    o.field("kind"),
                    "the first layer, and only the first, is bg",
                ));
            }
            layers.push(layer);
        }
        Ok(Self {
            duration_s,
            flash_st,
            flash_d,
            layers,
        })
    }

    /// Frames of the card at `fps`: `round(duration × fps)`, at least one.
    pub fn frames(&self, fps: f64) -> u64 {
        ((self.duration_s * fps).round() as u64).max(1)
    }

    /// What frame `n` (at `t = n / fps`) draws.
    pub fn frame(&self, n: u64, fps: f64) -> CardFrame {
        let t = n as f64 / fps;
        let layers = self
            .layers
            .iter()
            .map(|l| match l {
                CardLayer::Bg { .. } | CardLayer::Static { .. } => LayerState::Plain,
                CardLayer::Photo { zoom, .. } => LayerState::Zoom(zoom.at(n)),
                CardLayer::Text {
                    ly,
                    st,
                    fade_d,
                    rise_px,
                    ..
                } => {
                    let alpha = if *fade_d > 0.0 {
                        ((t - st) / fade_d).clamp(0.0, 1.0)
                    } else if t >= *st {
                        1.0
                    } else {
                        0.0
                    };
                    LayerState::Text {
                        alpha,
                        y: *ly as f64 + rise_px * (1.0 - alpha),
                    }
                }
            })
            .collect();
        CardFrame {
            layers,
            flash: ((t - self.flash_st) / self.flash_d).clamp(0.0, 1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Value {
        json!({
            "duration": 4.0, "fps_str": "30/1", "pix_fmt": "yuv420p", "sar": "1/1",
            "timescale": 15360, "has_audio": true, "a_layout": "stereo", "a_rate": 48000,
            "a_channels": 2, "flash_st": 3.78, "flash_d": 0.22,
            "layers": [
                {"kind": "bg", "file": "bg.png"},
                {"kind": "photo", "file": "photo.png", "px": 100, "py": 200, "rw": 400,
                 "rh": 500, "nframes": 120, "zexpr": "1.0+0.1200*(1-pow(1-min(on/119,1),2))"},
                {"kind": "static", "file": "static_overlay.png"},
                {"kind": "text", "file": "el_0.png", "lx": 40, "ly": 900, "st": 0.5,
                 "fade_d": 0.4, "rise_px": 24}
            ]
        })
    }

    #[test]
    fn the_apps_plan_parses_and_its_timeline_is_the_apps() {
        let p = CardPlan::parse(&plan(), "kwargs.card_plan").unwrap();
        assert_eq!(p.layers.len(), 4);
        assert_eq!(p.frames(30.0), 120);
        assert_eq!(p.frames(30000.0 / 1001.0), 120);
        let f0 = p.frame(0, 30.0);
        assert_eq!(f0.layers[1], LayerState::Zoom(1.0));
        assert_eq!(
            f0.layers[3],
            LayerState::Text {
                alpha: 0.0,
                y: 924.0
            }
        );
        assert_eq!(f0.flash, 0.0);
        // at 0.7 s the text is half in and half risen
        let f = p.frame(21, 30.0);
        match f.layers[3] {
            LayerState::Text { alpha, y } => {
                assert!((alpha - 0.5).abs() < 1e-9 && (y - 912.0).abs() < 1e-9)
            }
            ref o => panic!("{o:?}"),
        }
        // the zoom eases out to 1.12 at frame 119 and holds
        assert!((p.frame(119, 30.0).layers[1] == LayerState::Zoom(1.12)));
        assert_eq!(p.frame(119, 30.0).layers[1], p.frame(150, 30.0).layers[1]);
        // the last frame (119, t = 3.9667) is 85% white
        assert!((p.frame(119, 30.0).flash - (3.9667 - 3.78) / 0.22).abs() < 1e-3);
    }

    #[test]
    fn bad_plans_name_the_field() {
        let cases = [
            ("/duration", json!(40.0), "kwargs.card_plan.duration"),
            (
                "/layers/1/kind",
                json!("video"),
                "kwargs.card_plan.layers[1].kind",
            ),
            (
                "/layers/0/kind",
                json!("static"),
                "kwargs.card_plan.layers[0].kind",
            ),
            (
                "/layers/1/zexpr",
                json!("1+sin(on)"),
                "kwargs.card_plan.layers[1].zexpr",
            ),
            ("/layers/1/rw", json!(0), "kwargs.card_plan.layers[1].rw"),
            (
                "/layers/3/file",
                json!("../x.png"),
                "kwargs.card_plan.layers[3].file",
            ),
            (
                "/layers/3/st",
                json!("soon"),
                "kwargs.card_plan.layers[3].st",
            ),
        ];
        for (at, value, field) in cases {
            let mut p = plan();
            *p.pointer_mut(at).unwrap() = value;
            let e = CardPlan::parse(&p, "kwargs.card_plan").unwrap_err();
            assert_eq!(e.field, field, "{at}: {}", e.message);
        }
        let e = CardPlan::parse(&json!([]), "kwargs.card_plan").unwrap_err();
        assert_eq!(e.field, "kwargs.card_plan");
    }

    #[test]
    fn zoom_expressions_parse_exactly() {
        let z = Zoom::parse("1.0+0.1200*(1-pow(1-min(on/119,1),2))", "z").unwrap();
        assert_eq!(
            z,
            Zoom {
                z0: 1.0,
                dz: 0.12,
                m: 119.0
            }
        );
        assert!((z.at(60) - (1.0 + 0.12 * (1.0 - (1.0 - 60.0 / 119.0f64).powi(2)))).abs() < 1e-12);
        for bad in [
            "",
            "1.0",
            "1.0+0.1*(1-pow(1-min(on/0,1),2))",
            "a+b*(1-pow(1-min(on/3,1),2))",
        ] {
            assert!(Zoom::parse(bad, "z").is_err(), "{bad}");
        }
    }
}
