/**
 * The pg_net stand-in's background worker: what pg_net's C worker does, as a separate process that the
 * local stack starts and stops with the database. It consumes net.http_request_queue in id order (only
 * committed rows are visible to it), sends each request with its timeout, and writes net._http_response
 * with the same columns and messages as pg_net 0.20 (libcurl's strerror texts, the detailed timeout text).
 * Responses older than pg_net.ttl are deleted, as the real worker does.
 *
 * Usage: tsx stack/net-worker.ts <connection string>
 */
import { IncomingMessage, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Client } from "pg";

const applicationName = "pg_net stand-in worker";
const idlePollMs = 500;

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  timeout_milliseconds: number;
  headers: Record<string, string> | null;
  body: Buffer | null;
}

interface ResponseRow {
  status_code: number | null;
  content: string | null;
  headers: Record<string, string> | null;
  content_type: string | null;
  timed_out: boolean;
  error_msg: string | null;
}

/** libcurl's texts for the failures a trigger meets, so error_msg reads as it does in production. */
function curlMessage(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ECONNREFUSED":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "Couldn't connect to server";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "Couldn't resolve host name";
    case "ECONNRESET":
    case "EPIPE":
      return "Failure when receiving data from the peer";
    default:
      return error.message;
  }
}

interface Exchange {
  status: number;
  /** As pg_net records them: the names as the server sent them, the last value of a repeated name. */
  headers: Record<string, string>;
  /** The last response's Content-Type, as pg_net's content_type column holds it. */
  contentType: string | null;
  body: string;
}

/** Headers as pg_net 0.20 records them (curl_easy_nextheader): names not lower-cased, a repeated name's last value. */
function sentHeaders(response: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) headers[response.rawHeaders[i]] = response.rawHeaders[i + 1];
  return headers;
}

const maxRedirects = 10;

/**
 * One HTTP exchange with node:http rather than fetch, whose Headers lower-case every name. Redirects are
 * followed as curl's FOLLOWLOCATION does; pg_net then keeps the first response's headers and the last
 * response's status and body.
 */
function exchange(url: URL, method: string, headers: Record<string, string>, body: Buffer | null, signal: AbortSignal, redirects = 0): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(url, { method, headers, signal }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (status >= 300 && status < 400 && location && redirects < maxRedirects) {
          const again = status === 303 ? { method: "GET", body: null } : { method, body };
          exchange(new URL(location, url), again.method, headers, again.body, signal, redirects + 1).then(
            (next) => resolve({ ...next, headers: sentHeaders(response) }),
            reject,
          );
          return;
        }
        resolve({ status, headers: sentHeaders(response), contentType: response.headers["content-type"] ?? null, body: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.on("error", reject);
    req.end(body ?? undefined);
  });
}

async function send(request: QueuedRequest): Promise<ResponseRow> {
  const started = performance.now();
  const headers: Record<string, string> = { "User-Agent": "pg_net/0.20.4", ...(request.headers ?? {}) };
  const signal = AbortSignal.timeout(request.timeout_milliseconds);
  try {
    const response = await exchange(new URL(request.url), request.method.toUpperCase(), headers, request.body, signal);
    return {
      status_code: response.status,
      content: response.body === "" ? null : response.body,
      headers: response.headers,
      content_type: response.contentType,
      timed_out: false,
      error_msg: null,
    };
  } catch (error) {
    if (signal.aborted) {
      const total = (performance.now() - started).toFixed(6);
      return {
        status_code: null,
        content: null,
        headers: null,
        content_type: null,
        timed_out: true,
        error_msg:
          `Timeout of ${request.timeout_milliseconds} ms reached. Total time: ${total} ms ` +
          `(DNS time: 0.000000 ms, TCP/SSL handshake time: 0.000000 ms, HTTP Request/Response time: ${total} ms)`,
      };
    }
    return { status_code: null, content: null, headers: null, content_type: null, timed_out: false, error_msg: curlMessage(error as NodeJS.ErrnoException) };
  }
}

async function settings(client: Client): Promise<{ ttl: string; batchSize: number }> {
  const { rows } = await client.query(
    `select coalesce(nullif(current_setting('pg_net.ttl', true), ''), '6 hours') as ttl,
            coalesce(nullif(current_setting('pg_net.batch_size', true), ''), '200')::int as batch_size`,
  );
  return { ttl: rows[0].ttl, batchSize: rows[0].batch_size };
}

async function runBatch(client: Client): Promise<number> {
  const { ttl, batchSize } = await settings(client);
  await client.query(
    `with rows as (select ctid from net._http_response where created < now() - $1::interval order by created limit $2)
     delete from net._http_response r using rows where r.ctid = rows.ctid`,
    [ttl, batchSize],
  );
  const { rows } = await client.query<QueuedRequest>(
    `with rows as (select id from net.http_request_queue order by id limit $1)
     delete from net.http_request_queue q using rows where q.id = rows.id
     returning q.id, q.method, q.url, q.timeout_milliseconds, q.headers, q.body`,
    [batchSize],
  );
  await Promise.all(
    rows.map(async (request) => {
      const response = await send(request);
      await client.query(
        `insert into net._http_response (id, status_code, content, headers, content_type, timed_out, error_msg)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [request.id, response.status_code, response.content, response.headers, response.content_type, response.timed_out, response.error_msg],
      );
    }),
  );
  return rows.length;
}

async function main(): Promise<void> {
  const connectionString = process.argv[2];
  if (!connectionString) throw new Error("usage: net-worker <connection string>");
  const client = new Client({ connectionString, application_name: applicationName });
  await client.connect();
  await client.query("listen pg_net_stand_in");

  let wake: () => void = () => {};
  client.on("notification", () => wake());
  client.on("error", (error) => {
    process.stderr.write(`pg_net stand-in worker: lost the database connection (${error.message}); exiting\n`);
    process.exit(1);
  });
  let stopping = false;
  const stop = () => {
    stopping = true;
    wake();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);

  while (!stopping) {
    try {
      const sent = await runBatch(client);
      if (sent > 0) continue;
    } catch (error) {
      process.stderr.write(`pg_net stand-in worker: ${(error as Error).message}\n`);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, idlePollMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  await client.end();
}

main().catch((error) => {
  process.stderr.write(`pg_net stand-in worker: ${(error as Error).message}\n`);
  process.exit(1);
});
