import * as assert from "node:assert/strict";
import { formatBytes } from "@support-tunnel/common";
import { recognizeTransfer, ScpStreamReader, scpPlace, SftpLogReader } from "./file-transfer";

describe("file transfers over a support session", () => {
  describe("recognizeTransfer", () => {
    it("knows an sftp subsystem request as sshd hands it over", () => {
      assert.deepEqual(recognizeTransfer("internal-sftp"), { tool: "sftp" });
      assert.deepEqual(recognizeTransfer("/usr/lib/openssh/sftp-server"), { tool: "sftp" });
      assert.deepEqual(recognizeTransfer("/usr/libexec/openssh/sftp-server -l INFO"), {
        tool: "sftp",
      });
    });

    it("knows legacy scp both ways and keeps only the flags scp sends", () => {
      assert.deepEqual(recognizeTransfer("scp -p -t /tmp/"), {
        tool: "scp",
        direction: "upload",
        args: ["-p", "-t", "--", "/tmp/"],
        target: "/tmp/",
      });
      assert.deepEqual(recognizeTransfer("scp -v -r -f -- -odd"), {
        tool: "scp",
        direction: "download",
        args: ["-v", "-r", "-f", "--", "-odd"],
        target: "-odd",
      });
    });

    it("knows rsync's server side, and which way the files go", () => {
      const up = recognizeTransfer("rsync --server -vlogDtpre.iLsfxCIvu . /tmp/dst");
      assert.equal(up?.tool, "rsync");
      assert.equal(up?.tool === "rsync" && up.direction, "upload");
      assert.deepEqual(up?.tool === "rsync" && up.paths, ["/tmp/dst"]);
      const down = recognizeTransfer(
        "rsync --server --sender -vlogDtpre.iLsfxCIvu . /var/log/syslog",
      );
      assert.equal(down?.tool === "rsync" && down.direction, "download");
    });

    it("leaves anything else to run as a command", () => {
      for (const command of [
        null,
        "",
        "sftp-server", // not a path: whatever is first in PATH
        "scp -t /tmp/; rm -rf /", // shell syntax: only a shell may read it
        "scp -t /tmp/$(id)",
        "scp -t",
        "scp -t -f /tmp",
        "scp -x -t /tmp",
        "scp -t /a /b",
        "rsync --server --rsh=/bin/sh . /tmp",
        "rsync --server -e.LsfxC --files-from=/etc/shadow . /tmp",
        "rsync -av . /tmp",
        "'sudo' '-n' '--' 'scp' '-t' '/tmp'",
        "cat /etc/passwd",
      ])
        assert.equal(recognizeTransfer(command), null, String(command));
    });
  });

  describe("SftpLogReader", () => {
    it("lists each file written or read with its bytes, across torn chunks", () => {
      const sut = new SftpLogReader();
      const log = [
        "session opened for local user root from [10.99.0.2]\r\n",
        'open "/tmp/fix.sh" flags WRITE,CREATE,TRUNCATE mode 0644\r\n',
        'close "/tmp/fix.sh" bytes read 0 written 3100\r\n',
        'open "/var/log/sys"quoted".log" flags READ mode 0666\r\n',
        'close "/var/log/sys"quoted".log" bytes read 1200000 written 0\r\n',
        'open "/tmp/empty" flags WRITE,CREATE,TRUNCATE mode 0600\r\n',
        'close "/tmp/empty" bytes read 0 written 0\r\n',
        'opendir "/tmp"\r\n',
      ].join("");
      for (let i = 0; i < log.length; i += 7) sut.feed(log.slice(i, i + 7));
      sut.end();
      assert.deepEqual(sut.files, [
        { direction: "upload", path: "/tmp/fix.sh", bytes: 3100 },
        { direction: "download", path: '/var/log/sys"quoted".log', bytes: 1200000 },
        { direction: "upload", path: "/tmp/empty", bytes: 0 },
      ]);
    });
  });

  describe("ScpStreamReader", () => {
    it("lists the files of an upload into a directory, with their sizes, whatever the chunks", () => {
      const data = Buffer.from([0, 1, 2, 10, 10, 255, 0]);
      const stream = Buffer.concat([
        Buffer.from("T1700000000 0 1700000000 0\nC0755 7 fix.sh\n"),
        data,
        Buffer.from([0]),
        Buffer.from("D0755 0 sub\nC0600 3 a b\nxyz"),
        Buffer.from([0]),
        Buffer.from("E\n"),
      ]);
      const sut = new ScpStreamReader("upload", { base: "/tmp/", single: null });
      for (let i = 0; i < stream.length; i += 3) sut.feed(stream.subarray(i, i + 3));
      assert.deepEqual(sut.files, [
        { direction: "upload", path: "/tmp/fix.sh", bytes: 7 },
        { direction: "upload", path: "/tmp/sub/a b", bytes: 3 },
      ]);
    });

    it("names a lone fetched file by the path asked for", () => {
      const request = recognizeTransfer("scp -f /var/log/syslog");
      assert.ok(request?.tool === "scp");
      const sut = new ScpStreamReader("download", scpPlace(request, false));
      sut.feed(Buffer.from("C0640 4 syslog\nabcd\0"));
      assert.deepEqual(sut.files, [{ direction: "download", path: "/var/log/syslog", bytes: 4 }]);
    });

    it("places an upload to a file name at that name, into a directory below it", () => {
      const request = recognizeTransfer("scp -t /etc/new.conf");
      assert.ok(request?.tool === "scp");
      assert.deepEqual(scpPlace(request, false), { base: "/etc", single: "/etc/new.conf" });
      assert.deepEqual(scpPlace(request, true), { base: "/etc/new.conf", single: null });
    });
  });

  it("formats sizes as a person reads them", () => {
    assert.equal(formatBytes(0), "0 B");
    assert.equal(formatBytes(3100), "3.1 kB");
    assert.equal(formatBytes(1_234_567), "1.2 MB");
    assert.equal(formatBytes(45_000_000), "45 MB");
  });
});
