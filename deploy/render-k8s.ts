// Writes deploy/k8s/bounty-bot.yaml from the Helm chart's default values: `npm run render-k8s`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PLAIN_MANIFESTS, plainManifests } from "../test/support/helm.js";

const root = process.cwd();
writeFileSync(join(root, PLAIN_MANIFESTS), plainManifests(root));
console.log(`wrote ${PLAIN_MANIFESTS}`);
