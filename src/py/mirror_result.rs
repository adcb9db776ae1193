//! `rftplib.MirrorResult`: what `FTP.mirror()` did. Its `__module__` is the
//! extension's, so that rftplib keeps ftplib's `__all__` (check__all__).

use pyo3::prelude::*;

/// What ``FTP.mirror()`` did: relative paths transferred, skipped (already
/// matching, or not regular files) and deleted; ``(path, reason)`` for each
/// failure; the bytes moved and the seconds taken.
#[pyclass(module = "rftplib._rftplib", name = "MirrorResult", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct MirrorResult {
    pub transferred: Vec<String>,
    pub skipped: Vec<String>,
    pub deleted: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub bytes: u64,
    pub seconds: f64,
}

#[pymethods]
impl MirrorResult {
    #[new]
    #[pyo3(signature = (transferred=Vec::new(), skipped=Vec::new(), deleted=Vec::new(), failed=Vec::new(), bytes=0, seconds=0.0))]
    fn new(
        transferred: Vec<String>,
        skipped: Vec<String>,
        deleted: Vec<String>,
        failed: Vec<(String, String)>,
        bytes: u64,
        seconds: f64,
    ) -> Self {
        MirrorResult { transferred, skipped, deleted, failed, bytes, seconds }
    }

    fn __repr__(&self) -> String {
        format!(
            "MirrorResult(transferred={}, skipped={}, deleted={}, failed={}, bytes={}, seconds={:.3})",
            self.transferred.len(),
            self.skipped.len(),
            self.deleted.len(),
            self.failed.len(),
            self.bytes,
            self.seconds
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<MirrorResult>().is_ok_and(|o| {
            let o = o.get();
            o.transferred == self.transferred
                && o.skipped == self.skipped
                && o.deleted == self.deleted
                && o.failed == self.failed
                && o.bytes == self.bytes
                && o.seconds == self.seconds
        })
    }

    /// True when nothing failed.
    #[getter]
    fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}
