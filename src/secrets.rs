//! The site's secrets on disk: the master key and the log-signing key, read from where the
//! settings point, or made once with mode 0600. Deriving keys from them is `keys`'.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::RngCore;
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::keys::Keys;

/// Loads the master key the settings point at, generating it on first start.
///
/// In order: `secret_key` (config or `UNDERSIGNED_SECRET_KEY`); else the file `key_file`
/// (default `{data_dir}/secret_key`, the file earlier versions created), created with
/// 32 random bytes (hex) and mode 0600 when it does not exist yet.
pub fn load(settings: &Settings) -> anyhow::Result<Keys> {
    let keys = load_current(settings)?;
    Ok(match &settings.previous_secret_key {
        Some(previous) => keys.with_previous(previous.expose_secret().as_bytes()),
        None => keys,
    })
}

fn load_current(settings: &Settings) -> anyhow::Result<Keys> {
    if let Some(key) = &settings.secret_key {
        return Ok(Keys::derive(
            key.expose_secret().as_bytes(),
            "the secret_key setting".to_string(),
        ));
    }
    let path = key_file(settings);
    let source = path.display().to_string();
    if path.starts_with(&settings.data_dir) {
        tracing::warn!(
            key_file = %source,
            "the master key is inside data_dir: keep it out of database backups, or set \
             key_file (or secret_key) to a place apart from the data"
        );
    }
    if path.exists() {
        let key = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the key file {source}"))?;
        let key = key.trim();
        anyhow::ensure!(
            key.len() >= 32,
            "the key file {source} is too short (at least 32 characters)"
        );
        return Ok(Keys::derive(key.as_bytes(), source));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::files::private_dir(dir)
            .with_context(|| format!("cannot create the folder of {source}"))?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    write_private(&path, &key)?;
    tracing::info!(key_file = %source, "generated a new master key");
    Ok(Keys::derive(key.as_bytes(), source))
}

/// The seed of the key that signs the petitions' logs: from `log_key_file` (32 random bytes,
/// hex, created 0600 on first start) when set, so that it outlives rotations of the master
/// key; else derived from the master key.
pub fn log_seed(settings: &Settings, keys: &Keys) -> anyhow::Result<[u8; 32]> {
    let Some(path) = &settings.log_key_file else {
        return Ok(*keys.log_signing_seed());
    };
    let shown = path.display().to_string();
    if !path.exists() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::private_dir(dir)
                .with_context(|| format!("cannot create the folder of {shown}"))?;
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        write_private(path, &hex::encode(bytes))?;
        tracing::info!(log_key_file = %shown, "generated a new log-signing key");
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the log key file {shown}"))?;
    hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .with_context(|| format!("the log key file {shown} must hold 64 hex digits"))
}

/// Where the master key file is: `key_file`, else `{data_dir}/secret_key`.
pub fn key_file(settings: &Settings) -> PathBuf {
    settings
        .key_file
        .clone()
        .unwrap_or_else(|| settings.data_dir.join("secret_key"))
}

pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the key file {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}
