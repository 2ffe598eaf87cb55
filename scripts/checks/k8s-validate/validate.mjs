// Validates Kubernetes manifests (multi-document YAML, e.g. `kubectl kustomize` output)
// against the schemas of the kubernetes-models packages: Kubernetes, KEDA and
// prometheus-operator. Run by scripts/checks/k8s.sh from $ROOT/.local/k8s-validate/,
// where `npm ci` installed this folder's package-lock.json.
//
//   node validate.mjs [--name LABEL] FILE    one line: LABEL: N objects validated (kinds)
//   node validate.mjs --self-test            proves that misspelt fields are rejected
//
// Exit status 1 when any object fails, with one line per problem on stderr.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Job } from "kubernetes-models/batch/v1/Job";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

// Every kind the manifests may use; anything else is an error, so that a new kind gets
// its schema here rather than going through unchecked.
const MODELS = new Map(
  [
    ConfigMap, Namespace, Secret, Service, ServiceAccount, Deployment, Job,
    HorizontalPodAutoscaler, PodDisruptionBudget, Ingress, NetworkPolicy, ScaledObject,
    ServiceMonitor,
  ].map((model) => [`${model.apiVersion} ${model.kind}`, model]),
);

// The models' .validate() checks types, enums and required fields, but lets unknown
// fields through (the schemas do not set additionalProperties: false), and the API
// server would drop a misspelt `replica:` with at most a warning. So the same compiled
// schema is run once more over a proxy that records which keys it looks up: it looks up
// every field its schema declares, and walks all keys only of maps (labels, data, a KEDA
// trigger's metadata). A key of a checked object that it never looked up is therefore
// not in the schema. Objects it never looked into (free-form fields) are not judged.
function unknownFields(model) {
  const data = JSON.parse(JSON.stringify(model));
  const reads = new WeakMap(); // object -> { keys: Set of keys looked up, walked: bool }
  const proxies = new WeakMap();
  const track = (value) => {
    if (value === null || typeof value !== "object") return value;
    if (proxies.has(value)) return proxies.get(value);
    const seen = { keys: new Set(), walked: false };
    reads.set(value, seen);
    const note = (key) => typeof key === "string" && seen.keys.add(key);
    const proxy = new Proxy(value, {
      get: (target, key) => (note(key), track(target[key])),
      has: (target, key) => (note(key), key in target),
      getOwnPropertyDescriptor: (target, key) => (note(key), Reflect.getOwnPropertyDescriptor(target, key)),
      ownKeys: (target) => ((seen.walked = true), Reflect.ownKeys(target)),
    });
    proxies.set(value, proxy);
    return proxy;
  };
  // The prototype's validate runs the schema over whatever `this` is.
  Object.getPrototypeOf(model).validate.call(track(data));

  const unknown = [];
  const visit = (value, path) => {
    if (value === null || typeof value !== "object") return;
    if (Array.isArray(value)) return value.forEach((item, i) => visit(item, `${path}[${i}]`));
    const seen = reads.get(value);
    for (const [key, item] of Object.entries(value)) {
      if (seen && seen.keys.size > 0 && !seen.walked && !seen.keys.has(key)) {
        unknown.push(`${path}.${key}`.replace(/^\./, ""));
      }
      visit(item, `${path}.${key}`);
    }
  };
  visit(data, "");
  return unknown;
}

// Problems of one manifest object, as strings ([] when it is valid).
function problems(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    return ["not a YAML mapping"];
  }
  const Model = MODELS.get(`${object.apiVersion} ${object.kind}`);
  if (!Model) return [`unknown kind ${object.apiVersion} ${object.kind} (no schema in validate.mjs)`];
  const model = new Model(object);
  try {
    model.validate();
  } catch (error) {
    return [error.message];
  }
  return unknownFields(model).map((path) => `unknown field ${path}`);
}

function validateFile(name, file) {
  const counts = new Map();
  const errors = [];
  let total = 0;
  parseAllDocuments(readFileSync(file, "utf8")).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      errors.push(`document ${index + 1}: YAML: ${doc.errors[0].message}`);
      return;
    }
    const object = doc.toJS();
    if (object === null) return; // an empty document (a trailing ---)
    total += 1;
    const id = `${object.kind ?? "?"}/${object.metadata?.name ?? "?"}`;
    for (const problem of problems(object)) errors.push(`${id}: ${problem}`);
    counts.set(object.kind, (counts.get(object.kind) ?? 0) + 1);
  });
  for (const error of errors) console.log(`FAIL ${name}: ${error}`);
  if (total === 0) console.log(`FAIL ${name}: no objects`);
  if (errors.length > 0 || total === 0) return false;
  const kinds = [...counts].map(([kind, n]) => `${kind} ${n}`).join(", ");
  console.log(`ok   ${name}: ${total} object${total === 1 ? "" : "s"} validated (${kinds})`);
  return true;
}

// The misspellings the check must catch, and one object that must pass. Run by k8s.sh
// so that a future package version that stops reporting them fails the check loudly.
function selfTest() {
  const deployment = () => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "t", labels: { any: "label" } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "t" } },
      template: {
        metadata: { labels: { app: "t" } },
        spec: { containers: [{ name: "t", image: "t:1", ports: [{ containerPort: 8080 }] }] },
      },
    },
  });
  const mutated = (edit) => { const d = deployment(); edit(d); return d; };
  // [what the problem must mention, the object]
  const cases = [
    ["unknown field spec.replica", mutated((d) => { d.spec.replica = 3; })],
    ["containers[0].imagee", mutated((d) => { d.spec.template.spec.containers[0].imagee = "t:2"; })],
    ["ports[0].containerport", mutated((d) => { d.spec.template.spec.containers[0].ports[0].containerport = 1; })],
    ["spec.minReplicas", {
      apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", metadata: { name: "t" },
      spec: { scaleTargetRef: { name: "t" }, minReplicas: 1,
              triggers: [{ type: "prometheus", metadata: { query: "up", threshold: "1" } }] },
    }],
    ["endpoints[0].portt", {
      apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "t" },
      spec: { selector: {}, endpoints: [{ portt: "http" }] },
    }],
    ["replicas must be integer", mutated((d) => { d.spec.replicas = "3"; })],
    ["unknown kind", { apiVersion: "apps/v1", kind: "StatefulSett", metadata: { name: "t" } }],
  ];
  let ok = problems(deployment()).length === 0;
  if (!ok) console.log(`FAIL self-test: a valid Deployment was rejected: ${problems(deployment())}`);
  for (const [expected, object] of cases) {
    const found = problems(object);
    if (!found.some((problem) => problem.includes(expected))) {
      console.log(`FAIL self-test: expected "${expected}", got: ${found.join("; ") || "no problem"}`);
      ok = false;
    }
  }
  if (ok) console.log(`ok   self-test: ${cases.length} broken objects rejected, a valid one accepted`);
  return ok;
}

const args = process.argv.slice(2);
if (args[0] === "--self-test") {
  process.exit(selfTest() ? 0 : 1);
}
let name;
if (args[0] === "--name") name = args.splice(0, 2)[1];
if (args.length !== 1) {
  console.error("usage: node validate.mjs [--name LABEL] FILE | --self-test");
  process.exit(2);
}
process.exit(validateFile(name ?? args[0], args[0]) ? 0 : 1);
