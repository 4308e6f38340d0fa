// The netns provider's lab, as the CLI opens it: from a development checkout, and
// with a clear word when the lab package is not installed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { CliError, ExitCode } from "./errors";
import { labOpener, openLab } from "./lab-backend";

describe("lab backend of the netns provider", () => {
  it("reaches the lab package of a development checkout (no such lab: the lab says so)", async () => {
    await assert.rejects(openLab("nosuchlab9"), /no lab named nosuchlab9/);
  });

  it("reaches the lab while an import of execa is still loading (the lab loads execa only to spawn)", () => {
    // A fresh node: in this one execa is loaded already. node refuses to require an
    // ES module that an import() is still loading: the lab must not require it as it loads.
    const script = `
      const { openLab } = require(${JSON.stringify(require.resolve("./lab-backend"))});
      void import("execa");
      setTimeout(() => openLab("nosuchlab9").catch((err) => console.log(err.message)), 5);`;
    const said = execFileSync(process.execPath, ["-e", script], { encoding: "utf8" });
    assert.match(said, /no lab named nosuchlab9/);
  });

  it("says the netns provider needs the lab when the lab package is not installed", async () => {
    const sut = labOpener((id) => {
      const err = new Error(`Cannot find module '${id}'`) as NodeJS.ErrnoException;
      err.code = "MODULE_NOT_FOUND";
      throw err;
    });
    await assert.rejects(sut("demo"), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.equal(err.exitCode, ExitCode.Usage);
      assert.match(err.message, /the netns provider needs the lab \(@support-tunnel\/lab\)/);
      assert.match(err.message, /--provider ssh or gcp/);
      return true;
    });
  });

  it("does not hide a lab package that fails while loading", async () => {
    const sut = labOpener(() => {
      throw new Error("lab exploded");
    });
    await assert.rejects(sut("demo"), /lab exploded/);
  });
});
