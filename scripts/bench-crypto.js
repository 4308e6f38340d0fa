#!/usr/bin/env node
// Measures common's crypto on this machine: key pairs, sealing and opening
// approvals. Run after `npm run build`: `node scripts/bench-crypto.js [iterations]`.
"use strict";
const { randomUUID } = require("node:crypto");
const {
  generateKeyPair,
  generatePresharedKey,
  openApproval,
  sealApproval,
} = require("../common/dist");

const iterations = Math.max(1, Number(process.argv[2] ?? 500));

function measure(name, fn) {
  fn(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${name.padEnd(24)} ${(ms / iterations).toFixed(3)} ms/op  (${iterations} ops)`);
}

const server = generateKeyPair();
const device = generateKeyPair();
const psk = generatePresharedKey();
const tunnelId = randomUUID();
const payload = {
  tunnelId,
  serverWgPublicKey: server.publicKey,
  endpoint: "203.0.113.7",
  wgPort: 51820,
  sshPublicKey: `ssh-ed25519 ${Buffer.alloc(51, 7).toString("base64")} support@server`,
  expiresAt: new Date(Date.now() + 3600_000).toISOString(),
  engineer: "alice",
  ticket: "ABC-123",
};
const seal = () =>
  sealApproval({
    payload,
    serverPrivateKey: server.privateKey,
    devicePublicKey: device.publicKey,
    psk,
  });
const sealed = seal();

measure("generateKeyPair", () => generateKeyPair());
measure("generatePresharedKey", () => generatePresharedKey());
measure("sealApproval", seal);
measure("openApproval", () =>
  openApproval({
    sealed,
    serverPublicKey: server.publicKey,
    devicePrivateKey: device.privateKey,
    psk,
    tunnelId,
  }),
);
console.log(`sealed approval size     ${sealed.length} characters`);
