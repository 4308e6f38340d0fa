// The consent page end to end, as a customer and an engineer use it: real
// Chromium opens the page `support-device ui` serves on a lab device behind NAT
// (the api on PostgreSQL), the customer asks for support and reads the codes off
// the page, the engineer approves with the real `support create --provider
// netns`, the page shows support connected, and its Stop button cuts them off.
// Set SUPPORT_TUNNEL_SCREENSHOTS=<dir> to keep the page's screenshots there.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { execa, type ResultPromise } from "execa";
import type { Page } from "playwright-core";
import { interfaceName } from "@support-tunnel/common";
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
  let configPath: string;
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
    configPath = path.join(tmp, "engineer", "admin.json");
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
    // The token goes on stdin: `support login` refuses it in argv, where `ps` sees it.
    const login = await support(
      [
        "login",
        "--api",
        api.url,
        "--with-token",
        "--identity",
        path.join(tmp, "engineer", "id_ed25519"),
        "--lab",
        lab.name,
      ],
      `${token}\n`,
    );
    assert.equal(login.exitCode, 0, login.stderr);

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

  function support(args: string[], input = "") {
    return execa(process.execPath, [SUPPORT_BIN, ...args], {
      env: { SUPPORT_ADMIN_CONFIG: configPath },
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

  /** `support-device list --json` on the device: what its state holds. */
  async function deviceTunnels(): Promise<string[]> {
    const listed = await device.exec(process.execPath, [DEVICE_BIN, "list", "--json"]);
    assert.equal(listed.exitCode, 0, listed.stderr);
    return (JSON.parse(listed.stdout) as { tunnels: { tunnelId: string }[] }).tunnels.map(
      (t) => t.tunnelId,
    );
  }

  describe("a customer asks for support on the page, sees it connected, and stops it", () => {
    let tunnelId: string;
    let key: string;
    let supportUser: string;

    it("asks with the form and shows the tunnel id and key to send", async () => {
      await page.goto(PAGE);
      await page.getByText("No support access is open on this device.").waitFor();
      await page.getByLabel("What is the problem?").fill("The printer queue is stuck");
      await page.getByLabel("Support may stay for").selectOption("3600");
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
      assert.match(await card.locator(".facts").innerText(), /Ends\s+in (59|60) min|in 1 h/);
      supportUser = /support[0-9a-f]{8}/.exec(await card.locator(".facts").innerText())![0];
      assert.deepEqual(await deviceTunnels(), [tunnelId]);
      await screenshot("waiting");
    });

    it("shows support connected once the engineer approves with the codes from the page", async () => {
      const created = await support(
        ["create", tunnelId, "--provider", "netns", "--psk", "-"],
        `${key}\n`,
      );
      assert.equal(created.exitCode, 0, `${created.stderr}\nui said:\n${uiOutput}`);
      const card = page.locator(`.tunnel[data-tunnel-id="${tunnelId}"][data-status="connected"]`);
      await card.waitFor({ timeout: 60_000 });
      assert.match(
        await card.locator(".headline").innerText(),
        new RegExp(`^Connected as ${supportUser} since \\d`),
      );
      assert.equal(await card.locator(".codes").isVisible(), false, "the key is not shown now");
      const id = await support(["command", tunnelId, "--", "id", "-u"]);
      assert.equal(id.stdout.trim(), "0", id.stderr);
      await screenshot("connected");
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
      assert.deepEqual(pageProblems, [], "the page logged no errors");
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
