import assert from "node:assert/strict";
import { ConfigError, defaultDataDir, loadConfig } from "./config";

describe("api config", () => {
  it("starts with defaults: port 8080, embedded database under the user's data home", () => {
    const sut = loadConfig({ HOME: "/home/ann" });
    assert.equal(sut.port, 8080);
    assert.equal(sut.host, "0.0.0.0");
    assert.equal(sut.databaseUrl, null);
    assert.equal(sut.dataDir, "/home/ann/.local/share/support-tunnel/api");
    assert.equal(sut.defaultTtlSeconds, 7200);
    assert.equal(sut.maxTtlSeconds, 86400);
    assert.equal(sut.rateLimitPerMinute, 30);
    assert.equal(sut.trustProxy, false);
  });

  it("puts the data directory under XDG_DATA_HOME when set", () => {
    assert.equal(
      defaultDataDir({ XDG_DATA_HOME: "/x", HOME: "/home/ann" }),
      "/x/support-tunnel/api",
    );
  });

  it("lets command-line flags win over the environment", () => {
    const sut = loadConfig(
      { PORT: "9000", SUPPORT_API_DATA_DIR: "/env" },
      { port: "0", dataDir: "/flag" },
    );
    assert.equal(sut.port, 0);
    assert.equal(sut.dataDir, "/flag");
  });

  it("accepts a Unix-socket DATABASE_URL that pg understands", () => {
    const url = "postgres://api:secret@/support?host=/cloudsql/proj:region:db";
    assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url);
  });

  it("treats an empty DATABASE_URL as unset", () => {
    assert.equal(loadConfig({ DATABASE_URL: "" }).databaseUrl, null);
  });

  it("lists every bad variable at once", () => {
    assert.throws(
      () =>
        loadConfig({
          PORT: "http",
          DATABASE_URL: "mysql://x",
          SUPPORT_BOOTSTRAP_TOKEN: "letmein",
          SUPPORT_RATE_LIMIT_PER_MINUTE: "0",
          SUPPORT_TRUST_PROXY: "yes",
        }),
      (err: ConfigError) => {
        assert.deepEqual(
          err.problems.map((p) => p.split(":")[0]),
          [
            "PORT",
            "DATABASE_URL",
            "SUPPORT_BOOTSTRAP_TOKEN",
            "SUPPORT_RATE_LIMIT_PER_MINUTE",
            "SUPPORT_TRUST_PROXY",
          ],
        );
        return true;
      },
    );
  });

  it("never lets the default lifetime exceed the maximum", () => {
    const sut = loadConfig({
      SUPPORT_TUNNEL_TTL_SECONDS: "7200",
      SUPPORT_TUNNEL_MAX_TTL_SECONDS: "600",
    });
    assert.equal(sut.defaultTtlSeconds, 600);
  });
});
