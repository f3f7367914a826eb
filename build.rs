// Migrations are embedded at compile time: rebuild when one is added, not only when one changes.
// So are the translations, by a macro whose reads cargo does not see: rebuild when one changes.
// Browser tests run where Chromium is (`CHROMIUM`, or `chromium` on the PATH) and are marked
// ignored elsewhere, never passed: the cfg `chromium` says which.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=locales");
    println!("cargo:rustc-check-cfg=cfg(chromium)");
    println!("cargo:rerun-if-env-changed=CHROMIUM");
    println!("cargo:rerun-if-env-changed=PATH");
    let found = std::env::var_os("CHROMIUM")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("chromium"))
                    .find(|p| p.is_file())
            })
        });
    match found {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", path.display());
            println!("cargo:rustc-cfg=chromium");
        }
        // Installed later (CI installs it): look again then.
        None => println!("cargo:rerun-if-changed=/usr/bin/chromium"),
    }
}
