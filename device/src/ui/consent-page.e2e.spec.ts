// The consent page end to end, as a customer and an engineer use it: real
// Chromium opens the page `support-device ui` serves on a lab device behind NAT
// (the api on PostgreSQL), the customer asks for support for one engineer and a
// ticket and reads the codes off the page; another engineer's approval, and one
// before the start the customer chose, are refused with nothing made; the allowed
// engineer approves with the real `support create --provider netns`, the page
// shows them connected, they run a command and a shell (the page and `support
// show` see them in), the customer's `log` and the page's timeline and replay show
// both, and the page's Stop button cuts them off.
// Set SUPPORT_TUNNEL_SCREENSHOTS=<dir> to keep the page's screenshots there.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { execa, type ResultPromise } from "execa";
import type { Page } from "playwright-core";
import { interfaceName, SupportApiClient } from "@support-tunnel/common";
import {
  createLab,
  missingLab,
  REPO_ROOT,
  startApiProcess,
  type ApiProcess,
  type Lab,
  type LabHost,
} from "@support-tunnel/lab";
import {
  createTestDatabase,
  missingPostgres,
  requirePrerequisite,
  waitFor,
  type TestDatabase,
} from "@support-tunnel/testkit";
import { launchChromium, missingChromium, type Chromium } from "../test/chromium";

const DEVICE_BIN = path.join(REPO_ROOT, "device", "dist", "bin.js");
const SUPPORT_BIN = path.join(REPO_ROOT, "admin", "dist", "bin.js");
const PAGE = "http://127.0.0.1:7480/";
const SCREENSHOTS = process.env.SUPPORT_TUNNEL_SCREENSHOTS;

describe("the consent page in the lab, in Chromium", function () {
  this.timeout(180_000);
  let lab: Lab | undefined;
  let device: LabHost;
  let db: TestDatabase | undefined;
  let api: ApiProcess | undefined;
  let tmp: string;
  /** The engineers' CLI configs: alice (the customer allows her) and bob (not allowed). */
  let configPath: string;
  let bobConfigPath: string;
  let ui: ResultPromise | undefined;
  let uiOutput = "";
  let browser: Chromium | undefined;
  let page: Page;
  let pageProblems: string[];

  before(async function () {
    this.timeout(240_000);
    requirePrerequisite(this, missingLab() ?? missingChromium());
    requirePrerequisite(this, await missingPostgres());
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "consent-page-e2e-"));
    configPath = path.join(tmp, "alice", "admin.json");
    bobConfigPath = path.join(tmp, "bob", "admin.json");
    lab = await createLab();
    device = await lab.addHost("device", { behindNat: true });
    await device.startSshd();
    db = await createTestDatabase();
    const token = `ste_${randomBytes(32).toString("base64url")}`;
    api = await startApiProcess({
      databaseUrl: db.url,
      host: lab.rootAddress,
      env: { SUPPORT_BOOTSTRAP_TOKEN: token },
    });
    const admin = new SupportApiClient({ baseUrl: api.url, token, retries: 0 });
    for (const [name, config] of [
      ["alice", configPath],
      ["bob", bobConfigPath],
    ] as const) {
      const created = await admin.createEngineer({ name, role: "operator" });
      // The token goes on stdin: `support login` refuses it in argv, where `ps` sees it.
      const login = await support(
        [
          "login",
          "--api",
          api.url,
          "--with-token",
          "--identity",
          path.join(path.dirname(config), "id_ed25519"),
          "--lab",
          lab.name,
        ],
        `${created.token}\n`,
        config,
      );
      assert.equal(login.exitCode, 0, login.stderr);
    }

    ui = device.spawn(process.execPath, [DEVICE_BIN, "ui", "--listen", "127.0.0.1:7480"], {
      env: { SUPPORT_API_URL: api.url },
      stdin: "ignore",
      all: true,
      buffer: false,
    });
    ui.all?.on("data", (d: Buffer) => (uiOutput += d.toString()));
    await waitFor(() => uiOutput.includes(`consent page: ${PAGE}`), "the consent page", 30_000);

    // In the device's network namespace, where the page listens on loopback; rebind.test
    // is a foreign name that resolves to it, as a DNS rebinding attack makes one.
    browser = await launchChromium({
      netnsOfPid: device.holderPid,
      hostResolverRules: "MAP rebind.test 127.0.0.1",
    });
    page = await browser.context.newPage();
    pageProblems = [];
    page.on("pageerror", (err) => pageProblems.push(err.message));
    page.on("console", (m) => {
      if (m.type() === "error") pageProblems.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    ui?.kill("SIGTERM");
    await Promise.resolve(ui).catch(() => undefined);
    await api?.stop();
    await lab?.destroy();
    await db?.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  function support(args: string[], input = "", config = configPath) {
    return execa(process.execPath, [SUPPORT_BIN, ...args], {
      env: { SUPPORT_ADMIN_CONFIG: config },
      input,
      timeout: 150_000,
      reject: false,
    });
  }

  async function screenshot(name: string): Promise<void> {
    if (!SCREENSHOTS) return;
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  function hostNames(): string[] {
    return lab!.hosts().map((h) => h.name);
  }

  /** `support-device list --json` on the device: what its state holds. */
  async function deviceTunnels(): Promise<string[]> {
    const listed = await device.exec(process.execPath, [DEVICE_BIN, "list", "--json"]);
    assert.equal(listed.exitCode, 0, listed.stderr);
    return (JSON.parse(listed.stdout) as { tunnels: { tunnelId: string }[] }).tunnels.map(
      (t) => t.tunnelId,
    );
  }

  describe("a customer asks for support on the page, sees who is in and what they did, and stops it", () => {
    let tunnelId: string;
    let key: string;
    let supportUser: string;

    it("asks with the form, for alice and a ticket, and shows the tunnel id and key to send", async () => {
      await page.goto(PAGE);
      await page.getByText("No support access is open on this device.").waitFor();
      await page.getByLabel("What is the problem?").fill("The printer queue is stuck");
      await page.getByLabel("Support case (ticket)").fill("ABC-123");
      await page.getByLabel("Support may stay for").selectOption("3600");
      await page.getByLabel("Only these engineers").fill("alice");
      await screenshot("request-form");
      await page.getByRole("button", { name: "Request support" }).click();

      const card = page.locator('#live-list .tunnel[data-status="waiting"]');
      await card.waitFor();
      tunnelId = (await card.locator(".tunnel-id").textContent())!.trim();
      key = (await card.locator(".key").textContent())!.trim();
      assert.match(tunnelId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.match(key, /^[A-Za-z0-9+/]{43}=$/);
      assert.match(await card.locator(".headline").innerText(), /Waiting for support to approve/);
      assert.match(await card.innerText(), /The printer queue is stuck/);
      const facts = await card.locator(".facts").innerText();
      assert.match(facts, /Ends\s+in (59|60) min|in 1 h/);
      assert.match(facts, /Ticket\s+ABC-123/);
      assert.match(facts, /Only for\s+alice/);
      supportUser = /support[0-9a-f]{8}/.exec(facts)![0];
      assert.deepEqual(await deviceTunnels(), [tunnelId]);
      await screenshot("waiting");
    });

    it("refuses bob's approval (exit 3): the customer allowed only alice; nothing is made", async () => {
      const refused = await support(
        ["create", tunnelId, "--provider", "netns", "--psk", "-"],
        `${key}\n`,
        bobConfigPath,
      );
      assert.equal(refused.exitCode, 3, refused.stderr);
      assert.match(refused.stderr, /alice/);
      assert.equal(
        (await support(["show", tunnelId, "--json"])).stdout.includes('"pending"'),
        true,
      );
      assert.deepEqual(hostNames(), ["device"], "no tunnel server was made");
      assert.equal((await device.exec("id", [supportUser])).exitCode, 1, "no support user");
      const card = page.locator(`.tunnel[data-tunnel-id="${tunnelId}"]`);
      assert.equal(await card.getAttribute("data-status"), "waiting");
    });

    it("shows alice connected, with the ticket, once she approves with the codes from the page", async () => {
      const created = await support(
        ["create", tunnelId, "--provider", "netns", "--psk", "-"],
        `${key}\n`,
      );
      assert.equal(created.exitCode, 0, `${created.stderr}\nui said:\n${uiOutput}`);
      const card = page.locator(`.tunnel[data-tunnel-id="${tunnelId}"][data-status="connected"]`);
      await card.waitFor({ timeout: 60_000 });
      assert.match(
        await card.locator(".headline").innerText(),
        /^Connected as alice \(ticket ABC-123\) since (?:[A-Z][a-z]+ \d+, )?\d/,
      );
      assert.match(await card.locator(".facts").innerText(), /Approved by\s+alice/);
      assert.equal(await card.locator(".codes").isVisible(), false, "the key is not shown now");
    });

    it("sees alice run a command, and sees her in a shell while it is open (so does support show)", async () => {
      const ran = await support([
        "command",
        tunnelId,
        "--",
        "printf",
        "%s\\n",
        "e2e-command-output",
      ]);
      assert.equal(ran.exitCode, 0, ran.stderr);
      assert.equal(ran.stdout, "e2e-command-output"); // execa drops the final newline

      const argv = [process.execPath, SUPPORT_BIN, "connect", tunnelId];
      const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
      const shell = execa("script", ["-qfec", quoted, "/dev/null"], {
        env: { SUPPORT_ADMIN_CONFIG: configPath, TERM: "xterm" },
        stdin: "pipe",
        reject: false,
        timeout: 90_000,
      });
      let output = "";
      shell.stdout?.on("data", (d: Buffer) => (output += d.toString()));
      try {
        await waitFor(() => /[#$] ?$/.test(output.trimEnd() + " "), "a shell prompt", 30_000);
        shell.stdin?.write("echo typed-in-shell-$((2+3))\n");
        await waitFor(() => output.includes("typed-in-shell-5"), "the shell's answer", 30_000);
        const card = page.locator(`.tunnel[data-tunnel-id="${tunnelId}"]`);
        await card
          .locator(".in-session li", { hasText: /^alice, shell, since (?:[A-Z][a-z]+ \d+, )?\d/ })
          .waitFor();
        const shown = await support(["show", tunnelId]);
        assert.match(shown.stdout, /^state: +connected$/m, shown.stdout);
        assert.match(shown.stdout, /^in now: +alice$/m, shown.stdout);
        await screenshot("connected");
      } finally {
        shell.stdin?.write("exit\n");
      }
      const ended = await shell;
      assert.equal(ended.exitCode, 0, output);
      const card = page.locator(`.tunnel[data-tunnel-id="${tunnelId}"]`);
      await card.locator(".in-session").waitFor({ state: "hidden" });
      const listed = await support(["list"]);
      assert.match(listed.stdout, new RegExp(`^${tunnelId} +connected +- `, "m"), listed.stdout);
    });

    it("cuts support off with the Stop button: user, interface and state gone", async () => {
      const live = page.locator(`#live-list .tunnel[data-tunnel-id="${tunnelId}"]`);
      await live.getByRole("button", { name: "Stop support access" }).click();
      const ended = page.locator(`#ended-list .tunnel[data-tunnel-id="${tunnelId}"]`);
      await ended.waitFor();
      assert.equal(await ended.locator(".headline").innerText(), "Stopped by you");
      await page.getByText("No support access is open on this device.").waitFor();
      assert.equal((await device.exec("id", [supportUser])).exitCode, 1, "the user is gone");
      const iface = interfaceName(tunnelId, "device");
      assert.notEqual((await device.exec("ip", ["link", "show", iface])).exitCode, 0);
      assert.deepEqual(await deviceTunnels(), []);
      const after = await support(["command", tunnelId, "--", "true"]);
      assert.notEqual(after.exitCode, 0, "the engineer is out");
      await screenshot("stopped");
    });

    it("tells the customer what alice did: `log`, the page's timeline and its replay", async () => {
      const log = await device.exec(process.execPath, [DEVICE_BIN, "log", tunnelId]);
      assert.equal(log.exitCode, 0, log.stderr);
      assert.match(
        log.stdout,
        /requested by the customer: "The printer queue is stuck" \(ticket ABC-123, only for alice/,
      );
      assert.match(log.stdout, /approved by alice for ticket ABC-123/);
      assert.match(log.stdout, /alice ran: printf '%s\\n' e2e-command-output \(exit 0/);
      assert.match(log.stdout, /alice opened a shell \d\d:\d\d–\d\d:\d\d \(.*exit 0\)/);
      assert.match(log.stdout, /stopped by the customer/);

      const card = page.locator(`#ended-list .tunnel[data-tunnel-id="${tunnelId}"]`);
      await card.locator("details.timeline summary").click();
      await card.locator("details.timeline li", { hasText: "alice ran: printf" }).waitFor();
      await card.locator("details.timeline li", { hasText: "alice opened a shell" }).waitFor();
      await card.locator("details.sessions summary").click();
      const shellSession = card.locator("details.sessions li", { hasText: "alice opened a shell" });
      await shellSession.waitFor();
      await screenshot("timeline");

      const [replay] = await Promise.all([
        browser!.context.waitForEvent("page"),
        shellSession.getByRole("link", { name: "Replay" }).click(),
      ]);
      replay.on("console", (m) => {
        if (m.type() === "error") pageProblems.push(`replay: ${m.text()}`);
      });
      await replay.locator(".ap-player").waitFor();
      // What alice typed, and what the device answered, as she saw them.
      await replay.getByText("echo typed-in-shell-$((2+3))").first().waitFor({ timeout: 30_000 });
      await replay
        .getByText(/^typed-in-shell-5/)
        .first()
        .waitFor({ timeout: 30_000 });
      if (SCREENSHOTS) await replay.screenshot({ path: path.join(SCREENSHOTS, "replay.png") });
      await replay.close();

      const commandSession = card.locator("details.sessions li", { hasText: "alice ran: printf" });
      const [played] = await Promise.all([
        browser!.context.waitForEvent("page"),
        commandSession.getByRole("link", { name: "Replay" }).click(),
      ]);
      await played.getByText("e2e-command-output").first().waitFor({ timeout: 30_000 });
      await played.close();
      assert.deepEqual(pageProblems, [], "the page logged no errors");
    });

    it("refuses an approval before the start the customer chose on the page (exit 4), making nothing", async () => {
      await page.getByLabel("Support case (ticket)").fill("ABC-124");
      const inAnHour = new Date(Date.now() + 3600_000);
      const local = new Date(inAnHour.getTime() - inAnHour.getTimezoneOffset() * 60_000)
        .toISOString()
        .slice(0, 16);
      await page.getByLabel("Not before").fill(local);
      await page.getByRole("button", { name: "Request support" }).click();
      const card = page.locator('#live-list .tunnel[data-status="waiting"]');
      await card.waitFor();
      assert.match(await card.locator(".headline").innerText(), /opens in (59|60) min|in 1 h/);
      const laterId = (await card.locator(".tunnel-id").textContent())!.trim();
      const laterKey = (await card.locator(".key").textContent())!.trim();
      const hostsBefore = hostNames();
      const early = await support(
        ["create", laterId, "--provider", "netns", "--psk", "-"],
        `${laterKey}\n`,
      );
      assert.equal(early.exitCode, 4, early.stderr);
      assert.match(early.stderr, /opens at .* as the customer chose/);
      assert.deepEqual(hostNames(), hostsBefore, "no tunnel server was made");
      await card.getByRole("button", { name: "Cancel the request" }).click();
      await page.getByText("No support access is open on this device.").waitFor();
      assert.deepEqual(await deviceTunnels(), []);
    });
  });

  describe("another site cannot use the page", () => {
    it("refuses (403) a form posted from another origin's page, and creates nothing", async () => {
      const attacker = await browser!.context.newPage();
      await attacker.route("http://attacker.test/**", (route) =>
        route.fulfill({
          contentType: "text/html",
          body: `<form method="POST" action="${PAGE}api/tunnels" enctype="text/plain">
              <input name='{"description":"x","a":"' value='"}'><button>win a prize</button></form>`,
        }),
      );
      await attacker.goto("http://attacker.test/");
      const answer = attacker.waitForResponse((r) => r.url() === `${PAGE}api/tunnels`);
      await attacker.getByRole("button", { name: "win a prize" }).click();
      assert.equal((await answer).status(), 403);
      const viaFetch = attacker.waitForResponse((r) => r.url() === `${PAGE}api/tunnels`);
      await attacker.evaluate(async (url) => {
        await fetch(url, { method: "POST", mode: "no-cors", body: "{}" });
      }, `${PAGE}api/tunnels`);
      assert.equal((await viaFetch).status(), 403);
      await attacker.close();
      assert.deepEqual(await deviceTunnels(), []);
    });

    it("refuses (403) a page loaded under a foreign host name (DNS rebinding)", async () => {
      const rebound = await browser!.context.newPage();
      const answer = await rebound.goto("http://rebind.test:7480/");
      assert.equal(answer?.status(), 403);
      assert.match(await rebound.innerText("body"), /unknown host name/);
      await rebound.close();
    });
  });
});
