// Bundles js/src/*.js into the package (aisearch_widgets/static/) so that installing
// the Python package never needs Node.js. `--check` fails if the shipped bundle
// differs from what the sources build to (CI runs it).
import { build } from "esbuild";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const shipped = join(here, "..", "aisearch_widgets", "static");
const entries = ["controls", "gallery", "actions", "chart"];
const check = process.argv.includes("--check");
const outdir = check ? mkdtempSync(join(tmpdir(), "aisw-")) : shipped;

await build({
  entryPoints: [
    ...entries.map((e) => join(here, "src", `${e}.js`)),
    join(here, "src", "widgets.css"),
  ],
  bundle: true,
  format: "esm",
  target: "es2020",
  outdir,
  legalComments: "none",
  logLevel: "warning",
});

if (check) {
  let stale = [];
  for (const f of [...entries.map((e) => `${e}.js`), "widgets.css"]) {
    const a = readFileSync(join(outdir, f), "utf8");
    let b = "";
    try {
      b = readFileSync(join(shipped, f), "utf8");
    } catch {}
    if (a !== b) stale.push(f);
  }
  rmSync(outdir, { recursive: true, force: true });
  if (stale.length) {
    console.error(
      `aisearch_widgets/static is out of date (${stale.join(", ")}): run \`npm run build\` in js/`,
    );
    process.exit(1);
  }
  console.log("static bundle matches js/src");
}
