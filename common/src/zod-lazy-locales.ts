// zod 4 loads every one of its ~60 locales when it loads (`z.locales`, re-exported
// by both its core and its classic entry), though only English, which it loads by
// itself, is ever used here: 30–50 ms of every CLI start, and of the device's
// session program, which is on the way to every command. This module, loaded
// before zod by each of common's modules that import it, puts zod's locales index
// in the require cache with each locale loaded when it is first read. zod sees
// the same exports; it just does not pay for the ones nobody reads. If the index
// is not laid out as expected (another zod version), it does nothing.
import { readFileSync } from "node:fs";
import Module from "node:module";
import { dirname, join } from "node:path";

/** `Object.defineProperty(exports, "frCA", ... __importDefault(fr_CA_js_1).default ...)` */
const EXPORT =
  /Object\.defineProperty\(exports, "(\w+)", \{[^}]*__importDefault\((\w+)\)\.default;/g;
/** `var fr_CA_js_1 = require("./fr-CA.cjs");` */
const REQUIRE = /var (\w+) = require\("\.\/([\w-]+\.cjs)"\);/g;

export function registerLazyZodLocales(): boolean {
  let index: string;
  let source: string;
  try {
    index = require.resolve("zod/v4/locales");
    source = readFileSync(index, "utf8");
  } catch {
    return false;
  }
  if (require.cache[index]) return false; // zod is loaded already
  const files = new Map([...source.matchAll(REQUIRE)].map((m) => [m[1]!, m[2]!]));
  const names = [...source.matchAll(EXPORT)].map((m) => ({ name: m[1]!, file: files.get(m[2]!) }));
  // Only locales, each required once and exported: else it is not the index we know.
  const requires = source.split("require(").length - 1;
  if (names.length === 0 || requires !== files.size || names.some((n) => n.file === undefined))
    return false;
  const exports: Record<string, unknown> = {};
  Object.defineProperty(exports, "__esModule", { value: true });
  for (const { name, file } of names) {
    Object.defineProperty(exports, name, {
      enumerable: true,
      get: () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const locale = require(join(dirname(index), file!)) as {
          __esModule?: boolean;
          default?: unknown;
        };
        return locale?.__esModule ? locale.default : locale;
      },
    });
  }
  const module = new Module(index);
  module.filename = index;
  module.paths = [];
  module.exports = exports;
  module.loaded = true;
  require.cache[index] = module;
  return true;
}

registerLazyZodLocales();
