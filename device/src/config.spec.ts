import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadSettings, parseDuration } from "./config";
import { renderHook } from "./hooks";

describe("loadSettings", () => {
  let dir: string;
  const me = { ownerUid: process.getuid?.() ?? 0 };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "device-config-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(name: string, content: string, mode = 0o644): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    fs.chmodSync(file, mode);
    return file;
  }

  it("takes flags over the environment over the file", async () => {
    const config = write(
      "device.json",
      JSON.stringify({ apiUrl: "http://file.test", ttlSeconds: 3600 }),
    );
    const sut = await loadSettings(
      { config },
      { SUPPORT_API_URL: "http://env.test", SUPPORT_STATE_DIR: "/tmp/s" },
      me,
    );
    assert.equal(sut.apiUrl, "http://env.test");
    assert.equal(sut.stateDir, "/tmp/s");
    assert.equal(sut.ttlSeconds, 3600);
    const flagged = await loadSettings(
      { config, api: "http://flag.test" },
      { SUPPORT_API_URL: "http://env.test" },
      me,
    );
    assert.equal(flagged.apiUrl, "http://flag.test");
  });

  it("accepts a missing default config file but not a missing named one", async () => {
    const none = path.join(dir, "absent.json");
    await assert.rejects(loadSettings({ config: none }, {}, me), /absent\.json: ENOENT/);
  });

  it("refuses a config file others can write, naming it", async () => {
    const config = write("device.json", "{}", 0o666);
    await assert.rejects(
      loadSettings({ config }, {}, me),
      new RegExp(`refusing config file ${config}: writable by group or others`),
    );
  });

  it("refuses a config file owned by someone else", async () => {
    const config = write("device.json", "{}");
    await assert.rejects(loadSettings({ config }, {}, { ownerUid: 4242 }), /owned by uid/);
  });

  it("names the bad field", async () => {
    const config = write(
      "device.json",
      JSON.stringify({ ttlSeconds: 5, hooks: { preUp: ["relative"] } }),
    );
    await assert.rejects(
      loadSettings({ config }, {}, me),
      /ttlSeconds: must be at least 60 seconds.*hooks\.preUp: must start with an absolute path/,
    );
  });

  it("reads the consent page's settings, naming a bad one", async () => {
    const ui = {
      listen: "127.0.0.1:7481",
      passwordHash: `$scrypt$ln=15,r=8,p=1$${"A".repeat(22)}$${"B".repeat(43)}`,
      hostNames: ["kiosk-7.local"],
    };
    const config = write("device.json", JSON.stringify({ ui }));
    assert.deepEqual((await loadSettings({ config }, {}, me)).ui, ui);
    const bad = write(
      "bad.json",
      JSON.stringify({ ui: { listen: "everywhere", passwordHash: "hunter2" } }),
    );
    await assert.rejects(
      loadSettings({ config: bad }, {}, me),
      /ui\.listen: must be an IP address and port.*ui\.passwordHash: must be a hash printed by/,
    );
  });

  it("refuses a hook program others can write", async () => {
    const hook = write("hook.sh", "#!/bin/sh\n", 0o777);
    const config = write("device.json", JSON.stringify({ hooks: { postUp: [hook, "{id}"] } }));
    await assert.rejects(
      loadSettings({ config }, {}, me),
      /refusing hook .*hook\.sh: writable by group or others/,
    );
  });

  it("keeps the session record in the log dir of the flag, the environment or the file, 90 days by default", async () => {
    const config = write(
      "device.json",
      JSON.stringify({ logDir: "/srv/support/log", sessionRetentionDays: 30 }),
    );
    const fromFile = await loadSettings({ config }, {}, me);
    assert.equal(fromFile.logDir, "/srv/support/log");
    assert.equal(fromFile.sessionRetentionDays, 30);
    assert.equal(
      (await loadSettings({ config }, { SUPPORT_LOG_DIR: "/l/env" }, me)).logDir,
      "/l/env",
    );
    assert.equal(
      (await loadSettings({ config, logDir: "/l/flag" }, { SUPPORT_LOG_DIR: "/l/env" }, me)).logDir,
      "/l/flag",
    );
    const defaults = await loadSettings({ config: write("empty.json", "{}") }, {}, me);
    assert.equal(defaults.logDir, "/var/log/support-tunnel");
    assert.equal(defaults.sessionRetentionDays, 90);
  });

  it("refuses a log dir that would mean more than a path in sudoers or authorized_keys", async () => {
    const config = write("device.json", JSON.stringify({ logDir: '/var/log/x" ALL' }));
    await assert.rejects(loadSettings({ config }, {}, me), /logDir: must be an absolute path/);
    await assert.rejects(
      loadSettings({ config: write("e.json", "{}") }, { SUPPORT_LOG_DIR: "relative/dir" }, me),
      /log dir must be an absolute path/,
    );
  });
});

describe("parseDuration", () => {
  it("reads seconds, minutes, hours and days", () => {
    assert.deepEqual(
      ["90", "90s", "45m", "2h", "1d"].map(parseDuration),
      [90, 90, 2700, 7200, 86400],
    );
  });
  it("refuses anything else", () => {
    assert.throws(() => parseDuration("2 weeks"), /not a duration/);
  });
});

describe("renderHook", () => {
  it("fills each argument separately, so a value cannot add an argument or a command", () => {
    const sut = renderHook(["/bin/hook", "--iface={interface}", "{user}"], {
      id: "x",
      interface: "std0123",
      address: "10.0.0.1",
      subnet: "10.0.0.0/30",
      user: "a b; rm -rf /",
    });
    assert.deepEqual(sut, ["/bin/hook", "--iface=std0123", "a b; rm -rf /"]);
  });
});
