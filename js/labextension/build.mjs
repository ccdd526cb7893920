// Builds the prebuilt JupyterLab extension into aisearch_widgets/labextension/ (shipped
// in the wheel as share/jupyter/labextensions/aisearch-widgets), so that installing the
// Python package never needs Node.js.
//
// `--check` proves the shipped build is what these sources build to: it copies the
// sources into a temporary folder (node_modules linked, not copied), builds there with
// the same locked toolchain, and compares every shipped file byte for byte. webpack's production output is deterministic for the
// same sources and lockfile (content-hashed chunk names, deterministic module ids), so
// any other difference means the shipped build is stale. The build also records a SHA-256 of
// its inputs (build-inputs.json), which tests/test_labext.py checks without Node.
// See normalized() for the one masked difference.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const shipped = join(here, "..", "..", "aisearch_widgets", "labextension");
// Every file the build reads from this folder (besides node_modules).
const INPUTS = ["package.json", "package-lock.json", "tsconfig.json", "src", "style", "schema"];
const check = process.argv.includes("--check");

function files(dir, base = dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, base));
    else out.push(relative(base, p));
  }
  return out;
}

export function inputsHash(root) {
  const h = createHash("sha256");
  for (const entry of INPUTS) {
    const p = join(root, entry);
    const list = statSync(p).isDirectory() ? files(p).map((f) => join(entry, f)) : [entry];
    for (const f of list) {
      h.update(f.split("\\").join("/") + "\0");
      h.update(readFileSync(join(root, f)));
      h.update("\0");
    }
  }
  return h.digest("hex");
}

function build(pkgDir) {
  // The venv's `jupyter` (and the jupyter-builder it calls) must be on PATH; the
  // Makefile puts .venv/bin first.
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: pkgDir, stdio: ["ignore", "pipe", "inherit"] });
  rmSync(join(pkgDir, "lib"), { recursive: true, force: true });
  run(process.execPath, [join(here, "node_modules", "typescript", "bin", "tsc"), "-p", "."]);
  run("jupyter", ["labextension", "build", "."]);
}

// The one thing that depends on where the repository lies: webpack numbers the
// container entry module (in remoteEntry.<hash>.js) from its absolute path, and the
// file's hash and the name in package.json follow. Those are masked; every other byte,
// including all chunks with our code and CSS (content-hashed names), must be equal.
const REMOTE = /remoteEntry\.[0-9a-f]+\.js/g;
function stable(f) {
  return f.replace(REMOTE, "remoteEntry.js");
}
function normalized(path) {
  let text = readFileSync(path, "utf8").replace(REMOTE, "remoteEntry.js");
  const m = /^var _JUPYTERLAB;\(\(\)=>\{"use strict";var e=\{(\d+)\(/.exec(text);
  if (m) text = text.replace(new RegExp(`\\b${m[1]}\\b`, "g"), "ENTRY");
  return text;
}

if (!check) {
  build(here);
  writeFileSync(
    join(shipped, "build-inputs.json"),
    JSON.stringify({ sha256: inputsHash(here), inputs: INPUTS }, null, 1) + "\n",
  );
  console.log(`built ${relative(process.cwd(), shipped)}`);
} else {
  // Next to this folder when possible (hard links need one filesystem), else in /tmp.
  let tmp;
  try {
    tmp = mkdtempSync(join(here, "..", ".labext-check-"));
  } catch {
    tmp = mkdtempSync(join(tmpdir(), "aisw-labext-"));
  }
  try {
    // The same layout as the repository, so that the copy's package.json (and with it
    // every path the builder sees) is the one in git.
    const src = join(tmp, "js", "labextension");
    for (const entry of INPUTS) cpSync(join(here, entry), join(src, entry), { recursive: true });
    // A real node_modules in the copy (hard links: instant): webpack's module ids come
    // from paths relative to the package, which a symlink would change.
    try {
      execFileSync("cp", ["-al", join(here, "node_modules"), join(src, "node_modules")]);
    } catch {
      cpSync(join(here, "node_modules"), join(src, "node_modules"), { recursive: true });
    }
    const out = join(tmp, "aisearch_widgets", "labextension");
    build(src);
    const stale = [];
    const want = new Map(files(out).map((f) => [stable(f), f]));
    const have = new Map(
      files(shipped).filter((f) => f !== "build-inputs.json").map((f) => [stable(f), f]),
    );
    for (const key of new Set([...want.keys(), ...have.keys()])) {
      if (!want.has(key) || !have.has(key)) stale.push(want.get(key) || have.get(key));
      else if (normalized(join(out, want.get(key))) !== normalized(join(shipped, have.get(key))))
        stale.push(have.get(key));
    }
    let recorded = null;
    try {
      recorded = JSON.parse(readFileSync(join(shipped, "build-inputs.json"), "utf8")).sha256;
    } catch {}
    if (recorded !== inputsHash(here)) stale.push("build-inputs.json");
    if (stale.length) {
      console.error(
        `aisearch_widgets/labextension is out of date (${stale.join(", ")}): ` +
          "run `npm run build` in js/labextension",
      );
      process.exit(1);
    }
    console.log("lab extension build matches js/labextension");
  } finally {
    if (!process.env.AISW_KEEP_CHECK) rmSync(tmp, { recursive: true, force: true });
  }
}
