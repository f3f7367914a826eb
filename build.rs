// Migrations are embedded at compile time: rebuild when one is added, not only when one changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
