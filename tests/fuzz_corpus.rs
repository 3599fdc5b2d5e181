//! Every fuzz target's property ([`reelgpu::fuzzing`]) over its committed seed corpus
//! (`fuzz/corpus/<target>/`) and over every input a fuzzer has failed on
//! (`fuzz/regressions/<target>/`, kept forever): a crash found once stays a test.

use std::path::Path;

use reelgpu::fuzzing::TARGETS;

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
    for (name, property) in TARGETS {
        let seeds = files(&root.join("corpus").join(name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{name} has no seeds");
        let regressions = files(&root.join("regressions").join(name));
        for f in seeds.iter().chain(&regressions) {
            let data = std::fs::read(f).unwrap();
            let r = std::panic::catch_unwind(|| property(&data));
            assert!(r.is_ok(), "{name} fails on {}", f.display());
        }
        eprintln!(
            "{name}: {} seeds, {} regressions",
            seeds.len(),
            regressions.len()
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
    let mut named: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    named.sort();
    assert_eq!(on_disk, named);
    let manifest = std::fs::read_to_string(dir.parent().unwrap().join("Cargo.toml")).unwrap();
    for n in &named {
        let text = std::fs::read_to_string(dir.join(format!("{n}.rs"))).unwrap();
        assert!(
            text.contains(&format!("reelgpu::fuzzing::{n}(")),
            "{n}.rs does not call its property"
        );
        assert!(
            manifest.contains(&format!("path = \"fuzz_targets/{n}.rs\"")),
            "{n} is not a [[bin]] of fuzz/Cargo.toml"
        );
    }
}
