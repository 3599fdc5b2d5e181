//! The intro card (contract §15) on the GPU against its CPU reference, its golden image, and
//! its layers decoded from PNGs of every colour type.

mod common;

use reelgpu::color::ColorSpec;
use reelgpu::effects::card::{Card, CardImage, decode_png};
use reelgpu::frame::{FrameFormat, YuvFrame};
use reelgpu::job::card::CardPlan;
use reelgpu::reference;
use reelgpu::testing::card;
use reelgpu::testing::golden::{self, GOLDEN_TOLERANCE};

fn color() -> ColorSpec {
    ColorSpec::default()
}

/// The card's frame `n` on the GPU and on the CPU.
fn both(card: &Card, n: u64, fps: f64) -> (YuvFrame, YuvFrame) {
    let f = card_format(card);
    let mut gpu = YuvFrame::blank(f);
    card.render(n, fps, &mut gpu).unwrap();
    let (layers, flash) = card.frame_layers(n, fps);
    let imgs: Vec<&CardImage> = card.images().iter().collect();
    let cpu = reference::card::render(&layers, &imgs, flash as f64, f.width, f.height, f.color);
    (gpu, cpu)
}

fn card_format(card: &Card) -> FrameFormat {
    let bg = &card.images()[0];
    FrameFormat::new(bg.width, bg.height, color())
}

/// Every sample within one code of the CPU (f32 on the GPU, f64 on the CPU, rounded to 8
/// bits), and nearly all of them exact, on random layers (RGB and RGBA, transparent and
/// partial alpha) at odd and tiny sizes, at the first frame, mid-animation (the photo zooming,
/// texts fading and rising between rows) and in the flash.
#[test]
fn the_card_matches_its_cpu_reference() {
    let ctx = common::gpu();
    for (w, h, texts) in [(97, 53, 3), (2, 2, 1), (64, 114, 2)] {
        let plan = CardPlan::parse(&card::plan(w, h, 1.0, texts), "card_plan").unwrap();
        let imgs = card::images(w, h, texts, w as u64);
        let c = Card::new(ctx.clone(), FrameFormat::new(w, h, color()), plan, imgs).unwrap();
        for n in [0, 13, 29] {
            let (gpu, cpu) = both(&c, n, 30.0);
            let (mut worst, mut off) = (0i32, 0usize);
            for (a, b) in gpu.data.iter().zip(&cpu.data) {
                let d = (*a as i32 - *b as i32).abs();
                worst = worst.max(d);
                off += (d > 0) as usize;
            }
            assert!(worst <= 1, "{w}x{h} frame {n}: {worst}");
            assert!(
                off * 100 <= gpu.data.len(),
                "{w}x{h} frame {n}: {off} of {} samples off by one",
                gpu.data.len()
            );
        }
        // the frames differ: the zoom, the texts and the flash move (at 2x2 a 1x1 photo and
        // text may not show it)
        let (a, _) = both(&c, 0, 30.0);
        let (b, _) = both(&c, 13, 30.0);
        assert!(w < 8 || a.data != b.data, "{w}x{h}");
    }
}

/// A card mid-animation, pinned as a golden image (and independently against the CPU).
#[test]
fn golden_card_mid_animation() {
    let ctx = common::gpu();
    let (w, h) = (96, 160);
    let plan = CardPlan::parse(&card::plan(w, h, 1.0, 2), "card_plan").unwrap();
    let c = Card::new(
        ctx,
        FrameFormat::new(w, h, color()),
        plan,
        card::pattern_images(w, h, 2),
    )
    .unwrap();
    let (gpu, cpu) = both(&c, 17, 30.0);
    let rgb = reference::convert::yuv420_to_rgb(&gpu);
    let d = golden::check("card_mid", &rgb, w, h, GOLDEN_TOLERANCE).unwrap();
    assert!(d.psnr >= 45.0);
    let want = reference::convert::yuv420_to_rgb(&cpu);
    let vs = reelgpu::testing::metrics::diff_u8(&rgb, &want);
    assert!(vs.max_abs <= 2.0, "{vs:?}");
}

/// PNG layers of every colour type decode to the same RGBA (16-bit to 8, grey to RGB); a
/// file that is not a PNG, or a truncated one, is a readable error.
#[test]
fn layers_decode_from_every_png_colour_type() {
    let dir = common::cli::tmp_in("card", "png");
    std::fs::create_dir_all(&dir).unwrap();
    let img = card::random_image(13, 7, true, 3);
    for kind in ["rgb", "rgba", "gray", "gray16", "rgba16", "palette"] {
        let path = dir.join(format!("{kind}.png"));
        card::write_png(&path, &img, kind).unwrap();
        let got = decode_png(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!((got.width, got.height), (13, 7), "{kind}");
        for (i, px) in got.rgba.chunks_exact(4).enumerate() {
            let src = &img.rgba[i * 4..i * 4 + 4];
            let want: [u8; 4] = match kind {
                "rgb" => [src[0], src[1], src[2], 255],
                "gray" | "gray16" => [src[0], src[0], src[0], 255],
                "rgba" | "rgba16" => [src[0], src[1], src[2], src[3]],
                _ => [px[0], px[1], px[2], 255],
            };
            assert_eq!(px, want, "{kind} pixel {i}");
        }
    }
    let good = std::fs::read(dir.join("rgba.png")).unwrap();
    assert!(decode_png(&good[..good.len() / 2]).is_err());
    assert!(decode_png(b"GIF89a not a png").unwrap_err().contains("PNG"));
}
