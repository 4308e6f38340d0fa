// Lazy loaders for the heavy Pulumi modules (over a second to load): the `support`
// CLI pays for them only when the gcp provider actually makes or removes a server.
// `require` rather than `import()`: this is CommonJS, and Pulumi's deep paths
// (`@pulumi/pulumi/automation`) resolve only the CommonJS way.
/* eslint-disable @typescript-eslint/no-require-imports */

export function loadAutomation(): typeof import("@pulumi/pulumi/automation") {
  return require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");
}

export function loadProgram(): typeof import("./program") {
  return require("./program") as typeof import("./program");
}

/** The gcp resource plugin version the installed @pulumi/gcp SDK expects. */
export function gcpPluginVersion(): string {
  const pkg = require("@pulumi/gcp/package.json") as {
    version: string;
    pulumi?: { version?: string };
  };
  return pkg.pulumi?.version ?? pkg.version;
}
