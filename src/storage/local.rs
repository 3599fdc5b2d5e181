//! A local directory as storage (`R2_ENDPOINT=file:///dir`): keys are relative paths under it.
//! Uploads are written to a temporary name in the target folder and renamed, so an object is
//! never seen half-written.

use std::path::{Path, PathBuf};

use super::{ObjectInfo, Storage, StorageError, check_key};

pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        if !root.is_dir() {
            return Err(StorageError::Config(format!(
                "local storage root {} is not a directory",
                root.display()
            )));
        }
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        check_key(key).map_err(|m| StorageError::Config(format!("key {key:?} {m}")))?;
        Ok(self.root.join(key))
    }
}

#[async_trait::async_trait]
impl Storage for LocalStorage {
    async fn stat(&self, key: &str) -> Result<ObjectInfo, StorageError> {
        let src = self.path(key)?;
        match tokio::fs::metadata(&src).await {
            Ok(m) if m.is_file() => Ok(ObjectInfo {
                size: m.len(),
                etag: None,
            }),
            _ => Err(StorageError::NotFound {
                key: key.into(),
                location: self.describe(),
            }),
        }
    }

    async fn read_range(
        &self,
        key: &str,
        start: u64,
        end: u64,
        _etag: Option<&str>,
    ) -> Result<bytes::Bytes, StorageError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let src = self.path(key)?;
        let mut f = tokio::fs::File::open(&src)
            .await
            .map_err(StorageError::io(&src))?;
        f.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(StorageError::io(&src))?;
        let mut buf = Vec::with_capacity((end + 1 - start) as usize);
        f.take(end + 1 - start)
            .read_to_end(&mut buf)
            .await
            .map_err(StorageError::io(&src))?;
        Ok(buf.into())
    }

    async fn download(&self, key: &str, dest: &Path) -> Result<u64, StorageError> {
        let src = self.path(key)?;
        if !tokio::fs::try_exists(&src).await.unwrap_or(false) || src.is_dir() {
            return Err(StorageError::NotFound {
                key: key.into(),
                location: self.describe(),
            });
        }
        tokio::fs::copy(&src, dest)
            .await
            .map_err(StorageError::io(&src))
    }

    async fn upload(&self, src: &Path, key: &str, _content_type: &str) -> Result<(), StorageError> {
        let dest = self.path(key)?;
        let dir = dest.parent().unwrap_or(&self.root);
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(StorageError::io(dir))?;
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(
            ".{}.upload-{}",
            name.unwrap_or_default(),
            std::process::id()
        ));
        let copied = tokio::fs::copy(src, &tmp)
            .await
            .map_err(StorageError::io(src));
        let renamed = match copied {
            Ok(_) => tokio::fs::rename(&tmp, &dest)
                .await
                .map_err(StorageError::io(&dest)),
            Err(e) => Err(e),
        };
        if renamed.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        renamed
    }

    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }
}
