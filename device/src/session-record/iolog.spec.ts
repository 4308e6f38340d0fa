import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { toAsciicast } from "./asciicast";
import { readIolog } from "./iolog";
import { playIolog } from "./player";

/**
 * An I/O log directory as sudo 1.9 writes one (gzip'ed streams, a timing file it
 * makes read-only at the end): a shell where the engineer typed `id` and got its output.
 */
function writeShellSession(dir: string, options: { complete?: boolean; gzip?: boolean } = {}) {
  const gz = options.gzip === false ? (b: Buffer) => b : (b: Buffer) => zlib.gzipSync(b);
  const write = (name: string, data: string | Buffer) =>
    fs.writeFileSync(path.join(dir, name), gz(Buffer.from(data)), { mode: 0o600 });
  fs.writeFileSync(
    path.join(dir, "log.json"),
    JSON.stringify({
      timestamp: { seconds: 1893492180, nanoseconds: 500_000_000 },
      submituser: "root",
      command: "/usr/bin/env",
      runuser: "support7a3f0c12",
      submitcwd: "/home/support7a3f0c12",
      columns: 100,
      lines: 30,
      runargv: ["/usr/bin/env", "SUPPORT_SESSION=0badc0ffee00", "/bin/bash", "-c", "'sudo' '-i'"],
    }),
  );
  const ttyout = [
    "root@kiosk-7:~# ",
    "id\r\n",
    "uid=0(root) gid=0(root)\r\n",
    "h\u00c3",
    "\u00a9\r\n",
  ];
  // "é" split between two chunks, as a terminal's output can be: bytes c3 | a9.
  const outBytes = [
    Buffer.from(ttyout[0]!),
    Buffer.from(ttyout[1]!),
    Buffer.from(ttyout[2]!),
    Buffer.from([0x68, 0xc3]),
    Buffer.from([0xa9, 0x0d, 0x0a]),
  ];
  write("ttyout", Buffer.concat(outBytes));
  write("ttyin", "id\r");
  write("stdin", "");
  write("stdout", "");
  write("stderr", "");
  write(
    "timing",
    [
      `4 0.100000000 ${outBytes[0]!.length}`,
      "3 1.500000000 3",
      `4 0.001000000 ${outBytes[1]!.length}`,
      `4 0.020000000 ${outBytes[2]!.length}`,
      "5 0.300000000 40 120",
      `4 0.000500000 ${outBytes[3]!.length}`,
      `4 600.000000000 ${outBytes[4]!.length}`,
      "",
    ].join("\n"),
  );
  if (options.complete !== false) fs.chmodSync(path.join(dir, "timing"), 0o400);
}

describe("sudo's I/O log, read back", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "iolog-spec-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads who, the terminal size and every chunk in order, gzip'ed or not", async () => {
    for (const gzip of [true, false]) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      writeShellSession(dir, { gzip });
      const sut = await readIolog(dir);
      assert.equal(sut.complete, true);
      assert.equal(sut.info.runuser, "support7a3f0c12");
      assert.equal(sut.info.startedMs, 1893492180_500);
      assert.deepEqual([sut.info.columns, sut.info.lines], [100, 30]);
      assert.deepEqual(
        sut.events.map((e) =>
          e.kind === "data"
            ? `${e.stream}:${e.data.toString("latin1")}`
            : `resize:${e.columns}x${e.lines}`,
        ),
        [
          "ttyout:root@kiosk-7:~# ",
          "ttyin:id\r",
          "ttyout:id\r\n",
          "ttyout:uid=0(root) gid=0(root)\r\n",
          "resize:120x40",
          "ttyout:h\u00c3",
          "ttyout:\u00a9\r\n",
        ],
      );
    }
  });

  it("reads a session still running up to what sudo has flushed", async () => {
    writeShellSession(dir, { complete: false });
    // The stream ends mid-way, as it does while sudo writes it: the last chunk is not there yet.
    const full = zlib.gunzipSync(fs.readFileSync(path.join(dir, "ttyout")));
    const partial = zlib.deflateRawSync(full.subarray(0, full.length - 3), {
      flush: zlib.constants.Z_SYNC_FLUSH,
    });
    const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    fs.writeFileSync(path.join(dir, "ttyout"), Buffer.concat([header, partial]));
    const sut = await readIolog(dir);
    assert.equal(sut.complete, false);
    assert.equal(sut.events.filter((e) => e.kind === "data" && e.stream === "ttyout").length, 4);
  });

  it("exports asciicast v2: the header asciinema needs, then output events with their times", async () => {
    writeShellSession(dir);
    const lines = toAsciicast(await readIolog(dir), { title: "support session 0badc0ffee00" })
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(lines[0], {
      version: 2,
      width: 100,
      height: 30,
      timestamp: 1893492180,
      title: "support session 0badc0ffee00",
    });
    assert.deepEqual(lines.slice(1), [
      [0.1, "o", "root@kiosk-7:~# "],
      [1.601, "o", "id\r\n"],
      [1.621, "o", "uid=0(root) gid=0(root)\r\n"],
      [1.921, "r", "120x40"],
      [1.9215, "o", "h"],
      [601.9215, "o", "é\r\n"],
    ]);
  });

  it("gives a one-shot command's bare line ends the carriage return a terminal would have added", async () => {
    writeShellSession(dir);
    fs.writeFileSync(path.join(dir, "stdout"), zlib.gzipSync("a\nb\r\n"));
    fs.chmodSync(path.join(dir, "timing"), 0o600);
    fs.writeFileSync(path.join(dir, "timing"), zlib.gzipSync("1 0.5 5\n"));
    const lines = toAsciicast(await readIolog(dir))
      .trimEnd()
      .split("\n");
    assert.deepEqual(JSON.parse(lines[1]!), [0.5, "o", "a\r\nb\r\n"]);
  });

  it("plays the output back at the speed asked, input left out, long pauses capped", async () => {
    writeShellSession(dir);
    const waits: number[] = [];
    const out: Buffer[] = [];
    await playIolog(await readIolog(dir), {
      speed: 2,
      maxWaitS: 5,
      write: (b) => out.push(b),
      sleep: async (ms) => {
        waits.push(Math.round(ms * 100) / 100);
      },
    });
    assert.equal(
      Buffer.concat(out).toString("utf8"),
      "root@kiosk-7:~# id\r\nuid=0(root) gid=0(root)\r\nhé\r\n",
    );
    assert.deepEqual(waits, [50, 750.5, 10, 150.25, 5000]);
  });
});
