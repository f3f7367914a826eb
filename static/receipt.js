// Checks a signer's receipt in the browser, with Web Crypto only (static/tlog.js): that the
// entry carries this receipt's own tag, the entry's RFC 9162 inclusion proof up to the
// checkpoint's root, and the checkpoint's Ed25519 signature by the site's published key
// (C2SP signed note). The server has checked the same; this page does not need to trust it.
(() => {
  const data = document.getElementById("receipt-data");
  const out = document.getElementById("browser-check");
  if (!data || !out) return;
  out.textContent = out.dataset.checking;
  const d = JSON.parse(data.textContent);
  const { b64, hex, utf8, sha } = Tlog;

  // The entry is this receipt's own: it carries SHA-256("undersigned receipt tag\n" ‖ code),
  // and only the holder of the code (from this page's address) can make that.
  async function mine(leaf) {
    const code = location.pathname.split("/").pop();
    const tag = await sha(utf8("undersigned receipt tag\n" + code));
    return JSON.parse(new TextDecoder().decode(leaf)).receipt === hex(tag);
  }

  (async () => {
    if (!window.crypto || !crypto.subtle) {
      out.textContent = out.dataset.unsupported;
      return;
    }
    const cp = Tlog.checkpoint(d.checkpoint);
    const included =
      (await mine(b64(d.leaf))) &&
      (await Tlog.inclusionHolds(d.index, cp.size, b64(d.leaf), d.inclusion.map(b64), cp.root));
    let signed;
    try {
      signed = await Tlog.noteSigned(d.checkpoint, d.vkey);
    } catch (e) {
      out.textContent = included ? out.dataset.unsupported : out.dataset.failed;
      return;
    }
    out.textContent = included && signed ? out.dataset.ok : out.dataset.failed;
    out.className = included && signed ? "ok" : "warn";
  })().catch(() => { out.textContent = out.dataset.failed; out.className = "warn"; });
})();
