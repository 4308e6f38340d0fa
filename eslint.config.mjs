// Lint rules the house relies on: no floating promises, no stray any, and no
// test code in production.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "eslint.config.mjs", "**/*.js", "**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/restrict-template-expressions": "off",
      "@typescript-eslint/unbound-method": "off",
      "@typescript-eslint/no-extraneous-class": "off",
      "no-console": "off",
    },
  },
  {
    // Production code: no values of type any flowing through unchecked, and no
    // test or lab code (the netns provider reaches the lab only through
    // admin/src/lab-backend.ts, which loads it at run time).
    files: ["{common,api,device,admin,infra}/src/**/*.ts"],
    ignores: ["**/*.spec.ts", "**/src/testing/**", "**/src/test/**"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "error",
      "@typescript-eslint/no-unsafe-member-access": "error",
      "@typescript-eslint/no-unsafe-argument": "error",
      "@typescript-eslint/no-unsafe-call": "error",
      "@typescript-eslint/no-unsafe-return": "error",
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@support-tunnel/lab", "@support-tunnel/lab/*"],
              message: "the lab is a development package: see admin/src/lab-backend.ts",
            },
            {
              group: ["@support-tunnel/testkit", "@support-tunnel/testkit/*"],
              message: "the testkit is for specs only",
            },
          ],
        },
      ],
    },
  },
);
