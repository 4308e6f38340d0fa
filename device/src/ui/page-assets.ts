// The consent page's files: its HTML and CSS here (tsc copies no other files into
// dist), its scripts compiled from src/ui/page into dist/ui-page, and the bundled
// asciinema-player from node_modules. Nothing comes from a CDN.
import * as fs from "node:fs";
import * as path from "node:path";
import { DeviceError } from "../errors";

export interface PageAsset {
  contentType: string;
  body: Buffer;
}

const HTML = "text/html; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const JS = "text/javascript; charset=utf-8";
const SVG = "image/svg+xml";

/** Where tsc puts the page's scripts: src/ui/page/tsconfig.json's outDir. */
const PAGE_SCRIPTS_DIR = path.resolve(__dirname, "..", "ui-page", "page");

/**
 * Every file the page serves, by URL path. Read once at start, so a missing
 * build fails there, not in a customer's browser.
 */
export function loadPageAssets(scriptsDir = PAGE_SCRIPTS_DIR): {
  assets: Map<string, PageAsset>;
  replay: boolean;
} {
  const assets = new Map<string, PageAsset>([
    ["/", { contentType: HTML, body: Buffer.from(INDEX_HTML) }],
    ["/replay", { contentType: HTML, body: Buffer.from(REPLAY_HTML) }],
    ["/assets/styles.css", { contentType: CSS, body: Buffer.from(STYLES_CSS) }],
    ["/assets/icon.svg", { contentType: SVG, body: Buffer.from(ICON_SVG) }],
  ]);
  let names: string[];
  try {
    names = fs.readdirSync(scriptsDir).filter((n) => /^[a-z-]+\.js$/.test(n));
  } catch (err) {
    throw new DeviceError(
      `the consent page's scripts are missing from ${scriptsDir} (${(err as NodeJS.ErrnoException).code ?? String(err)}): build with \`npm run build\``,
    );
  }
  for (const name of names) {
    assets.set(`/assets/${name}`, {
      contentType: JS,
      body: fs.readFileSync(path.join(scriptsDir, name)),
    });
  }
  let replay = false;
  try {
    const bundle = path.dirname(
      require.resolve("asciinema-player/dist/bundle/asciinema-player.min.js"),
    );
    for (const [name, contentType] of [
      ["asciinema-player.min.js", JS],
      ["asciinema-player.css", CSS],
    ] as const) {
      assets.set(`/assets/player/${name}`, {
        contentType,
        body: fs.readFileSync(path.join(bundle, name)),
      });
    }
    replay = true;
  } catch {
    // Installed without the player: the page offers no replay, the rest works.
  }
  return { assets, replay };
}

export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Remote support</title>
<link rel="icon" href="/assets/icon.svg">
<link rel="stylesheet" href="/assets/styles.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<header class="top">
  <h1>Remote support <span id="device-name" class="device-name"></span></h1>
  <p class="lead">Support can reach this device only after you ask for it and only for as long as you allow. You can stop it at any time.</p>
</header>
<main>
  <p id="problem" class="problem" role="alert" hidden></p>

  <section id="login" class="card" hidden>
    <h2>Sign in</h2>
    <form id="login-form">
      <input name="username" autocomplete="username" value="support-device" hidden>
      <label for="password">Password of this page</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
      <p class="field-error" data-error-for="password" hidden></p>
      <button type="submit">Sign in</button>
    </form>
  </section>

  <div id="app" hidden>
    <section id="live" aria-live="polite">
      <h2>Support access</h2>
      <p id="no-live" class="muted">No support access is open on this device.</p>
      <ol id="live-list" class="tunnels"></ol>
    </section>

    <section id="ask" class="card">
      <h2>Ask for support</h2>
      <form id="request-form" novalidate>
        <div class="field" data-choice="description" hidden>
          <label for="description">What is the problem?</label>
          <textarea id="description" name="description" rows="3" maxlength="500" placeholder="e.g. the printer queue is stuck"></textarea>
          <p class="field-error" data-error-for="description" hidden></p>
        </div>
        <div class="field" data-choice="ticket" hidden>
          <label for="ticket">Support case (ticket)</label>
          <input id="ticket" name="ticket" maxlength="100" autocomplete="off">
          <p class="field-error" data-error-for="ticket" hidden></p>
        </div>
        <div class="field" data-choice="ttlSeconds" hidden>
          <label for="ttlSeconds">Support may stay for</label>
          <select id="ttlSeconds" name="ttlSeconds">
            <option value="1800">30 minutes</option>
            <option value="3600">1 hour</option>
            <option value="7200" selected>2 hours</option>
            <option value="14400">4 hours</option>
            <option value="28800">8 hours</option>
            <option value="86400">1 day</option>
          </select>
          <p class="field-error" data-error-for="ttlSeconds" hidden></p>
        </div>
        <div class="field" data-choice="start" hidden>
          <label for="start">Not before</label>
          <input id="start" name="start" type="datetime-local">
          <p class="field-error" data-error-for="start" hidden></p>
        </div>
        <div class="field" data-choice="engineers" hidden>
          <label for="engineers">Only these engineers (names, separated by commas)</label>
          <input id="engineers" name="engineers" autocomplete="off">
          <p class="field-error" data-error-for="engineers" hidden></p>
        </div>
        <div class="field" data-choice="ports" hidden>
          <label for="ports">Device ports support may open, besides SSH (e.g. 80 for the web UI; separated by commas)</label>
          <input id="ports" name="ports" autocomplete="off" inputmode="numeric">
          <p class="field-error" data-error-for="ports" hidden></p>
        </div>
        <p class="field-error" data-error-for="body" hidden></p>
        <button type="submit" id="request-button">Request support</button>
      </form>
    </section>

    <section id="ended" hidden>
      <h2>Ended</h2>
      <ol id="ended-list" class="tunnels"></ol>
    </section>
  </div>
</main>

<template id="tunnel-template">
  <li class="tunnel card">
    <p class="status"><span class="badge"></span><span class="headline"></span></p>
    <p class="description" hidden></p>
    <div class="codes" hidden>
      <p class="codes-hint">Send both to the support person you talk to (by phone, ticket or chat). Nothing is open until support approves with them.</p>
      <div class="code-row">
        <span class="code-label">Tunnel id</span>
        <code class="code tunnel-id"></code>
        <button type="button" class="copy" data-copy="id">Copy</button>
      </div>
      <div class="code-row">
        <span class="code-label">Key</span>
        <code class="code key"></code>
        <button type="button" class="copy" data-copy="key">Copy</button>
      </div>
      <button type="button" class="copy copy-both" data-copy="both">Copy both</button>
    </div>
    <dl class="facts"></dl>
    <div class="in-session" hidden>
      <h3>In a session right now</h3>
      <ul></ul>
    </div>
    <details class="timeline" hidden><summary>Timeline</summary><ol></ol></details>
    <details class="sessions" hidden><summary>Sessions</summary><ul></ul></details>
    <button type="button" class="stop danger">Stop support access</button>
  </li>
</template>
</body>
</html>
`;

export const REPLAY_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Session replay</title>
<link rel="icon" href="/assets/icon.svg">
<link rel="stylesheet" href="/assets/styles.css">
<link rel="stylesheet" href="/assets/player/asciinema-player.css">
<script src="/assets/player/asciinema-player.min.js"></script>
<script type="module" src="/assets/replay.js"></script>
</head>
<body>
<header class="top">
  <h1>Session replay</h1>
  <p class="lead"><a href="/">Back to remote support</a></p>
</header>
<main>
  <p id="problem" class="problem" role="alert" hidden></p>
  <p id="replay-title" class="muted"></p>
  <div id="player" class="player"></div>
</main>
</body>
</html>
`;

/** A lock in a circle: the tab shows which page guards the device. */
const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="#1f5fbf"/><rect x="10" y="14" width="12" height="10" rx="2" fill="#fff"/><path d="M12 14v-3a4 4 0 0 1 8 0v3" fill="none" stroke="#fff" stroke-width="2.5"/></svg>
`;

export const STYLES_CSS = `:root {
  color-scheme: light dark;
  --bg: #f6f7f9;
  --fg: #1c1f24;
  --muted: #5b6470;
  --card: #ffffff;
  --line: #d9dde3;
  --accent: #1f5fbf;
  --ok: #1e7b3a;
  --wait: #a05a00;
  --danger: #b3261e;
  --code-bg: #eef1f5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  line-height: 1.45;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15171b;
    --fg: #e6e8eb;
    --muted: #9aa3ad;
    --card: #1e2126;
    --line: #343a42;
    --accent: #7fb0ff;
    --ok: #5fd07f;
    --wait: #f0b35a;
    --danger: #ff8a80;
    --code-bg: #2a2e35;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
.top, main { max-width: 46rem; margin: 0 auto; padding: 0 1rem; }
.top { padding-top: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .75rem; }
h3 { font-size: 1rem; margin: .75rem 0 .25rem; }
.device-name { color: var(--muted); font-weight: normal; }
.lead, .muted { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .6rem; padding: 1rem 1.25rem; }
section.card h2 { margin-top: 0; }
#ask { margin-top: 1.5rem; }
.field { margin-bottom: .9rem; }
label { display: block; font-weight: 600; margin-bottom: .3rem; }
input, textarea, select { width: 100%; font: inherit; padding: .5rem .6rem; border: 1px solid var(--line); border-radius: .4rem; background: var(--bg); color: var(--fg); }
button { font: inherit; padding: .5rem 1rem; border-radius: .4rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button:disabled { opacity: .6; cursor: progress; }
button.copy { background: transparent; color: var(--accent); padding: .3rem .7rem; }
button.danger { background: var(--danger); border-color: var(--danger); margin-top: .75rem; }
.problem { background: var(--danger); color: #fff; padding: .6rem .9rem; border-radius: .4rem; }
.field-error { color: var(--danger); margin: .3rem 0 0; }
.tunnels { list-style: none; padding: 0; margin: 0; display: grid; gap: 1rem; }
.tunnel.new { border-color: var(--accent); box-shadow: 0 0 0 2px var(--accent); }
.status { margin: 0 0 .5rem; font-size: 1.1rem; font-weight: 600; display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; }
.badge { font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; padding: .15rem .5rem; border-radius: 1rem; border: 1px solid currentColor; }
.tunnel[data-status="waiting"] .badge, .tunnel[data-status="connecting"] .badge { color: var(--wait); }
.tunnel[data-status="connected"] .badge { color: var(--ok); }
.tunnel[data-status="ending"] .badge, .tunnel[data-status="ended"] .badge { color: var(--muted); }
.description { margin: 0 0 .5rem; font-style: italic; overflow-wrap: anywhere; }
.codes { background: var(--code-bg); border-radius: .5rem; padding: .75rem 1rem; margin: .5rem 0 .75rem; }
.codes-hint { margin: 0 0 .5rem; color: var(--muted); }
.code-row { display: grid; grid-template-columns: 1fr auto; gap: .2rem .75rem; align-items: center; margin-bottom: .6rem; }
.code-label { font-weight: 600; grid-column: 1 / -1; }
.code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 1.3rem; letter-spacing: .02em; overflow-wrap: anywhere; }
.code.key { display: flex; flex-wrap: wrap; column-gap: .5em; }
.code .group { white-space: nowrap; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.in-session ul, .sessions ul, .timeline ol { margin: .25rem 0; padding-left: 1.25rem; }
details { margin-top: .6rem; }
summary { cursor: pointer; color: var(--accent); }
.player { margin-top: 1rem; }
.offscreen { position: fixed; left: -9999px; top: 0; }
@media (max-width: 32rem) {
  .code { font-size: 1.15rem; }
}
`;
