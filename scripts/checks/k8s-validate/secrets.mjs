// Checks which secrets each workload of rendered manifests holds (docs/security.md, Keys):
// every Deployment and the migration Job mount a Secret of their own, with exactly the
// keys their process uses, each read through an OBSERVERNET_*_FILE variable, but the web
// front end, which uses none and mounts no Secret at all; only the
// signers hold the master key, only the API the log key and the admin keys' hashes; the
// ConfigMap holds no secret. With --template, the Secrets of secret.example.yaml must have
// the same keys as the workloads mount. Run by scripts/checks/k8s.sh from
// $ROOT/.local/k8s-validate/.
//
//   node secrets.mjs [--name LABEL] [--template SECRETS.yaml] FILE
//
// Exit status 1 when a workload holds a secret it does not use, lacks one it needs, or
// shares its Secret with another.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// component label -> http.routes, its Secret, and the Secret's keys (= files it reads).
const EXPECTED = {
  api: {
    routes: "api",
    secret: "observernet-api",
    keys: [
      "database-url",
      "database-replica-urls",
      "redis-url",
      "voter-pepper",
      "log-key",
      "admin-key-hashes",
    ],
  },
  signer: {
    routes: "token",
    secret: "observernet-signer",
    keys: ["database-url", "redis-url", "voter-pepper", "master-key"],
  },
  // The pages: neither PostgreSQL nor Redis, so no Secret.
  web: { routes: "web", secret: null, keys: [] },
  // `observernet migrate` as the schema's owner; it reads no auth key.
  migrate: { routes: null, secret: "observernet-migrate", keys: ["database-url"] },
};
// The one key of each secret setting: OBSERVERNET_<NAME>_FILE reads the file of that key.
const FILE_OF = {
  OBSERVERNET_DATABASE_URL: "database-url",
  OBSERVERNET_DATABASE_REPLICA_URLS: "database-replica-urls",
  OBSERVERNET_REDIS_URL: "redis-url",
  OBSERVERNET_AUTH_VOTER_PEPPER: "voter-pepper",
  OBSERVERNET_AUTH_MASTER_KEY: "master-key",
  OBSERVERNET_AUTH_LOG_KEY: "log-key",
  OBSERVERNET_AUTH_ADMIN_KEY_HASHES: "admin-key-hashes",
};
// Where each of the most sensitive keys may be, and why.
const ONLY = {
  "master-key": ["signer", "unseals the elections' token keys: only the signers sign tokens"],
  "log-key": ["api", "signs tree heads: only the API runs the sequencer and the scheduler"],
  "admin-key-hashes": ["api", "checks admin keys: only the API serves the admin routes"],
};

const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

function load(file) {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((doc) => doc.toJS())
    .filter((object) => object !== null);
}

function check(name, file, template) {
  const objects = load(file);
  let ok = true;
  const fail = (message) => {
    console.log(`FAIL ${name}: ${message}`);
    ok = false;
  };
  const workloads = objects.filter((o) => o.kind === "Deployment" || o.kind === "Job");
  const secretOwners = new Map(); // Secret name -> workloads mounting it
  const seen = new Set();
  for (const w of workloads) {
    const label = `${w.kind} ${w.metadata.name}`;
    const component = w.spec.template.metadata?.labels?.["app.kubernetes.io/component"];
    const want = EXPECTED[component];
    if (!want) {
      fail(`${label}: component "${component}" has no entry in secrets.mjs's EXPECTED`);
      continue;
    }
    seen.add(component);
    const pod = w.spec.template.spec;
    const secretVolumes = (pod.volumes ?? []).filter((v) => v.secret);
    if (secretVolumes.length !== (want.secret ? 1 : 0)) {
      fail(`${label}: mounts ${secretVolumes.length} Secrets, expected ` +
        (want.secret ? `one: ${want.secret}` : "none"));
    }
    const files = new Map(); // mounted file path -> Secret key
    for (const v of secretVolumes) {
      const secretName = v.secret.secretName;
      secretOwners.set(secretName, [...(secretOwners.get(secretName) ?? []), label]);
      if (secretName !== want.secret) {
        fail(`${label}: mounts the Secret ${secretName}, expected its own, ${want.secret}`);
      }
      if (!v.secret.items) {
        fail(`${label}: mounts every key of ${secretName}; list the keys it reads (items)`);
        continue;
      }
      const keys = v.secret.items.map((i) => i.key);
      if (!same(keys, want.keys)) {
        fail(`${label}: mounts ${keys.join(", ")} from ${secretName}, expected exactly ` +
          `${want.keys.join(", ")}`);
      }
      for (const container of pod.containers) {
        for (const m of container.volumeMounts ?? []) {
          if (m.name !== v.name) continue;
          for (const i of v.secret.items) files.set(`${m.mountPath}/${i.path}`, i.key);
        }
      }
    }
    for (const [key, [where, why]] of Object.entries(ONLY)) {
      if (component !== where && [...files.values()].includes(key)) {
        fail(`${label}: holds ${key}, which ${why}`);
      }
    }
    for (const container of pod.containers) {
      const env = new Map((container.env ?? []).map((e) => [e.name, e]));
      const read = new Set();
      for (const [variable, entry] of env) {
        if (entry.valueFrom?.secretKeyRef) {
          fail(`${label}: ${variable} comes from a secretKeyRef; secrets are files here`);
        }
        const setting = variable.replace(/_FILE$/, "");
        if (setting in FILE_OF && variable === setting) {
          fail(`${label}: ${variable} holds a secret in the pod spec; read it from a file`);
        }
        if (!variable.endsWith("_FILE") || !(setting in FILE_OF)) continue;
        const key = files.get(entry.value);
        if (!key) {
          fail(`${label}: ${variable} reads ${entry.value}, which no Secret item mounts`);
        } else if (key !== FILE_OF[setting]) {
          fail(`${label}: ${variable} reads the Secret key ${key}, expected ${FILE_OF[setting]}`);
        }
        read.add(key);
      }
      for (const key of new Set(files.values())) {
        if (!read.has(key)) fail(`${label}: mounts ${key}, which no OBSERVERNET_*_FILE reads`);
      }
      const routes = env.get("OBSERVERNET_HTTP_ROUTES")?.value ?? "all";
      if (want.routes && routes !== want.routes) {
        fail(`${label}: OBSERVERNET_HTTP_ROUTES is ${routes}, expected ${want.routes}`);
      }
      if (component === "migrate" && !env.get("OBSERVERNET_DATABASE_RUNTIME_ROLE")?.value) {
        fail(`${label}: OBSERVERNET_DATABASE_RUNTIME_ROLE is not set: the migration must name ` +
          "the role the pods connect as");
      }
    }
  }
  for (const component of Object.keys(EXPECTED)) {
    if (!seen.has(component)) fail(`no workload with component ${component}`);
  }
  for (const [secretName, owners] of secretOwners) {
    if (owners.length > 1) fail(`Secret ${secretName} is mounted by ${owners.join(" and ")}`);
  }
  // Every pod reads the ConfigMap: no secret there.
  for (const map of objects.filter((o) => o.kind === "ConfigMap")) {
    for (const key of Object.keys(map.data ?? {})) {
      if (key.replace(/_FILE$/, "") in FILE_OF) {
        fail(`ConfigMap ${map.metadata.name}: holds ${key}, a secret every pod would read`);
      }
    }
    if (!("OBSERVERNET_AUTH_SEALING_PUBLIC_KEY" in (map.data ?? {}))) {
      fail(`ConfigMap ${map.metadata.name}: no OBSERVERNET_AUTH_SEALING_PUBLIC_KEY for the API`);
    }
  }
  if (template) {
    const secrets = load(template).filter((o) => o.kind === "Secret");
    const byName = new Map(secrets.map((s) => [s.metadata.name, s]));
    const wanted = Object.values(EXPECTED).filter((want) => want.secret);
    for (const want of wanted) {
      const secret = byName.get(want.secret);
      const keys = Object.keys({ ...secret?.stringData, ...secret?.data });
      if (!secret) {
        fail(`${template}: no Secret ${want.secret}`);
      } else if (!same(keys, want.keys)) {
        fail(`${template}: Secret ${want.secret} has ${keys.join(", ")}, expected ` +
          `${want.keys.join(", ")}`);
      }
    }
    if (secrets.length !== wanted.length) {
      fail(`${template}: ${secrets.length} Secrets, expected ${wanted.length}`);
    }
  }
  if (ok) {
    console.log(`ok   ${name}: ${workloads.length} workloads each mount their own Secret with ` +
      "only the keys they read (master key on the signers only, log key on the API only; " +
      "none on the web pods)" +
      (template ? `; ${template} matches` : ""));
  }
  return ok;
}

const args = process.argv.slice(2);
let name;
let template;
while (args[0]?.startsWith("--")) {
  const [flag, value] = args.splice(0, 2);
  if (flag === "--name") name = value;
  else if (flag === "--template") template = value;
  else args.unshift("-"); // unknown flag: usage
}
if (args.length !== 1 || args[0] === "-") {
  console.error("usage: node secrets.mjs [--name LABEL] [--template SECRETS.yaml] FILE");
  process.exit(2);
}
process.exit(check(name ?? args[0], args[0], template) ? 0 : 1);
