// Checks a signer's receipt in the browser, with Web Crypto only: that the entry carries this
// receipt's own tag, the entry's leaf hash, the
// RFC 9162 inclusion proof up to the checkpoint's root, and the checkpoint's Ed25519 signature
// by the site's published key (C2SP signed note). The server has checked the same; this page
// does not need to trust it.
(() => {
  const data = document.getElementById("receipt-data");
  const out = document.getElementById("browser-check");
  if (!data || !out) return;
  out.textContent = out.dataset.checking;
  const d = JSON.parse(data.textContent);
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const cat = (...parts) => {
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { all.set(p, at); at += p.length; }
    return all;
  };
  const sha = async (...parts) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", cat(...parts)));
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const half = (n) => Math.floor(n / 2);
  const odd = (n) => n % 2 === 1;

  async function inclusionHolds(index, size, leaf, proof, root) {
    if (index >= size) return false;
    let fn = index, sn = size - 1;
    let r = await sha(new Uint8Array([0]), leaf);
    for (const p of proof) {
      if (sn === 0) return false;
      if (odd(fn) || fn === sn) {
        r = await sha(new Uint8Array([1]), p, r);
        while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
      } else {
        r = await sha(new Uint8Array([1]), r, p);
      }
      fn = half(fn); sn = half(sn);
    }
    return sn === 0 && same(r, root);
  }

  async function signatureHolds(note, vkey) {
    // name+keyid+base64: the base64 part may itself contain "+".
    const [name, idHex] = vkey.split("+", 2);
    const keyB64 = vkey.slice(name.length + idHex.length + 2);
    const key = b64(keyB64);
    if (key.length !== 33 || key[0] !== 1) return false;
    const text = note.slice(0, note.indexOf("\n\n") + 1);
    const prefix = "\u2014 " + name + " ";
    const line = note.slice(text.length + 1).split("\n").find((l) => l.startsWith(prefix));
    if (!line) return false;
    const blob = b64(line.slice(prefix.length));
    const id = Array.from(blob.slice(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
    if (id !== idHex) return false;
    const pub = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, pub, blob.slice(4), new TextEncoder().encode(text));
  }

  // The entry is this receipt's own: it carries SHA-256("undersigned receipt tag\n" ‖ code),
  // and only the holder of the code (from this page's address) can make that.
  async function mine(leaf) {
    const code = location.pathname.split("/").pop();
    const tag = await sha(new TextEncoder().encode("undersigned receipt tag\n" + code));
    const hex = Array.from(tag, (b) => b.toString(16).padStart(2, "0")).join("");
    return JSON.parse(new TextDecoder().decode(leaf)).receipt === hex;
  }

  (async () => {
    if (!window.crypto || !crypto.subtle) {
      out.textContent = out.dataset.unsupported;
      return;
    }
    const lines = d.checkpoint.split("\n");
    const size = Number(lines[1]);
    const root = b64(lines[2]);
    const included =
      (await mine(b64(d.leaf))) &&
      (await inclusionHolds(d.index, size, b64(d.leaf), d.inclusion.map(b64), root));
    let signed;
    try {
      signed = await signatureHolds(d.checkpoint, d.vkey);
    } catch (e) {
      out.textContent = included ? out.dataset.unsupported : out.dataset.failed;
      return;
    }
    out.textContent = included && signed ? out.dataset.ok : out.dataset.failed;
    out.className = included && signed ? "ok" : "warn";
  })().catch(() => { out.textContent = out.dataset.failed; out.className = "warn"; });
})();
