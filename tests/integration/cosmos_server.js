// Starts @vercel/cosmosdb-server over HTTPS (its bundled self-signed certificate) on 127.0.0.1:<port>.
// Usage: node cosmos_server.js <port>
//
// Applied before the routes load:
// - fix: in 1.0.1 a point read of an absent item in an existing container throws a TypeError (answered
//   as 500); Cosmos DB answers 404 NotFound, which the store maps to None.
// - test hook: a point read of an id "throttled-<n>-..." is answered 429 (x-ms-retry-after-ms: 5) the
//   first <n> times, as Cosmos DB does when a request exceeds the provisioned or serverless throughput,
//   so the tests can watch the SDK's throttling retry policy at work.
// Everything else is the package as published.
"use strict";

const readDocument = require("@vercel/cosmosdb-server/lib/handler/read-document");

const originalRead = readDocument.default;
const throttledReads = new Map();
readDocument.default = (account, req, res, params) => {
  const throttled = /^throttled-(\d+)-/.exec(decodeURIComponent(params.docId));
  if (throttled) {
    const seen = throttledReads.get(params.docId) || 0;
    if (seen < parseInt(throttled[1], 10)) {
      throttledReads.set(params.docId, seen + 1);
      res.statusCode = 429;
      res.setHeader("x-ms-retry-after-ms", "5");
      return { code: "TooManyRequests", message: "Request rate is large (test hook)." };
    }
  }
  try {
    return originalRead(account, req, res, params);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    res.statusCode = 404;
    return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
  }
};

const { createHttpsServer } = require("@vercel/cosmosdb-server");

const port = parseInt(process.argv[2], 10);
if (!Number.isInteger(port)) {
  console.error("usage: node cosmos_server.js <port>");
  process.exit(2);
}
// keepAlive: the package answers "connection: close" by default, a new TLS handshake per request.
const server = createHttpsServer({ keepAlive: true }).listen(port, "127.0.0.1", () => {
  console.log(`cosmosdb-server listening on https://127.0.0.1:${port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
