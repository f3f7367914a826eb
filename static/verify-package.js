// verify.html: checks a delivery package in the browser, offline, as `undersigned verify`
// does: the manifest's signature by the package's key, every file against the manifest, the
// checkpoint's signature, the log's root and count recomputed from its entries, and the
// signature list and paper batches against what the log counts. Needs static/tlog.js.
(() => {
  const M = JSON.parse(document.getElementById("messages").textContent);
  const input = document.getElementById("package");
  const siteKey = document.getElementById("site-key");
  const out = document.getElementById("result");
  const say = (key, args = {}) =>
    M[key].replace(/%\{(\w+)\}/g, (_, k) => (k in args ? String(args[k]) : ""));
  class Failed extends Error {}
  const fail = (key, args) => { throw new Failed(say(key, args)); };
  const text = (bytes) => new TextDecoder().decode(bytes);

  // The files of a ZIP (stored or deflated), by name, from its central directory.
  async function unzip(buffer) {
    const u8 = new Uint8Array(buffer);
    const dv = new DataView(buffer);
    let end = -1;
    for (let i = u8.length - 22; i >= Math.max(0, u8.length - 65557); i--) {
      if (dv.getUint32(i, true) === 0x06054b50) { end = i; break; }
    }
    if (end < 0) fail("not_zip");
    const count = dv.getUint16(end + 10, true);
    let p = dv.getUint32(end + 16, true);
    const files = new Map();
    for (let n = 0; n < count; n++) {
      if (p + 46 > u8.length || dv.getUint32(p, true) !== 0x02014b50) fail("not_zip");
      const method = dv.getUint16(p + 10, true);
      const size = dv.getUint32(p + 20, true);
      const declared = dv.getUint32(p + 24, true);
      const nameLength = dv.getUint16(p + 28, true);
      const skip = dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
      const local = dv.getUint32(p + 42, true);
      const name = text(u8.subarray(p + 46, p + 46 + nameLength));
      p += 46 + nameLength + skip;
      if (size === 0xffffffff || local + 30 > u8.length) fail("not_zip");
      const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
      const raw = u8.subarray(start, start + size);
      if (method !== 0 && method !== 8) fail("not_zip");
      if (files.has(name)) fail("not_zip");
      // Inflated only when the check reads it: nothing of a package is inflated before its
      // key is the site's and its manifest is signed by it.
      // `signed`: the size the signed manifest gives the file, once it is checked.
      let data = null;
      files.set(name, async (signed) => {
        if (data) return data;
        const limit = Math.min(declared, limitOf(name), signed ?? Infinity);
        if (method === 0) {
          if (raw.length > limit) fail("too_large", { file: name });
          data = raw.slice();
        } else data = await inflate(raw, limit, name);
        return data;
      });
    }
    return files;
  }

  // The most a file may inflate to: the small ones are small; the rest as large as a package of
  // millions of signatures needs.
  const limitOf = (name) =>
    ({ "vkey.txt": 1 << 16, "manifest.sig": 1 << 16, "checkpoint.txt": 1 << 20, "manifest.json": 1 << 24 })[name]
    || 1 << 30;

  // Inflates `raw`, refusing past `limit` bytes (a ZIP's declared size binds it too): a forged
  // package cannot make the page inflate without bound.
  async function inflate(raw, limit, name) {
    let n = 0;
    const counted = new TransformStream({
      transform(chunk, out) {
        n += chunk.length;
        if (n > limit) out.error(new Error("too large"));
        else out.enqueue(chunk);
      },
    });
    const stream = new Blob([raw]).stream()
      .pipeThrough(new DecompressionStream("deflate-raw"))
      .pipeThrough(counted);
    try {
      return new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (e) {
      if (n > limit) fail("too_large", { file: name });
      throw e;
    }
  }

  // RFC 4180 rows.
  function csvRows(s) {
    const rows = [];
    let row = [], field = "", quoted = false, i = 0;
    while (i < s.length) {
      const c = s[i];
      if (quoted) {
        if (c === '"' && s[i + 1] === '"') { field += '"'; i += 2; continue; }
        if (c === '"') { quoted = false; i++; continue; }
        const next = s.indexOf('"', i);
        const upto = next < 0 ? s.length : next;
        field += s.slice(i, upto); i = upto; continue;
      }
      if (c === '"') { quoted = true; i++; continue; }
      if (c === ",") { row.push(field); field = ""; i++; continue; }
      if (c === "\r") { if (s[i + 1] !== "\n") field += c; i++; continue; }
      if (c === "\n") { row.push(field); rows.push(row); row = []; field = ""; i++; continue; }
      let j = i + 1;
      while (j < s.length && !'",\r\n'.includes(s[j])) j++;
      field += s.slice(i, j); i = j;
    }
    if (field !== "" || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  // The log replayed: which signatures and paper batches count, the total and the root.
  async function recount(bytes) {
    const standing = new Map(), paper = new Map(), tree = new Tlog.Frontier();
    let total = 0, start = 0;
    const rule = {
      "confirmed:": ["counted", 1], "restored:": ["counted", 1],
      "restored:invalidated": ["counted", 1], "invalidated:counted": ["invalidated", -1],
      "withdrawn:counted": ["withdrawn", -1], "withdrawn:invalidated": ["withdrawn", 0],
    };
    while (start < bytes.length) {
      let end = bytes.indexOf(10, start);
      if (end < 0) fail("entries", { detail: "no final newline" });
      const leaf = bytes.subarray(start, end);
      const index = tree.size;
      let e;
      try { e = JSON.parse(text(leaf)); } catch (x) { fail("entries", { detail: index }); }
      if (!e || !Number.isSafeInteger(e.delta) || typeof e.time !== "string") fail("entries", { detail: index });
      if (e.kind === "paper" || e.kind === "paper_removed") {
        if (!Number.isInteger(e.batch)) fail("entries", { detail: index });
        if (e.kind === "paper") {
          if (!(e.delta > 0) || paper.has(e.batch)) fail("entries", { detail: index });
          paper.set(e.batch, e.delta);
        } else {
          if (!paper.has(e.batch) || e.delta !== -paper.get(e.batch)) fail("entries", { detail: index });
          paper.delete(e.batch);
        }
      } else {
        if (!/^[0-9a-f]{64}$/.test(e.commitment || "")) fail("entries", { detail: index });
        const r = rule[e.kind + ":" + (standing.get(e.commitment) || "")];
        if (!r || e.delta !== r[1]) fail("entries", { detail: index });
        standing.set(e.commitment, r[0]);
      }
      total += e.delta;
      await tree.push(leaf);
      start = end + 1;
    }
    const counted = new Set([...standing].filter(([, s]) => s === "counted").map(([c]) => c));
    return { size: tree.size, root: await tree.root(), total, counted, paper };
  }

  async function check(files) {
    // Past the manifest, a file is read no further than the size the manifest signs for it,
    // so a forged file cannot make the page inflate gigabytes before its hash is refused.
    let sizes = {};
    const need = async (name) => {
      const signed = Object.prototype.hasOwnProperty.call(sizes, name) ? sizes[name] : undefined;
      return (files.get(name) || fail("missing", { file: name }))(Number.isSafeInteger(signed) ? signed : undefined);
    };
    // The site's key, given apart from the package, first: a package under any other key is
    // refused before anything else of it is read.
    const vkey = text(await need("vkey.txt")).trim();
    const given = siteKey.value.trim();
    if (!given) fail("unknown_key", { vkey, key_url: siteKey.dataset.keyUrl });
    if (given !== vkey) fail("other_key", { vkey });
    const manifestBytes = await need("manifest.json");
    if (!(await Tlog.bytesSigned(manifestBytes, text(await need("manifest.sig")), vkey))) fail("manifest_sig");
    const manifest = JSON.parse(text(manifestBytes));
    if (manifest.format !== "undersigned-delivery/1") fail("not_zip");
    if ((manifest.vkey || "").trim() !== vkey) fail("vkey_differs");
    if (manifest.sizes && typeof manifest.sizes === "object") sizes = manifest.sizes;
    const listed = (name) => Object.prototype.hasOwnProperty.call(manifest.files, name);
    for (const name of files.keys()) {
      if (name !== "manifest.json" && name !== "manifest.sig" && !listed(name)) fail("unlisted", { file: name });
    }
    for (const [name, hash] of Object.entries(manifest.files)) {
      if (Tlog.hex(await Tlog.sha(await need(name))) !== hash) fail("hash", { file: name });
    }
    const note = text(await need("checkpoint.txt"));
    if (note !== manifest.checkpoint) fail("checkpoint_differs");
    if (!(await Tlog.noteSigned(note, vkey))) fail("checkpoint_sig");
    const cp = Tlog.checkpoint(note);
    if (manifest.size !== cp.size || !cp.origin.endsWith("/petitions/" + manifest.petition.slug)) fail("checkpoint_differs");
    const log = await recount(await need("log-entries.jsonl"));
    if (log.size !== cp.size || !Tlog.same(log.root, cp.root)) fail("root");
    if (log.total !== cp.total || manifest.total !== cp.total) {
      fail("total", { entries: log.total, signed: cp.total });
    }
    let csv = text(await need("signatures.csv"));
    if (csv.charCodeAt(0) === 0xfeff) csv = csv.slice(1);
    const rows = csvRows(csv);
    const at = rows.length ? rows[0].indexOf("commitment") : -1;
    if (at < 0) fail("rows", { rows: 0, counted: log.counted.size });
    const seen = new Set();
    for (let i = 1; i < rows.length; i++) {
      const c = rows[i][at];
      if (!log.counted.has(c) || seen.has(c)) fail("row", { row: i + 1, number: rows[i][0] });
      seen.add(c);
    }
    if (seen.size !== log.counted.size) fail("rows", { rows: seen.size, counted: log.counted.size });
    let paper = 0;
    const batches = new Set();
    for (const r of csvRows(text(await need("paper.csv"))).slice(1)) {
      if (!/^[0-9]+$/.test(r[0]) || !/^[0-9]+$/.test(r[1] || "")) fail("total", { entries: log.total, signed: cp.total });
      const b = Number(r[0]), n = Number(r[1]);
      if (log.paper.get(b) !== n || batches.has(b)) fail("total", { entries: log.total, signed: cp.total });
      batches.add(b);
      paper += n;
    }
    if (batches.size !== log.paper.size || seen.size + paper !== cp.total
        || manifest.signatures !== seen.size || manifest.paper !== paper) {
      fail("total", { entries: seen.size + paper, signed: cp.total });
    }
    // Which petition and when, so that a genuine package of another petition of the site, or
    // an older one, is not taken for the one expected.
    const p = manifest.petition || {};
    return say("ok", {
      total: cp.total, signatures: seen.size, paper, vkey,
      title: p.title || p.slug || "", url: p.url || "", time: manifest.created_at || "",
    });
  }

  // Checks the chosen files (one ZIP, or the package's files) and shows the verdict.
  async function show(chosen) {
    out.className = "";
    out.textContent = say("checking");
    if (!window.crypto || !crypto.subtle || !window.DecompressionStream) {
      out.textContent = say("unsupported");
      return;
    }
    try {
      let files;
      if (chosen.length === 1 && /\.zip$/i.test(chosen[0].name)) {
        files = await unzip(await chosen[0].arrayBuffer());
      } else {
        files = new Map();
        for (const f of chosen) files.set(f.name, async () => new Uint8Array(await f.arrayBuffer()));
      }
      out.textContent = await check(files);
      out.className = "ok";
    } catch (e) {
      out.textContent = e instanceof Failed ? e.message : say("unsupported") + " (" + e + ")";
      out.className = "warn";
    }
  }

  input.addEventListener("change", () => show([...input.files]));
  siteKey.addEventListener("change", () => { if (input.files.length) show([...input.files]); });
  // For automated checks of this page: the same path with a File made elsewhere and the
  // site's key as typed.
  window.undersignedVerify = (chosen, key) => {
    siteKey.value = key || "";
    return show(chosen);
  };
})();
