// Byte-for-byte agreement with the real `wg` tool, in both directions.
import assert from "node:assert/strict";
import { execa } from "execa";
import { mapLimit, missingCommands, requirePrerequisite } from "@support-tunnel/testkit";
import {
  decodeKey,
  generatePresharedKey,
  generatePrivateKey,
  isWgKeyString,
  publicKeyFromPrivate,
} from "./crypto";

const KEYS = 100;
const CONCURRENCY = 4;

/** One `wg` call; a key goes on stdin, never in argv. */
async function wg(args: string[], input?: string): Promise<string> {
  const result = await execa("wg", args, { input: input ?? "", timeout: 10_000 });
  return result.stdout;
}

describe("WireGuard keys against the real wg tool", function () {
  // Hundreds of process spawns: seconds on an idle machine, more when CI shares it.
  this.timeout(90_000);

  before(function () {
    requirePrerequisite(this, missingCommands("wg"));
  });

  it(`gets from wg pubkey the same public key we derive, for ${KEYS} of our private keys`, async () => {
    const privateKeys = Array.from({ length: KEYS }, () => generatePrivateKey());
    const theirs = await mapLimit(privateKeys, CONCURRENCY, (key) => wg(["pubkey"], `${key}\n`));
    privateKeys.forEach((key, i) => assert.equal(publicKeyFromPrivate(key), theirs[i], key));
  });

  it(`derives what wg pubkey prints from ${KEYS} private keys made by wg genkey`, async () => {
    const pairs = await mapLimit(Array.from({ length: KEYS }), CONCURRENCY, async () => {
      const privateKey = await wg(["genkey"]);
      return { privateKey, publicKey: await wg(["pubkey"], `${privateKey}\n`) };
    });
    assert.equal(new Set(pairs.map((p) => p.privateKey)).size, KEYS);
    for (const { privateKey, publicKey } of pairs) {
      assert.equal(publicKeyFromPrivate(privateKey), publicKey, privateKey);
    }
  });

  it("prints private keys and preshared keys in exactly the format wg genkey and wg genpsk use", async () => {
    const [genkey, genpsk] = await Promise.all([
      mapLimit(Array.from({ length: 10 }), CONCURRENCY, () => wg(["genkey"])),
      mapLimit(Array.from({ length: 10 }), CONCURRENCY, () => wg(["genpsk"])),
    ]);
    const shape = (key: string) => ({
      length: key.length,
      canonical: isWgKeyString(key),
      clamped: (decodeKey(key)[0]! & 7) === 0 && (decodeKey(key)[31]! & 0xc0) === 0x40,
    });
    for (const key of genkey) {
      assert.deepEqual(shape(generatePrivateKey()), shape(key), key);
      assert.deepEqual(shape(key), { length: 44, canonical: true, clamped: true });
    }
    for (const key of genpsk) {
      assert.equal(shape(key).length, 44);
      assert.ok(isWgKeyString(key), key);
    }
    // wg reads our preshared keys as keys (it refuses anything else on stdin).
    for (let i = 0; i < 10; i++) {
      const psk = generatePresharedKey();
      assert.equal(await wg(["pubkey"], `${psk}\n`), publicKeyFromPrivate(psk));
    }
  });

  it("is refused by wg pubkey when the input is not a key, as our decoder refuses it", async () => {
    await assert.rejects(wg(["pubkey"], "not a key\n"));
    assert.equal(isWgKeyString("not a key"), false);
  });
});
