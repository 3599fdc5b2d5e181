//! Intro cards for tests and benches: a plan with every layer kind and random (never blank)
//! layer images for a `w × h` reel, and the same as PNG files of any colour type, as the app
//! uploads them.

use std::path::Path;

use serde_json::{Value, json};

use super::pattern::SplitMix;
use crate::effects::card::CardImage;

/// Random RGBA (or RGB, `alpha` false: alpha 255) pixels; with alpha, about a third of them
/// fully transparent, a third opaque, the rest in between.
pub fn random_image(w: u32, h: u32, alpha: bool, seed: u64) -> CardImage {
    let mut rng = SplitMix::new(seed);
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for _ in 0..w * h {
        rgba.extend([rng.byte(), rng.byte(), rng.byte()]);
        rgba.push(match (alpha, rng.byte() % 3) {
            (false, _) | (true, 0) => 255,
            (true, 1) => 0,
            _ => rng.byte(),
        });
    }
    CardImage {
        width: w,
        height: h,
        rgba,
    }
}

/// A §15 plan for a `w × h` reel lasting `duration` s: bg, a photo (zooming 1.0 → 1.12 over
/// the card) a little over half the frame, a static overlay and `texts` texts with staggered
/// starts; layer files `bg.png`, `photo.png`, `static_overlay.png`, `el_<k>.png`.
pub fn plan(w: u32, h: u32, duration: f64, texts: usize) -> Value {
    let (rw, rh) = ((w * 5 / 8).max(1), (h * 3 / 8).max(1));
    let mut layers = vec![
        json!({"kind": "bg", "file": "bg.png"}),
        json!({"kind": "photo", "file": "photo.png", "px": w / 6, "py": h / 10, "rw": rw,
               "rh": rh, "nframes": (duration * 30.0) as u64,
               "zexpr": format!("1.0+0.1200*(1-pow(1-min(on/{},1),2))",
                                (duration * 30.0) as u64 - 1)}),
        json!({"kind": "static", "file": "static_overlay.png"}),
    ];
    for k in 0..texts {
        layers.push(json!({"kind": "text", "file": format!("el_{k}.png"),
            "lx": w / 10, "ly": h / 2 + (k as u32 * h / 10), "st": 0.3 + 0.25 * k as f64,
            "fade_d": 0.4, "rise_px": (h / 40).max(2)}));
    }
    json!({"duration": duration, "fps_str": "30/1", "pix_fmt": "yuv420p", "sar": "1/1",
        "timescale": 15360, "has_audio": false, "a_layout": null, "a_rate": null,
        "a_channels": null, "flash_st": duration - 0.22, "flash_d": 0.22, "layers": layers})
}

/// The images `plan(w, h, _, texts)` names, in its layer order: an RGB bg, an RGBA photo,
/// a mostly transparent static overlay, RGBA texts.
pub fn images(w: u32, h: u32, texts: usize, seed: u64) -> Vec<CardImage> {
    let (rw, rh) = ((w * 5 / 8).max(1), (h * 3 / 8).max(1));
    let mut v = vec![
        random_image(w, h, false, seed),
        random_image(rw, rh, true, seed + 1),
        random_image(w, h, true, seed + 2),
    ];
    for k in 0..texts {
        v.push(random_image(
            (w / 2).max(1),
            (h / 12).max(1),
            true,
            seed + 3 + k as u64,
        ));
    }
    v
}

/// Writes `img` as a PNG of colour type `kind`: `"rgb"`, `"rgba"`, `"gray"`, `"gray16"`,
/// `"rgba16"` or `"palette"` (a palette of the image's first 256 colours, others mapped to
/// the nearest of them by index order; for tests of decoding, not of colour).
pub fn write_png(path: &Path, img: &CardImage, kind: &str) -> std::io::Result<()> {
    use image::ImageEncoder;
    let (w, h) = (img.width, img.height);
    let px = |i: usize| &img.rgba[i * 4..i * 4 + 4];
    let n = (w * h) as usize;
    let file = std::fs::File::create(path)?;
    let err = |e: image::ImageError| std::io::Error::other(e.to_string());
    if kind == "palette" {
        let mut palette: Vec<[u8; 3]> = Vec::new();
        let mut index = Vec::with_capacity(n);
        for i in 0..n {
            let c = [px(i)[0], px(i)[1], px(i)[2]];
            let k = match palette.iter().position(|p| *p == c) {
                Some(k) => k,
                None if palette.len() < 256 => {
                    palette.push(c);
                    palette.len() - 1
                }
                None => i % palette.len(),
            };
            index.push(k as u8);
        }
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(palette.concat());
        let mut wr = enc.write_header().map_err(std::io::Error::other)?;
        wr.write_image_data(&index).map_err(std::io::Error::other)?;
        return Ok(());
    }
    let enc = image::codecs::png::PngEncoder::new(std::io::BufWriter::new(file));
    match kind {
        "rgb" => {
            let d: Vec<u8> = (0..n).flat_map(|i| px(i)[..3].to_vec()).collect();
            enc.write_image(&d, w, h, image::ExtendedColorType::Rgb8)
        }
        "rgba" => enc.write_image(&img.rgba, w, h, image::ExtendedColorType::Rgba8),
        "gray" => {
            let d: Vec<u8> = (0..n).map(|i| px(i)[0]).collect();
            enc.write_image(&d, w, h, image::ExtendedColorType::L8)
        }
        "gray16" => {
            let d: Vec<u8> = (0..n).flat_map(|i| [px(i)[0], px(i)[0]]).collect();
            enc.write_image(&d, w, h, image::ExtendedColorType::L16)
        }
        "rgba16" => {
            let d: Vec<u8> = (0..n)
                .flat_map(|i| px(i).iter().flat_map(|&v| [v, v]).collect::<Vec<_>>())
                .collect();
            enc.write_image(&d, w, h, image::ExtendedColorType::Rgba16)
        }
        other => panic!("no PNG kind {other}"),
    }
    .map_err(err)
}

/// Structured images for `plan(w, h, _, texts)` (goldens and side-by-side renders): a dark
/// gradient bg, the test card as the photo, a translucent white frame as the static overlay,
/// and texts as coloured bars whose alpha ramps along them.
pub fn pattern_images(w: u32, h: u32, texts: usize) -> Vec<CardImage> {
    let (rw, rh) = ((w * 5 / 8).max(1), (h * 3 / 8).max(1));
    let mut bg = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            bg.extend([
                (20 + 40 * x / w.max(1)) as u8,
                (30 + 60 * y / h.max(1)) as u8,
                90,
                255,
            ]);
        }
    }
    let photo = super::pattern::rgb_to_rgba(&super::pattern::test_card(rw, rh));
    let mut frame = vec![0u8; (w * h * 4) as usize];
    let edge = (w.min(h) / 24).max(1);
    for y in 0..h {
        for x in 0..w {
            if x < edge || y < edge || x + edge >= w || y + edge >= h {
                frame[((y * w + x) * 4) as usize..][..4].copy_from_slice(&[255, 255, 255, 160]);
            }
        }
    }
    let mut v = vec![
        CardImage {
            width: w,
            height: h,
            rgba: bg,
        },
        CardImage {
            width: rw,
            height: rh,
            rgba: photo,
        },
        CardImage {
            width: w,
            height: h,
            rgba: frame,
        },
    ];
    let colours = [[250, 200, 40], [240, 240, 240], [80, 200, 250]];
    for k in 0..texts {
        let (tw, th) = ((w / 2).max(1), (h / 12).max(1));
        let mut rgba = Vec::with_capacity((tw * th * 4) as usize);
        for _ in 0..th {
            for x in 0..tw {
                let c = colours[k % 3];
                rgba.extend([c[0], c[1], c[2], (96 + 159 * x / tw.max(1)) as u8]);
            }
        }
        v.push(CardImage {
            width: tw,
            height: th,
            rgba,
        });
    }
    v
}

/// ffmpeg's command for `plan`'s card, built the way the app builds it
/// (`card_compose_plan.build_intro_card_cmd`: looped PNG inputs, `zoompan` for the photo,
/// `overlay` for every layer, `fade` with alpha for the texts and to white for the flash),
/// writing H.264 crf 20 to `out` (arguments after `ffmpeg`).
pub fn app_command(plan: &Value, dir: &Path, out: &Path) -> Vec<String> {
    let fps = plan["fps_str"].as_str().unwrap();
    let dur = plan["duration"].as_f64().unwrap().to_string();
    let (mut inputs, mut parts): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let mut last = "[base]".to_string();
    let (mut idx, mut k) = (0, 0);
    let looped = |file: &str| -> Vec<String> {
        ["-loop", "1", "-framerate", fps, "-t", &dur, "-i"]
            .iter()
            .map(|s| s.to_string())
            .chain([dir.join(file).display().to_string()])
            .collect()
    };
    for l in plan["layers"].as_array().unwrap() {
        let file = l["file"].as_str().unwrap();
        match l["kind"].as_str().unwrap() {
            "bg" => {
                inputs.extend(looped(file));
                parts.push("[0:v]format=rgba[base]".into());
                idx = 1;
            }
            "photo" => {
                inputs.extend(["-i".to_string(), dir.join(file).display().to_string()]);
                parts.push(format!(
                    "[{idx}:v]zoompan=z='{}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d={}:s={}x{}:fps={fps},format=rgba[photo]",
                    l["zexpr"].as_str().unwrap(), l["nframes"], l["rw"], l["rh"]
                ));
                parts.push(format!(
                    "{last}[photo]overlay=x={}:y={}[withphoto]",
                    l["px"], l["py"]
                ));
                last = "[withphoto]".into();
                idx += 1;
            }
            "static" => {
                inputs.extend(looped(file));
                parts.push(format!("[{idx}:v]format=rgba[statics]"));
                parts.push(format!("{last}[statics]overlay=x=0:y=0[withstatics]"));
                last = "[withstatics]".into();
                idx += 1;
            }
            _ => {
                inputs.extend(looped(file));
                let (st, d) = (l["st"].as_f64().unwrap(), l["fade_d"].as_f64().unwrap());
                let (ly, rise) = (l["ly"].as_i64().unwrap(), l["rise_px"].as_i64().unwrap());
                let y = format!(
                    "if(lt(t,{st}),{},if(lt(t,{}),{ly}+{rise}*(1-(t-{st})/{d}),{ly}))",
                    ly + rise,
                    st + d
                );
                parts.push(format!(
                    "[{idx}:v]format=rgba,fade=t=in:st={st}:d={d}:alpha=1[el{k}]"
                ));
                parts.push(format!("{last}[el{k}]overlay=x={}:y='{y}'[t{k}]", l["lx"]));
                last = format!("[t{k}]");
                idx += 1;
                k += 1;
            }
        }
    }
    parts.push(format!(
        "{last}fade=t=out:st={}:d={}:color=white,setsar=1/1,format=yuv420p[v]",
        plan["flash_st"], plan["flash_d"]
    ));
    let audio = plan["has_audio"].as_bool() == Some(true);
    if audio {
        // the app's silence in the reel's layout
        inputs.extend([
            "-f".to_string(),
            "lavfi".into(),
            "-i".into(),
            format!(
                "anullsrc=channel_layout={}:sample_rate={}",
                plan["a_layout"].as_str().unwrap_or("stereo"),
                plan["a_rate"].as_u64().unwrap_or(48000)
            ),
        ]);
    }
    let mut cmd = vec!["-v".to_string(), "error".into(), "-y".into()];
    cmd.extend(inputs);
    let join = parts.join(";");
    let mut tail: Vec<String> = ["-filter_complex", &join, "-map", "[v]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if audio {
        tail.extend(["-map".into(), format!("{idx}:a")]);
    }
    tail.extend(
        [
            "-t",
            &dur,
            "-c:v",
            "libx264",
            "-crf",
            "20",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-r",
            fps,
            "-video_track_timescale",
            "15360",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    if audio {
        let ac = plan["a_channels"].as_u64().unwrap_or(2).to_string();
        let ar = plan["a_rate"].as_u64().unwrap_or(48000).to_string();
        tail.extend(
            [
                "-c:a", "aac", "-b:a", "128k", "-ar", &ar, "-ac", &ac, "-t", &dur,
            ]
            .iter()
            .map(|s| s.to_string()),
        );
    } else {
        tail.push("-an".into());
    }
    tail.extend(["-f".into(), "mp4".into()]);
    cmd.extend(tail);
    cmd.push(out.display().to_string());
    cmd
}
