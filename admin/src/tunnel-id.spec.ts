import assert from "node:assert/strict";
import { tunnelCode, type TunnelId, type TunnelView } from "@support-tunnel/common";
import { CliError } from "./errors";
import { parseTunnelId, resolveTunnelId } from "./tunnel-id";

const A = "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e" as TunnelId;
const B = "3f2b0000-0000-4000-8000-000000000000" as TunnelId;

function fakeApi(ids: TunnelId[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    api: () => ({
      listAllTunnels: async () => {
        calls++;
        return ids.map((tunnelId) => ({ tunnelId }) as TunnelView);
      },
    }),
  };
}

describe("tunnel ids on the support command line", () => {
  it("takes the UUID in any case and the phone code without asking the api", async () => {
    const fake = fakeApi([]);
    assert.equal(await resolveTunnelId(A.toUpperCase(), fake.api), A);
    assert.equal(await resolveTunnelId(tunnelCode(A).toLowerCase(), fake.api), A);
    assert.equal(fake.calls, 0);
  });

  it("looks a unique prefix of the id or of the code up among the api's tunnels", async () => {
    const fake = fakeApi([A, B]);
    assert.equal(await resolveTunnelId("3f2b8", fake.api), A);
    assert.equal(await resolveTunnelId(tunnelCode(B).slice(0, 7), fake.api), B);
  });

  it("refuses an ambiguous prefix with exit 2, listing the tunnels it matches", async () => {
    await assert.rejects(
      resolveTunnelId("3F2B", fakeApi([A, B]).api),
      (err: CliError) => err.exitCode === 2 && err.message.includes(A) && err.message.includes(B),
    );
  });

  it("says no tunnel starts so with exit 5", async () => {
    await assert.rejects(
      resolveTunnelId("ffff", fakeApi([A, B]).api),
      (err: CliError) =>
        err.exitCode === 5 && /no tunnel's id or code starts with "ffff"/.test(err.message),
    );
  });

  it("refuses a code with a misheard symbol with exit 2, asking the api nothing", async () => {
    const code = tunnelCode(A);
    const misheard = (code[0] === "Z" ? "Y" : "Z") + code.slice(1);
    const fake = fakeApi([A]);
    await assert.rejects(
      resolveTunnelId(misheard, fake.api),
      (err: CliError) => err.exitCode === 2 && /check symbol does not match/.test(err.message),
    );
    assert.equal(fake.calls, 0);
    assert.throws(() => parseTunnelId("3f2b8"), /must be a UUID or the tunnel's code/);
  });
});
