#!/usr/bin/env node
// Installs what the tests and the demo need, and does nothing that is already done:
// the Debian packages (as root, without recommended packages, which would pull a
// kernel image through wireguard-tools) and the npm dependencies.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");

/** command that proves the package is installed → Debian package */
const DEBIAN_PACKAGES = {
  wg: "wireguard-tools",
  "wireguard-go": "wireguard-go",
  sshd: "openssh-server",
  ssh: "openssh-client",
  "ssh-keygen": "openssh-client",
  sudo: "sudo",
  nft: "nftables",
  ip: "iproute2",
  script: "bsdutils",
  pkill: "procps",
  // the consent page's browser tests drive it through playwright-core
  chromium: "chromium",
  // `support completion zsh|fish`: the tests have each shell parse its script
  zsh: "zsh",
  fish: "fish",
};

function have(cmd) {
  const dirs = (process.env.PATH || "")
    .split(":")
    .concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
  return dirs.some((dir) => {
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function run(file, args, opts = {}) {
  console.error(`setup: ${file} ${args.join(" ")}`);
  const result = spawnSync(file, args, { stdio: "inherit", cwd: root, ...opts });
  if (result.status !== 0) {
    console.error(`setup: ${file} failed with exit code ${result.status}`);
    process.exit(result.status || 1);
  }
}

function installDebianPackages() {
  const missing = [
    ...new Set(
      Object.entries(DEBIAN_PACKAGES)
        .filter(([cmd]) => !have(cmd))
        .map(([, pkg]) => pkg),
    ),
  ];
  if (missing.length === 0) return;
  if (process.getuid && process.getuid() !== 0) {
    console.error(
      `setup: not root, so not installing ${missing.join(", ")}; tests that need them will be skipped`,
    );
    return;
  }
  if (!have("apt-get")) {
    console.error(`setup: no apt-get; install ${missing.join(", ")} yourself`);
    return;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-qq"], { env });
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
}

function installNpmDependencies() {
  const stamp = path.join(root, "node_modules", ".package-lock.json");
  const lock = path.join(root, "package-lock.json");
  const manifests = [
    "package.json",
    "testkit",
    "common",
    "api",
    "device",
    "admin",
    "infra",
    "scripts/lab",
  ].map((p) => (p.endsWith(".json") ? path.join(root, p) : path.join(root, p, "package.json")));
  const newest = Math.max(
    ...[lock, ...manifests].filter((f) => fs.existsSync(f)).map((f) => fs.statSync(f).mtimeMs),
  );
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= newest) return;
  run("npm", [fs.existsSync(lock) ? "ci" : "install", "--no-audit", "--no-fund"]);
}

installDebianPackages();
installNpmDependencies();
