//! Every fuzz target's property ([`reelgpu::fuzzing`]) over its committed seed corpus
//! (`fuzz/corpus/<target>/`) and over every input a fuzzer has failed on
//! (`fuzz/regressions/<target>/`, kept forever): a crash found once stays a test. Each runs
//! under the counting allocator, as in the fuzzers, so memory held at once stays within the
//! target's allowance for the input's size.

use std::path::Path;

use reelgpu::fuzzing::{CountingAlloc, PER_INPUT_BYTE, TARGETS, check, peak_held, target};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_target_holds_on_its_seeds_and_regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for t in TARGETS {
        let name = t.name;
        let seeds = files(&root.join("corpus").join(name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{name} has no seeds");
        let regressions = files(&root.join("regressions").join(name));
        let mut most = 0usize;
        for f in seeds.iter().chain(&regressions) {
            let data = std::fs::read(f).unwrap();
            let r = std::panic::catch_unwind(|| check(name, &data));
            assert!(r.is_ok(), "{name} fails on {}", f.display());
            most = most.max(peak_held(|| (t.property)(&data)));
        }
        eprintln!(
            "{name}: {} seeds, {} regressions, at most {most} bytes held at once (fixed allowance {})",
            seeds.len(),
            regressions.len(),
            t.fixed
        );
    }
}

/// Each target in the fuzz crate is one of the properties, and each property has a target.
#[test]
fn the_fuzz_crate_has_a_target_per_property() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut on_disk: Vec<String> = files(&dir)
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut named: Vec<String> = TARGETS.iter().map(|t| t.name.to_string()).collect();
    named.sort();
    assert_eq!(on_disk, named);
    let manifest = std::fs::read_to_string(dir.parent().unwrap().join("Cargo.toml")).unwrap();
    for n in &named {
        let text = std::fs::read_to_string(dir.join(format!("{n}.rs"))).unwrap();
        assert!(
            text.contains(&format!("reelgpu::fuzzing::check(\"{n}\", data)"))
                && text.contains("static ALLOC: reelgpu::fuzzing::CountingAlloc"),
            "{n}.rs does not call its property"
        );
        assert!(
            manifest.contains(&format!("path = \"fuzz_targets/{n}.rs\"")),
            "{n} is not a [[bin]] of fuzz/Cargo.toml"
        );
    }
}

/// The allowance is a real check: memory that follows a number in the input (here a
/// vector as long as the input says) is caught, while the same input's own size passes.
#[test]
fn memory_that_follows_a_number_in_the_input_is_caught() {
    let t = target("job_input").unwrap();
    let data = br#"{"frames": 50000000}"#;
    let held = peak_held(|| {
        let v: serde_json::Value = serde_json::from_slice(data).unwrap();
        let n = v["frames"].as_u64().unwrap() as usize;
        std::hint::black_box(vec![1u8; n]);
    });
    assert!(held >= 50_000_000, "{held}");
    assert!(held > t.allowance(data.len()));
    // the real property on the same input stays inside it
    let held = peak_held(|| (t.property)(data));
    assert!(held <= t.allowance(data.len()), "{held}");
    assert!(std::panic::catch_unwind(|| check("job_input", data)).is_ok());
    assert!(PER_INPUT_BYTE * data.len() < 50_000_000);
}
