import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readConfigFile, readEnvironment, resolveConfig, writeConfigFile } from "./config";

const TOKEN = "ste_" + "a".repeat(43);
const tty = { stdin: false, stderr: false };

describe("config", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-admin-config-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("lives under XDG_CONFIG_HOME, else ~/.config, unless SUPPORT_ADMIN_CONFIG says otherwise", () => {
    assert.equal(
      readEnvironment({ HOME: "/h", XDG_CONFIG_HOME: "/x" }, tty).configPath,
      "/x/support-tunnel/admin.json",
    );
    assert.equal(
      readEnvironment({ HOME: "/h" }, tty).configPath,
      "/h/.config/support-tunnel/admin.json",
    );
    assert.equal(
      readEnvironment({ HOME: "/h", SUPPORT_ADMIN_CONFIG: "/c.json" }, tty).configPath,
      "/c.json",
    );
  });

  it("writes the file 0600 in a 0700 directory and reads it back", async () => {
    const path = join(dir, "sub", "admin.json");
    await writeConfigFile(path, { apiUrl: "http://api.test", token: TOKEN });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "sub"))).mode & 0o777, 0o700);
    assert.deepEqual(await readConfigFile(path), { apiUrl: "http://api.test", token: TOKEN });
  });

  it("names the bad field of a hand-edited file", async () => {
    const path = join(dir, "admin.json");
    await writeFile(path, JSON.stringify({ apiUrl: "ftp://x", token: TOKEN }));
    await assert.rejects(readConfigFile(path), /apiUrl: must be an http or https URL/);
    await writeFile(path, JSON.stringify({ apiUrl: "http://x", token: "nope", extra: 1 }));
    await assert.rejects(
      readConfigFile(path),
      /token: must be an engineer token.*extra: is not an allowed field/,
    );
    await writeFile(path, "{not json");
    await assert.rejects(readConfigFile(path), /is not JSON/);
  });

  it("lets SUPPORT_API_URL and SUPPORT_TOKEN override the file", async () => {
    const path = join(dir, "admin.json");
    await writeConfigFile(path, { apiUrl: "http://file", token: TOKEN });
    const other = "ste_" + "b".repeat(43);
    const env = readEnvironment(
      {
        HOME: dir,
        SUPPORT_ADMIN_CONFIG: path,
        SUPPORT_API_URL: "http://env",
        SUPPORT_TOKEN: other,
      },
      tty,
    );
    const config = await resolveConfig(env);
    assert.equal(config.apiUrl, "http://env");
    assert.equal(config.token, other);
    assert.equal(JSON.parse(await readFile(path, "utf8")).apiUrl, "http://file");
  });

  it("is simply absent before login", async () => {
    const config = await resolveConfig(
      readEnvironment({ HOME: dir, SUPPORT_ADMIN_CONFIG: join(dir, "none.json") }, tty),
    );
    assert.equal(config.file, null);
    assert.equal(config.apiUrl, undefined);
  });
});
