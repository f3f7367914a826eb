// Checking a transparency log with Web Crypto only (no third-party code): RFC 9162 Merkle
// trees (leaf and node hashes, the root of a list of entries, inclusion proofs) and C2SP
// signed notes with Ed25519. Used by the receipt page and by a delivery package's
// verify.html, which carries a copy of this file inline so that it works with no network.
const Tlog = (() => {
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const utf8 = (s) => new TextEncoder().encode(s);
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
  const leafHash = (data) => sha(new Uint8Array([0]), data);
  const nodeHash = (left, right) => sha(new Uint8Array([1]), left, right);

  // RFC 9162 §2.1.3.2: whether `proof` takes leaf `index` of a tree of `size` to `root`.
  async function inclusionHolds(index, size, leaf, proof, root) {
    if (index >= size) return false;
    let fn = index, sn = size - 1;
    let r = await leafHash(leaf);
    for (const p of proof) {
      if (sn === 0) return false;
      if (odd(fn) || fn === sn) {
        r = await nodeHash(p, r);
        while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn); sn = half(sn);
    }
    return sn === 0 && same(r, root);
  }

  // The root of a tree built leaf by leaf: the perfect subtrees on its right edge.
  class Frontier {
    constructor() { this.stack = []; this.size = 0; }
    async push(data) {
      let level = 0;
      let h = await leafHash(data);
      while (this.stack.length && this.stack[this.stack.length - 1][0] === level) {
        h = await nodeHash(this.stack.pop()[1], h);
        level += 1;
      }
      this.stack.push([level, h]);
      this.size += 1;
    }
    async root() {
      if (!this.stack.length) return sha(new Uint8Array(0));
      let h = this.stack[this.stack.length - 1][1];
      for (let i = this.stack.length - 2; i >= 0; i--) h = await nodeHash(this.stack[i][1], h);
      return h;
    }
  }

  // A verifier key `name+keyid+base64(0x01 ‖ key)`; the base64 part may itself hold "+".
  async function verifierKey(vkey) {
    const [name, idHex] = vkey.trim().split("+", 2);
    const raw = b64(vkey.trim().slice(name.length + idHex.length + 2));
    if (raw.length !== 33 || raw[0] !== 1) return null;
    const id = (await sha(utf8(name + "\n"), raw)).slice(0, 4);
    if (hex(id) !== idHex) return null;
    const key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
    return { name, idHex, key };
  }

  // Whether base64 `signature` is the key's Ed25519 signature of `bytes`.
  async function bytesSigned(bytes, signature, vkey) {
    const k = await verifierKey(vkey);
    if (!k) return false;
    return crypto.subtle.verify({ name: "Ed25519" }, k.key, b64(signature.trim()), bytes);
  }

  // Whether the signed note carries the key's signature over its text (C2SP signed-note).
  async function noteSigned(note, vkey) {
    const k = await verifierKey(vkey);
    if (!k) return false;
    const text = note.slice(0, note.indexOf("\n\n") + 1);
    const prefix = "\u2014 " + k.name + " ";
    const line = note.slice(text.length + 1).split("\n").find((l) => l.startsWith(prefix));
    if (!line) return false;
    const blob = b64(line.slice(prefix.length));
    if (hex(blob.slice(0, 4)) !== k.idHex) return false;
    return crypto.subtle.verify({ name: "Ed25519" }, k.key, blob.slice(4), utf8(text));
  }

  // A checkpoint's lines: origin, size, root, and further lines such as "total N".
  function checkpoint(note) {
    const lines = note.slice(0, note.indexOf("\n\n")).split("\n");
    const total = lines.slice(3).find((l) => l.startsWith("total "));
    return {
      origin: lines[0],
      size: Number(lines[1]),
      root: b64(lines[2]),
      total: total === undefined ? null : Number(total.slice(6)),
    };
  }

  return { b64, hex, utf8, sha, same, inclusionHolds, Frontier, bytesSigned, noteSigned, checkpoint };
})();
