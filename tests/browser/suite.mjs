// The public pages in a real headless Chromium (Debian's `chromium`, driven by playwright-core)
// against a running app with the demo loaded (tests/browser/run.sh starts one):
// - signing in each language on a 1280×800 laptop and a 390×844 phone, the laptop's sign
//   button in view without scrolling the box;
// - axe-core on every public page: no violations;
// - no horizontal overflow at 320 px;
// - the widget framed by a page of another origin, and nothing else framable.
// Prints one line per check and ends with "N passed, N failed"; exits non-zero on a failure.
import { chromium } from "playwright-core";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";

const BASE = process.env.BASE_URL;
const OUTBOX = process.env.OUTBOX;
const SLUG = "osce-moscow-mechanism";
const LANGS = ["hy", "en", "fr", "ru"];
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${String(e && e.stack ? e.stack : e).split("\n").slice(0, 4).join("\n     ")}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/// The text of a raw email: every part, decoded (base64 or quoted-printable).
function decoded(raw) {
  const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
  return parts
    .map((part) => {
      const [head, ...rest] = part.split(/\r?\n\r?\n/);
      const body = rest.join("\n\n");
      if (/Content-Transfer-Encoding: base64/i.test(head)) {
        return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
      }
      if (/Content-Transfer-Encoding: quoted-printable/i.test(head)) {
        const bytes = body
          .replace(/=\r?\n/g, "")
          .replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
        return Buffer.from(bytes, "latin1").toString("utf8");
      }
      return part;
    })
    .join("\n");
}

/// The newest link matching `pattern` mailed to `to` (the app writes emails as .eml files),
/// waited for until it is there.
async function mailedLink(to, pattern) {
  for (let i = 0; i < 100; i++) {
    const files = readdirSync(OUTBOX)
      .map((f) => join(OUTBOX, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    for (const f of files) {
      const raw = readFileSync(f, "utf8");
      if (raw.includes(`To: ${to}`)) {
        const m = decoded(raw).match(pattern);
        if (m) return m[0];
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no email to ${to} with ${pattern}`);
}

/// The newest confirmation link mailed to `to`.
const confirmationLink = (to) => mailedLink(to, /https?:\/\/[^\s"<>]*\/confirm\/[A-Za-z0-9_-]+(\?lang=[a-z]+)?/);

async function axe(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document));
  const found = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`,
  );
  assert(found.length === 0, `${name}: ${found.join("; ")}`);
}

async function noOverflow(page, name) {
  const { scroll, client, widest } = await page.evaluate(() => {
    const client = document.documentElement.clientWidth;
    let widest = "";
    for (const el of document.querySelectorAll("body *")) {
      const r = el.getBoundingClientRect();
      if (r.right > client + 1 && !widest) widest = `${el.tagName.toLowerCase()}.${el.className} (${Math.round(r.right)} px)`;
    }
    return { scroll: document.documentElement.scrollWidth, client, widest };
  });
  assert(scroll <= client, `${name}: ${scroll} px wide in a ${client} px window; ${widest}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
// axe is injected into each page: the pages' own CSP forbids inline scripts, rightly.
const context = await browser.newContext({ bypassCSP: true });
const open = async (viewport) => {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  return page;
};
let n = 0;
try {
  // Signing in each language, on a laptop and on a phone.
  for (const lang of LANGS) {
    for (const [width, height] of [[1280, 800], [390, 844]]) {
      await check(`signs in ${lang} at ${width}x${height}`, async () => {
        const page = await open({ width, height });
        await page.goto(`${BASE}/petitions/${SLUG}?lang=${lang}`);
        assert((await page.getAttribute("html", "lang")) === lang, "page language");
        const button = page.locator("#sign button[type=submit]");
        if (width >= 1024) {
          // The sticky box, as a visitor reading the text sees it: its button in view.
          await page.evaluate(() => window.scrollTo(0, 600));
          const box = await button.boundingBox();
          assert(box && box.y >= 0 && box.y + box.height <= height, `sign button at ${box && box.y + box.height} of ${height}`);
          const consent = await page.locator("#f-consent").boundingBox();
          assert(consent && consent.y + consent.height <= height, "consent box in view");
        }
        const email = `browser-${lang}-${width}-${++n}@example.org`;
        await page.fill("#f-name", "Anahit Mkrtchyan");
        await page.fill("#f-email", email);
        await page.selectOption("#f-country", "AM");
        await page.check("#f-consent");
        await Promise.all([page.waitForURL(/\/signed/), button.click()]);
        assert((await page.getAttribute("html", "lang")) === lang, "check page language");
        const link = await confirmationLink(email);
        assert(link.endsWith(`?lang=${lang}`), `the email's link opens in ${lang}: ${link}`);
        await page.close();
      });
    }
  }

  // The sign box on the other common laptop screens: its button and consent in view.
  for (const [width, height] of [[1366, 768], [1024, 768], [1440, 900]]) {
    for (const lang of LANGS) {
      await check(`sign button in view at ${width}x${height} in ${lang}`, async () => {
        const page = await open({ width, height });
        await page.goto(`${BASE}/petitions/${SLUG}?lang=${lang}`);
        await page.evaluate(() => window.scrollTo(0, 600));
        const box = await page.locator("#sign button[type=submit]").boundingBox();
        assert(box && box.y >= 0 && box.y + box.height <= height, `button bottom at ${box && Math.round(box.y + box.height)} of ${height}`);
        await page.close();
      });
    }
  }
  // A phone after a form came back with errors: the summary is on the first screen.
  await check("a phone sees the error summary without scrolling", async () => {
    const page = await open({ width: 390, height: 844 });
    await page.goto(`${BASE}/petitions/${SLUG}?lang=hy`);
    await Promise.all([page.waitForURL(/\/sign\?/), page.click("#sign button[type=submit]")]);
    const box = await page.locator("#errors").boundingBox();
    assert(box && box.y >= -2 && box.y < 844, `summary at ${box && Math.round(box.y)}`);
    await page.close();
  });

  // Every public page passes axe, on a laptop.
  const email = "axe@example.org";
  const laptop = await open({ width: 1280, height: 800 });
  await laptop.goto(`${BASE}/petitions/${SLUG}?lang=en`);
  await laptop.fill("#f-name", "Ani Axe");
  await laptop.fill("#f-email", email);
  await laptop.selectOption("#f-country", "FR");
  // A public comment with a word longer than a phone is wide: quoted on the page, it must wrap.
  await laptop.click("details.more summary");
  await laptop.fill("#f-comment", "Freedom " + "Artsakh".repeat(12) + " now");
  await laptop.check("#f-comment-public");
  await laptop.check("#f-consent");
  await Promise.all([laptop.waitForURL(/\/signed/), laptop.click("#sign button[type=submit]")]);
  await check("axe: check your email", () => axe(laptop, "signed"));
  const link = await confirmationLink(email);
  // Someone watching the petition meanwhile: the count moves on their page, no reload.
  const watcher = await open({ width: 1280, height: 800 });
  await watcher.goto(`${BASE}/petitions/${SLUG}?lang=fr`);
  const before = await watcher.locator(".progress-text strong").innerText();
  await laptop.goto(link);
  await check("axe: confirm", () => axe(laptop, "confirm"));
  await Promise.all([laptop.waitForURL(/\/confirm\//), laptop.click("main form button[type=submit]")]);
  await laptop.waitForSelector(".thanks");
  await check("axe: thanks", () => axe(laptop, "thanks"));
  await check("a watching page's count moves without a reload", async () => {
    await watcher.waitForFunction(
      (was) => document.querySelector(".progress-text strong").textContent !== was,
      before,
      { timeout: 20000 },
    );
    const after = await watcher.locator(".progress-text strong").innerText();
    assert(/\u202f/.test(after) && after.includes("signatures"), `French grouping and words: ${after}`);
    assert(after !== before, `${before} -> ${after}`);
    await watcher.close();
  });
  // The receipt the thanks page links, and the withdraw page the receipt email links.
  const receipt = await laptop.getAttribute(".receipt a", "href");
  await laptop.goto(`${BASE}${receipt}`);
  await check("axe: receipt", () => axe(laptop, "receipt"));
  const withdraw = await mailedLink(email, /https?:\/\/[^\s"<>]*\/withdraw\/[A-Za-z0-9_-]+(\?lang=[a-z]+)?/);
  await laptop.goto(withdraw);
  await check("axe: withdraw", () => axe(laptop, "withdraw"));
  await check("the public comment is quoted on the page", async () => {
    await laptop.goto(`${BASE}/petitions/${SLUG}?lang=en`);
    const quoted = await laptop.locator(".comments blockquote").first().innerText();
    assert(quoted.includes("ArtsakhArtsakh"), quoted);
  });
  // A form sent back with errors: its summary takes the focus.
  await laptop.goto(`${BASE}/petitions/${SLUG}?lang=fr`);
  await Promise.all([laptop.waitForURL(/\/sign\?/), laptop.click("#sign button[type=submit]")]);
  await check("errors: the summary has the focus", async () => {
    const focused = await laptop.evaluate(() => document.activeElement && document.activeElement.id);
    assert(focused === "errors", `focus on ${focused}`);
  });
  await check("axe: form with errors", () => axe(laptop, "errors"));
  const pages = [
    "/",
    "/privacy",
    "/login",
    `/petitions/${SLUG}/poster`,
    `/petitions/${SLUG}/embed`,
    "/petitions/un-secretary-general-free-the-prisoners",
    "/no/such/page",
  ];
  for (const lang of LANGS) pages.push(`/petitions/${SLUG}?lang=${lang}`);
  for (const path of pages) {
    await check(`axe: ${path}`, async () => {
      await laptop.goto(`${BASE}${path}`);
      await axe(laptop, path);
    });
  }

  // Nothing wider than a 320 px phone.
  const narrow = await open({ width: 320, height: 640 });
  for (const lang of LANGS) {
    for (const path of ["/", `/petitions/${SLUG}`, "/petitions/un-secretary-general-free-the-prisoners", "/privacy"]) {
      await check(`no overflow at 320 px: ${path} in ${lang}`, async () => {
        await narrow.goto(`${BASE}${path}${path.includes("?") ? "&" : "?"}lang=${lang}`);
        await noOverflow(narrow, `${path} (${lang})`);
      });
    }
  }

  // The widget in a partner's page (another origin); the petition page itself refuses.
  const partner = createServer((req, res) => {
    const src = req.url === "/widget" ? `${BASE}/petitions/${SLUG}/embed` : `${BASE}/petitions/${SLUG}`;
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><title>Partner</title><iframe id="w" src="${src}" width="400" height="260"></iframe>`);
  });
  await new Promise((r) => partner.listen(0, "127.0.0.2", r));
  const origin = `http://127.0.0.2:${partner.address().port}`;
  const host = await browser.newPage(); // its own context: CSP applies
  await check("the widget works framed by a partner site", async () => {
    await host.goto(`${origin}/widget`);
    const frame = host.frameLocator("#w");
    const title = await frame.locator("h1").innerText({ timeout: 5000 });
    assert(title.length > 10, `title ${title}`);
    const href = await frame.locator("a.button").getAttribute("href");
    assert(href.includes("src=embed"), href);
  });
  await check("the petition page refuses to be framed", async () => {
    await host.goto(`${origin}/page`);
    await host.waitForTimeout(500);
    const frame = host.frames().find((f) => f !== host.mainFrame());
    const text = frame ? await frame.evaluate(() => document.body ? document.body.innerText : "").catch(() => "") : "";
    assert(!text.includes("OSCE"), "the framed petition page rendered");
  });
  partner.close();
} finally {
  await browser.close();
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
