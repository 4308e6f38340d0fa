// End to end: a lying api puts terminal escapes, bidi overrides and invisible
// characters in every free-text field it answers with, and neither the
// engineer's `support` nor the customer's `support-device` lets one reach the
// terminal. The real binaries, the real api, and the rewriting proxy between them.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { SupportApiClient, type TunnelId } from "@support-tunnel/common";
import { requirePrerequisite } from "@support-tunnel/testkit";
import { execa } from "execa";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";
import { DEVICE_BIN, DemoWorld, SUPPORT_BIN } from "./demo";
import {
  answerWith,
  pathOf,
  startRewritingProxy,
  type ProxiedExchange,
  type RewritingProxy,
} from "./rewriting-proxy";

/** A window title escape, a right-to-left override, an isolate and a zero-width space. */
const HOSTILE = "kiosk\u001b]0;pwned\u0007 \u202egnp.exe\u2066\u200b";
/** How the CLIs show it: every character still there, as visible escapes. */
const SHOWN = "kiosk\\x1b]0;pwned\\x07 \\u202egnp.exe\\u2066\\u200b";

/**
 * What must never reach a terminal from the api: C0 (but the newlines and tabs
 * the CLIs write themselves), DEL, C1, bidi controls, zero-width characters.
 */
function isUnsafe(code: number): boolean {
  return (
    (code <= 0x1f && code !== 0x0a && code !== 0x09) ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x2069) ||
    code === 0xfeff
  );
}

function assertInert(what: string, output: string): void {
  for (const ch of output) {
    const code = ch.codePointAt(0)!;
    assert.ok(
      !isUnsafe(code),
      `${what} printed U+${code.toString(16).padStart(4, "0")}: ${JSON.stringify(output)}`,
    );
  }
}

describe("untrusted text from a lying api (lab)", function () {
  this.timeout(180_000);
  let world: DemoWorld;
  let device: LabHost;
  let proxy: RewritingProxy;
  let tunnelId: TunnelId;

  before(async function () {
    requirePrerequisite(this, missingLab());
    world = await DemoWorld.start();
    device = await world.lab.addHost("devtext", { behindNat: true });
    proxy = await startRewritingProxy({ upstream: world.api.url, host: world.lab.rootAddress });
    // The customer asks through the lying api; the engineer ends the tunnel on the real one.
    const requested = await supportDevice([
      "request",
      "--json",
      "--api",
      proxy.url,
      "--description",
      "printer queue is stuck",
    ]);
    assert.equal(requested.exitCode, 0, requested.stderr);
    tunnelId = (JSON.parse(requested.stdout) as { tunnelId: TunnelId }).tunnelId;
    const { token } = JSON.parse(fs.readFileSync(world.configPath, "utf8")) as { token: string };
    await new SupportApiClient({ baseUrl: world.api.url, token }).stopTunnel(tunnelId, "fixed");
  });

  after(async () => {
    await proxy?.close();
    await world?.stop();
  });

  function supportDevice(args: string[]) {
    return device.exec(process.execPath, [DEVICE_BIN, ...args], { timeoutMs: 60_000 });
  }

  /** `support ARGS` as the logged-in engineer, through the lying api. */
  async function support(args: string[]) {
    const result = await execa(process.execPath, [SUPPORT_BIN, ...args], {
      env: { SUPPORT_ADMIN_CONFIG: world.configPath, SUPPORT_API_URL: proxy.url },
      input: "",
      timeout: 60_000,
      reject: false,
    });
    return {
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      exitCode: result.exitCode ?? -1,
    };
  }

  /** Every free-text field of the engineer's answers, lied about. */
  function lieToTheEngineer(exchange: ProxiedExchange): unknown {
    const route = `${exchange.method} ${pathOf(exchange)}`;
    if (exchange.status !== 200) return undefined;
    if (route === `GET /v1/tunnels/${tunnelId}`) {
      return {
        ...(exchange.body as object),
        hostname: HOSTILE,
        description: HOSTILE,
        approvedBy: HOSTILE,
        stopReason: HOSTILE,
      };
    }
    if (route === `GET /v1/tunnels/${tunnelId}/audit`) {
      const { entries } = exchange.body as { entries: object[] };
      return {
        entries: entries.map((e) => ({
          ...e,
          actor: HOSTILE,
          detail: HOSTILE,
          clientAddress: HOSTILE,
        })),
      };
    }
    return undefined;
  }

  it("support show and support audit print what a lying api says as visible escapes, never as terminal codes", async () => {
    proxy.setRewrite(lieToTheEngineer);
    const shown = await support(["show", tunnelId]);
    assert.equal(shown.exitCode, 0, shown.stderr);
    assertInert("support show", shown.stdout + shown.stderr);
    for (const field of ["hostname", "description", "approved by", "stopped by"]) {
      assert.match(
        shown.stdout,
        new RegExp(`^${field}:.*${SHOWN.replace(/[\\.*?{}()[\]]/g, "\\$&")}`, "m"),
        `support show: ${field}`,
      );
    }
    const json = await support(["show", tunnelId, "--json"]);
    assert.equal(json.exitCode, 0, json.stderr);
    assertInert("support show --json", json.stdout + json.stderr);
    assert.equal((JSON.parse(json.stdout) as { description: string }).description, SHOWN);
    const audit = await support(["audit", tunnelId]);
    assert.equal(audit.exitCode, 0, audit.stderr);
    assertInert("support audit", audit.stdout + audit.stderr);
    assert.ok(audit.stdout.includes(SHOWN), audit.stdout);
  });

  it("support-device status and connect print what a lying api says as visible escapes, never as terminal codes", async () => {
    // An error answer made of hostile text: status shows the api's message.
    proxy.setRewrite((exchange) =>
      pathOf(exchange) === "/v1/device/tunnel"
        ? answerWith(409, { statusCode: 409, message: HOSTILE, field: HOSTILE })
        : undefined,
    );
    const status = await supportDevice(["status", tunnelId]);
    assert.equal(status.exitCode, 0, status.stderr);
    assertInert("support-device status", status.stdout + status.stderr);
    assert.ok(status.stdout.includes(SHOWN), status.stdout);

    // An ended tunnel whose stop reason is hostile text: connect tells the customer why.
    proxy.setRewrite((exchange) =>
      pathOf(exchange) === "/v1/device/tunnel" && exchange.status === 200
        ? { ...(exchange.body as object), stopReason: HOSTILE }
        : undefined,
    );
    const connect = await supportDevice(["connect", tunnelId]);
    assert.notEqual(connect.exitCode, 0, "connected to an ended tunnel");
    assertInert("support-device connect", connect.stdout + connect.stderr);
    assert.match(connect.stderr, /has ended \(completed: kiosk\\x1b\]0;pwned/);
  });
});
