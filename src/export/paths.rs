//! Checks on the paths a command is given, made before anything expensive starts (the GPU,
//! ffmpeg): one message in the user's terms per mistake, instead of an ffmpeg failure later.

use std::path::Path;

/// The input is an existing, readable file.
pub fn check_input(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("input {shown}: no such file"),
        _ => format!("input {shown} cannot be read: {e}"),
    })?;
    if meta.is_dir() {
        return Err(format!(
            "input {shown} is a folder, not a video or image file"
        ));
    }
    std::fs::File::open(path).map_err(|e| format!("input {shown} cannot be read: {e}"))?;
    Ok(())
}

/// The output can be written: its folder exists and takes a new file, and it is not a folder.
pub fn check_output(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("output {shown} is a folder; give a file name"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "output folder {} does not exist (create it first)",
            dir.display()
        ));
    }
    // the real test of writability: a temporary file there (removed at once)
    tempfile::Builder::new()
        .prefix(".reelgpu-write-check")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| format!("output folder {} is not writable: {e}", dir.display()))
}

/// `KEY=PATH` (the CLI's `--source`).
pub fn parse_source(s: &str) -> Result<(String, std::path::PathBuf), String> {
    match s.split_once('=') {
        Some((k, p)) if !k.is_empty() && !p.is_empty() => {
            Ok((k.to_string(), std::path::PathBuf::from(p)))
        }
        _ => Err(format!("{s:?} is not KEY=PATH")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_in_the_users_terms() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.mp4");
        std::fs::write(&file, b"x").unwrap();
        assert!(check_input(&file).is_ok());
        let e = check_input(&dir.path().join("nope.mp4")).unwrap_err();
        assert!(e.ends_with("nope.mp4: no such file"), "{e}");
        assert!(check_input(dir.path()).unwrap_err().contains("is a folder"));

        assert!(check_output(&dir.path().join("out.mp4")).is_ok());
        let e = check_output(&dir.path().join("missing/out.mp4")).unwrap_err();
        assert!(e.contains("missing does not exist"), "{e}");
        assert!(
            check_output(dir.path())
                .unwrap_err()
                .contains("is a folder")
        );
        // nothing left behind by the check
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }
}
