//! The files undersigned writes (the SQLite database and its WAL, `.eml` emails, keys) hold
//! signers' data and credentials: they are created readable by the operator's account only.

use std::path::Path;

use anyhow::Context;

/// Creates `dir` (and its parents) for private files: from here on every file and folder this
/// process creates is for its own user only (umask 077), and an existing folder that other
/// local users can read or enter is reported.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    restrict_new_files();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    warn_if_open(dir);
    Ok(())
}

/// New files 0600, new folders 0700, whoever creates them (SQLite, lettre, us).
fn restrict_new_files() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

fn warn_if_open(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(dir) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    dir = %dir.display(),
                    mode = format!("{mode:o}"),
                    "other local users can open this folder of personal data; run chmod 700 on it"
                );
            }
        }
    }
}
