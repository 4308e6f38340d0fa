import * as assert from "node:assert/strict";
import { planCopy } from "./copy-args";
import { CliError, ExitCode } from "./errors";

const host = "support-3f6c0b9e";

function usage(paths: string[]): string {
  try {
    planCopy(paths, host);
  } catch (err) {
    assert.ok(err instanceof CliError);
    assert.equal(err.exitCode, ExitCode.Usage);
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(paths)}`);
}

describe("support cp's arguments", () => {
  it("uploads when the destination is the device's, and keeps local paths from reading as host:path", () => {
    assert.deepEqual(planCopy(["./fix.sh", "a:b", "-x", "../up", ".", ":/tmp/"], host), {
      direction: "upload",
      scpPaths: ["./fix.sh", "./a:b", "./-x", "../up", ".", `${host}:/tmp/`],
    });
  });

  it("fetches when every source is the device's", () => {
    assert.deepEqual(planCopy([":/var/log/syslog", ":/etc/hosts", "/tmp/out"], host), {
      direction: "download",
      scpPaths: [`${host}:/var/log/syslog`, `${host}:/etc/hosts`, "/tmp/out"],
    });
  });

  it("refuses anything but exactly one side on the device (exit 2)", () => {
    assert.match(usage(["./a", "./b"]), /one side must be the device/);
    assert.match(usage([":/a", ":/b"]), /only one side/);
    assert.match(usage(["./a", ":/b", ":/c"]), /only one side/);
    assert.match(usage([":/a", "./b", "./c"]), /all be on the device or all on this machine/);
    assert.match(usage(["./a"]), /a source and a destination|at least one source/);
    assert.match(usage(["./a", ":"]), /device's path after/);
    assert.match(usage(["./a\nb", ":/tmp"]), /line break/);
  });
});
