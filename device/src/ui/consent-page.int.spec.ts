// The consent page in real Chromium against fake services: what each kind of
// tunnel looks like, the copy buttons, the session record's timeline and replay,
// the login form. The lab end to end (consent-page.e2e.spec.ts) drives the real device.
import * as assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { ApiUnreachableError } from "@support-tunnel/common";
import { requirePrerequisite } from "@support-tunnel/testkit";
import { launchChromium, missingChromium, type Chromium } from "../test/chromium";
import {
  CONNECTED_ID,
  ENDED_ID,
  FakeConsentServices,
  FakeRecordedConsentServices,
  sampleTunnels,
  SAMPLE_KEY,
  WAITING_ID,
} from "../test/fake-consent-services";
import { startConsentServer, type RunningConsentServer } from "./consent-server";
import { parseListenAddress } from "./listen-address";
import { hashPassword } from "./password";

describe("the consent page in Chromium (fake services)", function () {
  this.timeout(60_000);
  let browser: Chromium | undefined;
  let server: RunningConsentServer | undefined;
  let services: FakeConsentServices;
  let page: Page;
  let problems: string[];

  before(async function () {
    requirePrerequisite(this, missingChromium());
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await page?.close();
    await server?.close();
    server = undefined;
  });

  async function open(fake: FakeConsentServices, passwordHash?: string): Promise<void> {
    services = fake;
    server = await startConsentServer({
      services,
      listen: parseListenAddress("127.0.0.1:0"),
      passwordHash,
      deviceName: "kiosk-7",
      log: () => {},
    });
    page = await browser!.context.newPage();
    problems = [];
    page.on("pageerror", (err) => problems.push(err.message));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    await page.goto(server.url);
  }

  function card(id: string) {
    return page.locator(`.tunnel[data-tunnel-id="${id}"]`);
  }

  it("shows each tunnel in the customer's words, with relative times", async () => {
    await open(new FakeConsentServices());
    await card(ENDED_ID).waitFor();
    assert.match(await card(WAITING_ID).locator(".facts").innerText(), /Ends\s+in 1 h 12 min/);
    // Connected 50 min ago: shortly after midnight that was yesterday, and the page names the day.
    assert.match(
      await card(CONNECTED_ID).locator(".headline").innerText(),
      /^Connected as alice \(ticket ABC-123\) since (?:[A-Z][a-z]+ \d+, )?\d/,
    );
    assert.match(
      await card(CONNECTED_ID).locator(".in-session").innerText(),
      /In a session right now\s+alice, shell, since/,
    );
    assert.equal(await card(ENDED_ID).locator(".headline").innerText(), "Stopped by you");
    assert.equal(await page.locator("#ended-list .tunnel").count(), 1);
    assert.equal(await card(ENDED_ID).getByRole("button").count(), 0, "nothing to stop");
    assert.equal(await page.title(), "Remote support on kiosk-7");
    assert.deepEqual(problems, []);
  });

  it("shows the key in groups and copies it whole", async () => {
    await open(new FakeConsentServices());
    await browser!.context.grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: new URL(server!.url).origin,
    });
    const waiting = card(WAITING_ID);
    await waiting.waitFor();
    assert.equal(await waiting.locator(".key .group").count(), 11);
    assert.equal(await waiting.locator(".key").textContent(), SAMPLE_KEY);
    const clipboard = () => page.evaluate<string>("navigator.clipboard.readText()");
    await waiting.getByRole("button", { name: "Copy" }).nth(1).click();
    assert.equal(await clipboard(), SAMPLE_KEY);
    await waiting.getByRole("button", { name: "Copy both" }).click();
    assert.equal(await clipboard(), `tunnel id: ${WAITING_ID}\npreshared key: ${SAMPLE_KEY}`);
  });

  it("stops a tunnel with its button and moves it to the ended ones", async () => {
    await open(new FakeConsentServices());
    await card(CONNECTED_ID).getByRole("button", { name: "Stop support access" }).click();
    await page.locator(`#ended-list .tunnel[data-tunnel-id="${CONNECTED_ID}"]`).waitFor();
    assert.ok(services.calls.includes(`stop ${CONNECTED_ID}`));
    assert.equal(await card(CONNECTED_ID).locator(".headline").innerText(), "Stopped by you");
  });

  it("says why a request failed, beside the form", async () => {
    const fake = new FakeConsentServices();
    fake.tunnels = [];
    fake.failure = new ApiUnreachableError("api at http://api.test unreachable: ECONNREFUSED");
    await open(fake);
    await page.getByRole("button", { name: "Request support" }).click();
    const error = page.locator('[data-error-for="body"]');
    await error.waitFor();
    assert.match(await error.innerText(), /support service cannot be reached/);
    assert.deepEqual(services.requests, []);
  });

  it("sends the chosen duration and description, and shows the new tunnel", async () => {
    const fake = new FakeConsentServices();
    fake.tunnels = [];
    await open(fake);
    await page.getByLabel("What is the problem?").fill("scanner offline");
    await page.getByLabel("Support may stay for").selectOption("1800");
    fake.tunnels = [sampleTunnels()[0]!];
    await page.getByRole("button", { name: "Request support" }).click();
    await card(WAITING_ID).waitFor();
    assert.deepEqual(fake.requests, [{ description: "scanner offline", ttlSeconds: 1800 }]);
    assert.equal(await page.getByLabel("What is the problem?").inputValue(), "", "form reset");
  });

  it("shows the timeline and the sessions, and replays a recording in the bundled player", async () => {
    await open(new FakeRecordedConsentServices());
    const ended = card(ENDED_ID);
    await ended.locator("summary", { hasText: "Timeline" }).click();
    await ended.getByText("alice ran: systemctl restart cups (exit 0, 0.4 s)").waitFor();
    await ended.locator("summary", { hasText: "Sessions" }).click();
    await ended.getByText(/alice ran: systemctl restart cups \(exit 0\)/).waitFor();
    const [replay] = await Promise.all([
      page.context().waitForEvent("page"),
      ended.getByRole("link", { name: "Replay" }).click(),
    ]);
    const replayProblems: string[] = [];
    replay.on("console", (m) => {
      if (m.type() === "error") replayProblems.push(m.text());
    });
    await replay.waitForLoadState();
    await replay.locator(".ap-player").waitFor();
    await replay.getByText("REPLAYED-OUTPUT").waitFor({ timeout: 20_000 });
    assert.deepEqual(replayProblems, []);
    await replay.close();
  });

  it("asks for the password when one is set, and shows the tunnels after it", async () => {
    await open(new FakeConsentServices(), await hashPassword("correct horse battery"));
    await page.getByLabel("Password of this page").fill("wrong guess");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("wrong password").waitFor();
    assert.equal(await page.locator("#app").isVisible(), false);
    await page.getByLabel("Password of this page").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in" }).click();
    await card(WAITING_ID).waitFor();
    assert.ok(services.calls.includes("list"));
  });
});
