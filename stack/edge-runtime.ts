/**
 * A miniature of Supabase's Edge Runtime for the local stack. It runs under Deno (started by
 * stack/functions-server.ts), loads every supabase/functions/<name>/index.ts, takes the handler each one
 * passes to Deno.serve, and serves them all on one port under Supabase's paths:
 *
 *   POST http://127.0.0.1:<port>/functions/v1/<name>[/...]   the function sees /<name>[/...], as on Supabase
 *   GET  http://127.0.0.1:<port>/_internal/health            200 once every function has been loaded
 *
 * A function that throws while loading (its environment check, say) answers 503 BOOT_ERROR, as a Supabase
 * worker that fails to boot does, and its error goes to the log. Functions get this process's environment.
 *
 * Usage: deno run --allow-net --allow-env --allow-read stack/edge-runtime.ts <port> <functions folder>
 *
 * This file runs under Deno, not Node. It declares the slice of Deno's API it uses, so the repository's
 * `tsc` checks it like the rest of stack/.
 */

interface ServeOptions {
  hostname?: string;
  port?: number;
  onListen?: (address: { hostname: string; port: number }) => void;
  onError?: (error: unknown) => Response | Promise<Response>;
}
type Handler = (request: Request, info: unknown) => Response | Promise<Response>;
interface DenoApi {
  args: string[];
  serve: (options: ServeOptions, handler: Handler) => unknown;
  readDir(path: string): AsyncIterable<{ name: string; isDirectory: boolean }>;
  stat(path: string): Promise<{ isFile: boolean }>;
  exit(code: number): never;
}

const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
const realServe = deno.serve.bind(deno);

const prefix = "/functions/v1/";
const handlers = new Map<string, Handler>();
const bootErrors = new Map<string, string>();

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** Deno.serve(handler), Deno.serve(options, handler) and Deno.serve({ handler, ...options }): the handler of each. */
function handlerOf(args: unknown[]): Handler | undefined {
  const found = args.find((arg) => typeof arg === "function") ?? (args[0] as { handler?: unknown } | undefined)?.handler;
  return typeof found === "function" ? (found as Handler) : undefined;
}

/** What Deno.serve gives back, for a function that keeps it: a server that is never shut down from inside. */
const stubServer = { finished: new Promise<void>(() => undefined), shutdown: async () => undefined, ref() {}, unref() {}, addr: {} };

async function functionNames(folder: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of deno.readDir(folder)) {
    // _shared and dot-folders hold code for functions, not functions; Supabase skips them too.
    if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    const stat = await deno.stat(`${folder}/${entry.name}/index.ts`).catch(() => undefined);
    if (stat?.isFile) names.push(entry.name);
  }
  return names.sort();
}

async function load(folder: string, name: string): Promise<void> {
  let captured: Handler | undefined;
  (deno as { serve: unknown }).serve = (...args: unknown[]) => {
    captured = handlerOf(args);
    return stubServer;
  };
  try {
    await import(new URL(`file://${folder}/${name}/index.ts`).href);
    if (!captured) throw new Error("index.ts did not call Deno.serve(handler)");
    handlers.set(name, captured);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    bootErrors.set(name, message);
    console.error(`edge runtime: function ${name} failed to boot: ${message}`);
  } finally {
    (deno as { serve: unknown }).serve = realServe;
  }
}

function route(request: Request, info: unknown): Response | Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/_internal/health") return json(200, { functions: [...handlers.keys()], failed: [...bootErrors.keys()] });
  if (!url.pathname.startsWith(prefix)) return json(404, { code: "NOT_FOUND", message: `Functions are served under ${prefix}<name>` });
  const [name, ...rest] = url.pathname.slice(prefix.length).split("/");
  if (bootErrors.has(name)) return json(503, { code: "BOOT_ERROR", message: "Worker failed to boot (please check logs)" });
  const handler = handlers.get(name);
  if (!handler) return json(404, { code: "NOT_FOUND", message: "Requested function was not found" });
  const inner = new URL(`/${[name, ...rest].join("/")}${url.search}`, url.origin);
  return handler(new Request(inner, request), info);
}

async function main(): Promise<void> {
  const [portArg, folder] = deno.args;
  const port = Number(portArg);
  if (!Number.isInteger(port) || !folder) {
    console.error("usage: deno run --allow-net --allow-env --allow-read stack/edge-runtime.ts <port> <functions folder>");
    deno.exit(2);
  }
  for (const name of await functionNames(folder)) await load(folder, name);
  realServe(
    {
      hostname: "127.0.0.1",
      port,
      onListen: () => console.error(`edge runtime: serving ${[...handlers.keys()].join(", ") || "no function"} on http://127.0.0.1:${port}${prefix}`),
      // A handler that throws is a 500 in JSON, as on Supabase, and the error goes to the log.
      onError: (error) => {
        console.error(`edge runtime: a function threw: ${error instanceof Error ? error.stack : String(error)}`);
        return json(500, { code: "WORKER_ERROR", message: "Function exited due to an error (please check logs)" });
      },
    },
    route,
  );
}

main();
