// Checks where the Ingresses of rendered manifests send each kind of request, as
// ingress-nginx picks a path: among the host's paths of every Ingress, an Exact one
// that equals the request path wins, else the longest Prefix one whose path segments
// begin the request's. Run by scripts/checks/k8s.sh from $ROOT/.local/k8s-validate/.
//
//   node routes.mjs [--name LABEL] FILE    one line per request checked
//
// Exit status 1 when a request goes elsewhere than expected, or to a Service the
// manifests do not define.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// [request path, Service expected (null: no path of any Ingress may match), and
// UNLOGGED when the Ingress that serves it must keep no access log: the controller's log
// line holds the client's address and the query string, which must never stand next to
// voting or a receipt (docs/privacy.md, Logs)]
const UNLOGGED = true;
const EXPECTED = [
  // The web front end (web/README.md's route table) goes to the web pods.
  ["/", "observernet-web"],
  ["/elections/0b5e3f52-2c1e-4c6e-9f0e-6f3a1d2b7c44", "observernet-web"],
  ["/receipts", "observernet-web", UNLOGGED],
  ["/verify/0b5e3f52-2c1e-4c6e-9f0e-6f3a1d2b7c44", "observernet-web"],
  ["/vote/0b5e3f52-2c1e-4c6e-9f0e-6f3a1d2b7c44", "observernet-web", UNLOGGED],
  ["/assets/booth.ABCD1234.js", "observernet-web"],
  ["/web-config.json", "observernet-web"],
  // The API, and token signing on the signers.
  ["/api/v1/public/elections", "observernet-api", UNLOGGED],
  ["/api/v1/public/elections/0b5e3f52-2c1e-4c6e-9f0e-6f3a1d2b7c44/proofs/inclusion", "observernet-api", UNLOGGED],
  ["/api/v1/elections/0b5e3f52-2c1e-4c6e-9f0e-6f3a1d2b7c44/voters", "observernet-api"],
  ["/api/v1/voting/submit", "observernet-api", UNLOGGED],
  ["/api/v1/voting/receipts/abc", "observernet-api", UNLOGGED],
  ["/api/v1/voting/token", "observernet-signer", UNLOGGED],
  // Probes and metrics stay inside the cluster.
  ["/metrics", null],
  ["/livez", null],
  ["/healthz", null],
  ["/readyz", null],
];

function segmentsStart(prefix, path) {
  if (prefix === "/") return true;
  const p = prefix.replace(/\/+$/, "");
  return path === p || path.startsWith(p + "/");
}

function check(name, file) {
  const objects = parseAllDocuments(readFileSync(file, "utf8"))
    .map((doc) => doc.toJS())
    .filter((object) => object !== null);
  const services = new Set(
    objects.filter((o) => o.kind === "Service").map((o) => o.metadata.name),
  );
  const rules = []; // {host, path, pathType, service, ingress, logged}
  for (const ingress of objects.filter((o) => o.kind === "Ingress")) {
    const logged =
      ingress.metadata.annotations?.["nginx.ingress.kubernetes.io/enable-access-log"] !== "false";
    for (const rule of ingress.spec?.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        rules.push({
          host: rule.host ?? "*",
          path: p.path,
          pathType: p.pathType,
          service: p.backend?.service?.name,
          ingress: ingress.metadata.name,
          logged,
        });
      }
    }
  }
  let ok = true;
  const fail = (message) => {
    console.log(`FAIL ${name}: ${message}`);
    ok = false;
  };
  const hosts = [...new Set(rules.map((r) => r.host))];
  if (hosts.length === 0) fail("no Ingress path at all");
  for (const r of rules) {
    if (!services.has(r.service)) {
      fail(`Ingress ${r.ingress}: ${r.path} goes to Service ${r.service}, which is not defined`);
    }
  }
  for (const host of hosts) {
    const own = rules.filter((r) => r.host === host);
    for (const [path, want, unlogged] of EXPECTED) {
      const exact = own.find((r) => r.pathType === "Exact" && r.path === path);
      const prefix = own
        .filter((r) => r.pathType !== "Exact" && segmentsStart(r.path, path))
        .sort((a, b) => b.path.length - a.path.length)[0];
      const match = exact ?? prefix;
      const got = match?.service ?? null;
      if (got !== want) {
        fail(`${host}${path} goes to ${got ?? "no Service"}` +
          `${match ? ` (Ingress ${match.ingress}, ${match.pathType} ${match.path})` : ""}, ` +
          `expected ${want ?? "no Service"}`);
      }
      if (unlogged && match?.logged) {
        fail(`${host}${path} is served by Ingress ${match.ingress}, which keeps an access log ` +
          `(client address and query string); set nginx.ingress.kubernetes.io/enable-access-log: "false"`);
      }
    }
  }
  if (ok) {
    console.log(`ok   ${name}: ${EXPECTED.length} request paths routed as expected on ` +
      `${hosts.join(", ")} (web pages to observernet-web, probes and /metrics not routed, ` +
      `${EXPECTED.filter((e) => e[2]).length} of them by Ingresses that log no access)`);
  }
  return ok;
}

const args = process.argv.slice(2);
let name;
if (args[0] === "--name") name = args.splice(0, 2)[1];
if (args.length !== 1) {
  console.error("usage: node routes.mjs [--name LABEL] FILE");
  process.exit(2);
}
process.exit(check(name ?? args[0], args[0]) ? 0 : 1);
