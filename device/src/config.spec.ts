import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ValidationError } from "@support-tunnel/common";
import { compareChecks, type CheckRow } from "@support-tunnel/testkit";
import { checkDeviceConfig, loadSettings, parseDuration } from "./config";
import { deviceConfigSchema } from "./config-schema";
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

describe("the config file's hand check", () => {
  const HASH = `$scrypt$ln=15,r=8,p=1$${"A".repeat(22)}$${"B".repeat(43)}`;
  const good = (): Record<string, unknown> => ({
    apiUrl: "https://support.example.com",
    enrollmentSecret: "s3cret",
    description: "the lobby kiosk",
    ttlSeconds: 3600,
    hooks: { preUp: ["/usr/local/bin/up", "{id}"], postDown: ["/bin/true"] },
    hookTimeoutSeconds: 30,
    ui: { listen: "127.0.0.1:7480", passwordHash: HASH, hostNames: ["kiosk-7.local"] },
    logDir: "/var/log/support-tunnel",
    sessionRetentionDays: 90,
  });
  const set = (key: string, value: unknown) => (v: Record<string, unknown>) => ({
    ...v,
    [key]: value,
  });
  const inside = (outer: string, key: string, value: unknown) => (v: Record<string, unknown>) => ({
    ...v,
    [outer]: { ...(v[outer] as object), [key]: value },
  });
  const rows: CheckRow[] = [
    ["a good config", (v) => v],
    ["an empty config", () => ({})],
    ["not an object", () => "config"],
    ["null", () => null],
    ["an array", () => []],
    ["an unknown field", set("extra", 1)],
    ...Object.keys(good()).flatMap((key): CheckRow[] => [
      [`${key} absent`, set(key, undefined)],
      [`${key} null`, set(key, null)],
      [`${key} a number`, set(key, 7)],
      [`${key} a fraction`, set(key, 7.5)],
      [`${key} an object`, set(key, {})],
      [`${key} empty`, set(key, "")],
      [`${key} a list`, set(key, [])],
      [`${key} true`, set(key, true)],
    ]),
    ["apiUrl with spaces (trimmed)", set("apiUrl", "  http://api.test:8080/x  ")],
    ["apiUrl not a URL", set("apiUrl", "api.test")],
    ["enrollmentSecret 512", set("enrollmentSecret", "s".repeat(512))],
    ["enrollmentSecret 513", set("enrollmentSecret", "s".repeat(513))],
    ["description 500", set("description", "d".repeat(500))],
    ["description 501", set("description", "d".repeat(501))],
    ["description with an escape", set("description", "a\u001b[2Jb")],
    ["description with a bidi control", set("description", "a\u202eb")],
    ["ttlSeconds 59", set("ttlSeconds", 59)],
    ["ttlSeconds 60", set("ttlSeconds", 60)],
    ["ttlSeconds 7 days", set("ttlSeconds", 7 * 24 * 3600)],
    ["ttlSeconds over 7 days", set("ttlSeconds", 7 * 24 * 3600 + 1)],
    ["ttlSeconds a string", set("ttlSeconds", "3600")],
    ["ttlSeconds huge", set("ttlSeconds", 2 ** 60)],
    ["hooks an unknown hook", inside("hooks", "preStart", ["/bin/true"])],
    ["hooks a relative program", inside("hooks", "preUp", ["up.sh"])],
    ["hooks an empty argv", inside("hooks", "preUp", [])],
    ["hooks an empty argument", inside("hooks", "preUp", ["/bin/x", ""])],
    ["hooks an argument not a string", inside("hooks", "preUp", ["/bin/x", 1])],
    ["hooks a string", inside("hooks", "preUp", "/bin/x")],
    ["hooks null", inside("hooks", "preUp", null)],
    ["hookTimeoutSeconds 0", set("hookTimeoutSeconds", 0)],
    ["hookTimeoutSeconds 3600", set("hookTimeoutSeconds", 3600)],
    ["hookTimeoutSeconds 3601", set("hookTimeoutSeconds", 3601)],
    ["ui listen bad", inside("ui", "listen", "everywhere")],
    ["ui listen a port alone", inside("ui", "listen", "7480")],
    ["ui listen IPv6", inside("ui", "listen", "[::1]:7480")],
    ["ui passwordHash plain", inside("ui", "passwordHash", "hunter2")],
    ["ui passwordHash too cheap", inside("ui", "passwordHash", HASH.replace("ln=15", "ln=10"))],
    ["ui passwordHash too dear", inside("ui", "passwordHash", HASH.replace("p=1", "p=17"))],
    ["ui hostNames bad", inside("ui", "hostNames", ["bad host"])],
    [
      "ui hostNames 16",
      inside(
        "ui",
        "hostNames",
        Array.from({ length: 16 }, (_, i) => `h${i}`),
      ),
    ],
    [
      "ui hostNames 17",
      inside(
        "ui",
        "hostNames",
        Array.from({ length: 17 }, (_, i) => `h${i}`),
      ),
    ],
    ["ui an unknown field", inside("ui", "port", 1)],
    ["logDir relative", set("logDir", "var/log")],
    ["logDir with ..", set("logDir", "/var/../etc")],
    ["logDir with a quote", set("logDir", '/var/log/x" ALL')],
    ["sessionRetentionDays 0", set("sessionRetentionDays", 0)],
    ["sessionRetentionDays 3650", set("sessionRetentionDays", 3650)],
    ["sessionRetentionDays 3651", set("sessionRetentionDays", 3651)],
  ];

  it("accepts and refuses what deviceConfigSchema does, with the same output", () => {
    compareChecks(
      rows,
      good,
      (v) => deviceConfigSchema.safeParse(v),
      checkDeviceConfig,
      (err) => err instanceof ValidationError,
    );
  });

  it("can fail: a check that takes what the schema refuses is caught", () => {
    assert.throws(() =>
      compareChecks(
        rows,
        good,
        (v) => deviceConfigSchema.safeParse(v),
        (v) => v,
        (err) => err instanceof ValidationError,
      ),
    );
  });
});
