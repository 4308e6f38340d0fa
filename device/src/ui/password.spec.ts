import * as assert from "node:assert/strict";
import { passwordHashSchema } from "../config-schema";
import { hashPassword, verifyPassword } from "./password";

describe("the consent page's password hash", () => {
  let hash: string;
  before(async () => {
    hash = await hashPassword("correct horse battery");
  });

  it("is an scrypt PHC string that does not contain the password", () => {
    assert.match(hash, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    assert.ok(!hash.includes("correct"));
    assert.ok(passwordHashSchema.safeParse(hash).success);
  });

  it("verifies the password it was made from, and no other", async () => {
    assert.equal(await verifyPassword("correct horse battery", hash), true);
    assert.equal(await verifyPassword("correct horse batterY", hash), false);
    assert.equal(await verifyPassword("", hash), false);
  });

  it("differs each time for the same password (a random salt)", async () => {
    assert.notEqual(await hashPassword("correct horse battery"), hash);
  });

  it("refuses a hash that is not one, or too cheap to guess against", () => {
    assert.equal(passwordHashSchema.safeParse("correct horse battery").success, false);
    const cheap = hash.replace("ln=15", "ln=4");
    assert.equal(passwordHashSchema.safeParse(cheap).success, false);
  });
});
