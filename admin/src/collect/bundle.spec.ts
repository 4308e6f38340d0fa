import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { BundleError, readBundle } from "./bundle";
import { BUNDLE_DIR, COLLECT_PARTS, renderCollectScript } from "./collect-script";

const manifest = {
  version: 1,
  host: "kiosk-7",
  collectedAt: "2030-01-01T10:00:00Z",
  parts: [
    {
      part: "os",
      file: "os.txt",
      command: "cat /etc/os-release; uname -a",
      exitCode: 0,
      timedOut: false,
      bytes: 5,
      truncated: false,
      seconds: 0,
    },
  ],
  skipped: ["docker-ps"],
};

/** A .tar.gz made by the real tar from files laid out under a temp dir. */
function tarGz(files: Record<string, string>, extraTarArgs: string[] = []): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-spec-"));
  try {
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    return gzipSync(
      execFileSync("tar", ["-cf", "-", "-C", dir, ...extraTarArgs, ...Object.keys(files)]),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("the diagnostics bundle", () => {
  it("reads the manifest of a bundle the script's layout makes", () => {
    const sut = readBundle(
      tarGz({
        [`${BUNDLE_DIR}/manifest.json`]: JSON.stringify(manifest),
        [`${BUNDLE_DIR}/os.txt`]: "Linux",
      }),
    );
    assert.deepEqual(sut.manifest, manifest);
    assert.deepEqual(sut.entries.map((e) => e.name).sort(), [
      `${BUNDLE_DIR}/manifest.json`,
      `${BUNDLE_DIR}/os.txt`,
    ]);
  });

  it("refuses a path outside the bundle's folder, a link, no manifest, or not a tar.gz", () => {
    const refused = (gz: Buffer, why: RegExp) =>
      assert.throws(
        () => readBundle(gz),
        (err: unknown) => err instanceof BundleError && why.test(err.message),
      );
    refused(
      tarGz({
        [`${BUNDLE_DIR}/manifest.json`]: JSON.stringify(manifest),
        [`${BUNDLE_DIR}/os.txt`]: "x",
        "evil.txt": "x",
      }),
      /outside/,
    );
    refused(
      tarGz(
        {
          [`${BUNDLE_DIR}/manifest.json`]: JSON.stringify(manifest),
          [`${BUNDLE_DIR}/os.txt`]: "x",
        },
        ["--transform", "s,^support-collect/os,support-collect/../os,"],
      ),
      /outside/,
    );
    refused(tarGz({ [`${BUNDLE_DIR}/os.txt`]: "x" }), /no manifest/);
    refused(
      tarGz({
        [`${BUNDLE_DIR}/manifest.json`]: JSON.stringify({ ...manifest, parts: [{ part: "x" }] }),
      }),
      /not one/,
    );
    refused(tarGz({ [`${BUNDLE_DIR}/manifest.json`]: JSON.stringify(manifest) }), /lacks/);
    refused(Buffer.from("not gzip"), /not a readable/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-spec-"));
    try {
      fs.mkdirSync(path.join(dir, BUNDLE_DIR));
      fs.symlinkSync("/etc/passwd", path.join(dir, BUNDLE_DIR, "os.txt"));
      refused(
        gzipSync(execFileSync("tar", ["-cf", "-", "-C", dir, BUNDLE_DIR])),
        /not a file or folder/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the collection script is bash, names each part once, and skips Docker and systemd where missing", () => {
    const script = renderCollectScript();
    execFileSync("bash", ["-n"], { input: script });
    const names = COLLECT_PARTS.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    for (const name of [
      "os",
      "uptime",
      "disks",
      "memory",
      "network-addresses",
      "network-routes",
      "listening-sockets",
      "journal",
      "dmesg",
    ])
      assert.ok(names.includes(name), name);
    for (const p of COLLECT_PARTS.filter((p) => p.name.startsWith("docker")))
      assert.equal(p.needs, "docker");
    assert.equal(COLLECT_PARTS.find((p) => p.name === "failed-units")!.needs, "systemctl");
    assert.ok(COLLECT_PARTS.every((p) => p.capBytes > 0 && p.timeoutSeconds > 0));
  });
});
