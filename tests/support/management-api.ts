/**
 * A local stand-in for Supabase's Management API over the local stack, with the endpoints this project
 * calls. Every one takes `Authorization: Bearer <token>` (401 otherwise) and answers 404 for another
 * project, as the real API does.
 *
 *   POST   /v1/projects/{ref}/database/query            {"query", "read_only"?} -> 201 rows; 400 {message} when
 *          the database refuses it. A read_only query runs in a read-only transaction as postgres.
 *   POST   /v1/projects/{ref}/functions/deploy?slug=s   multipart: `metadata` {entrypoint_path, name, verify_jwt?,
 *          import_map_path?} and one `file` part per source file -> 201 {id, slug, name, version, status,
 *          ezbr_sha256, ...}; 400 when it does not bundle (the same checks as infra/providers/function-bundle.ts).
 *          The files are written to this server's folder of functions and the stack's functions server is
 *          restarted on its port to serve them, with the project's secrets as its environment.
 *   GET    /v1/projects/{ref}/functions[/{slug}]        the deployed functions; 404 for a slug never deployed
 *   DELETE /v1/projects/{ref}/functions/{slug}
 *   POST   /v1/projects/{ref}/secrets                   [{name, value}] create or replace; 400 for a SUPABASE_ name
 *   GET    /v1/projects/{ref}/secrets                   [{name, value: SHA-256 hex of the value}], Supabase's own
 *          SUPABASE_ secrets included, never a value
 *   DELETE /v1/projects/{ref}/secrets                   ["NAME", ...]
 *
 * Setting or deleting secrets restarts the functions server too, once something has been deployed (a
 * project's workers boot with the secrets of the moment). `restore()` puts the stack's own functions server
 * back. Every request is recorded, so a test can check what was sent (and that the token went in the
 * header only).
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, IncomingHttpHeaders, Server, ServerResponse } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { AddressInfo } from "node:net";
import { dirname, join, relative, resolve } from "node:path";
import { Client } from "pg";
import * as ts from "typescript";
import { functionBundle } from "../../infra/providers/function-bundle";
import { functionSlugPattern } from "../../infra/providers/edge-function";
import { reservedSecretPrefix } from "../../infra/providers/management-api";
import { platformEnv, restartFunctions } from "../../stack/edge-functions";
import { localDir } from "../../stack/paths";
import { writeState } from "../../stack/stack";
import { stack } from "./db";

export interface ApiRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface DeployedFunction {
  id: string;
  slug: string;
  name: string;
  version: number;
  status: "ACTIVE";
  ezbr_sha256: string;
  entrypoint_path: string;
  import_map_path?: string;
  verify_jwt: boolean;
  created_at: number;
  updated_at: number;
}

export interface FakeManagementApi {
  url: string;
  requests: ApiRequest[];
  /** Where deploys write the functions; the functions server serves this folder once one has happened. */
  functionsDir: string;
  functions: Map<string, DeployedFunction>;
  /** The project's function secrets, as `supabase secrets set` would have set them. */
  secrets: Map<string, string>;
  /** Serves the stack's own functions with the stack's own credentials again. */
  restore: () => Promise<void>;
  close: () => Promise<void>;
}

const sha256 = (value: string | Buffer) => createHash("sha256").update(value).digest("hex");

export async function startManagementApi(projectRef: string, token: string): Promise<FakeManagementApi> {
  const requests: ApiRequest[] = [];
  const functions = new Map<string, DeployedFunction>();
  const secrets = new Map<string, string>();
  mkdirSync(localDir, { recursive: true });
  const root = mkdtempSync(join(localDir, "management-api-"));
  const functionsDir = join(root, "functions");
  mkdirSync(functionsDir, { recursive: true });

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };

  /** The functions server, restarted to serve what was deployed with the secrets of now. */
  async function serveDeployment(): Promise<void> {
    if (functions.size === 0) return;
    const state = stack();
    await restartFunctions(state, { dir: functionsDir, secrets: Object.fromEntries(secrets) });
    writeState(state);
  }

  async function runQuery(body: string): Promise<[number, unknown]> {
    let parsed: { query?: unknown; read_only?: unknown };
    try {
      parsed = JSON.parse(body);
    } catch {
      return [400, { message: "Body is not JSON" }];
    }
    if (typeof parsed.query !== "string") return [400, { message: "query must be a string" }];
    const client = new Client({ connectionString: stack().postgresUrl });
    try {
      await client.connect();
      await client.query(parsed.read_only === true ? "begin read only" : "begin");
      const result = await client.query(parsed.query);
      await client.query("rollback");
      return [201, result.rows];
    } catch (error) {
      return [400, { message: `Failed to run sql query: ${(error as Error).message}` }];
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async function deploy(slug: string | null, raw: Buffer, contentType: string): Promise<[number, unknown]> {
    if (!slug || !functionSlugPattern.test(slug)) return [400, { message: `Invalid slug: ${slug}` }];
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(raw), { headers: { "Content-Type": contentType } }).formData();
    } catch {
      return [400, { message: "Body is not multipart/form-data" }];
    }
    let metadata: { entrypoint_path?: string; name?: string; import_map_path?: string; verify_jwt?: boolean };
    try {
      metadata = JSON.parse(String(form.get("metadata")));
    } catch {
      return [400, { message: "metadata must be JSON" }];
    }
    // The local runtime serves <folder>/<slug>/index.ts, as `supabase functions serve` lays functions out.
    if (metadata.entrypoint_path !== `${slug}/index.ts`) return [400, { message: `entrypoint_path must be ${slug}/index.ts here, not ${metadata.entrypoint_path}` }];
    const staging = mkdtempSync(join(root, "upload-"));
    try {
      for (const part of form.getAll("file")) {
        if (typeof part === "string") return [400, { message: "every file part must be a file" }];
        const target = resolve(staging, part.name);
        if (relative(staging, target).startsWith("..")) return [400, { message: `file name ${part.name} leaves the function's folder` }];
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, Buffer.from(await part.arrayBuffer()));
      }
      const bundle = functionBundle(ts, join(staging, metadata.entrypoint_path), metadata.import_map_path ? join(staging, metadata.import_map_path) : undefined);
      if ("problems" in bundle) return [400, { message: `Failed to bundle the function: ${bundle.problems.join("; ").split(staging).join("")}` }];
      // Like an eszip: one file of everything uploaded. Its digest is not the uploader's checksum.
      const eszip = Buffer.concat(bundle.files.flatMap((file) => [Buffer.from(`${file.name}\0`), file.content, Buffer.from("\0")]));
      for (const file of bundle.files) {
        const target = join(functionsDir, file.name);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, file.content);
      }
      const now = Date.now();
      const previous = functions.get(slug);
      const deployed: DeployedFunction = {
        id: previous?.id ?? randomUUID(),
        slug,
        name: metadata.name ?? slug,
        version: (previous?.version ?? 0) + 1,
        status: "ACTIVE",
        ezbr_sha256: sha256(Buffer.concat([Buffer.from("eszip2\0"), eszip])),
        entrypoint_path: metadata.entrypoint_path,
        ...(metadata.import_map_path ? { import_map_path: metadata.import_map_path } : {}),
        verify_jwt: metadata.verify_jwt ?? true,
        created_at: previous?.created_at ?? now,
        updated_at: now,
      };
      functions.set(slug, deployed);
      await serveDeployment();
      return [201, deployed];
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }

  async function setSecrets(body: string): Promise<[number, unknown]> {
    let list: { name?: unknown; value?: unknown }[];
    try {
      list = JSON.parse(body);
    } catch {
      return [400, { message: "Body is not JSON" }];
    }
    if (!Array.isArray(list) || list.some((secret) => typeof secret?.name !== "string" || typeof secret.value !== "string")) {
      return [400, { message: "Body must be an array of {name, value}" }];
    }
    const reserved = list.filter((secret) => String(secret.name).startsWith(reservedSecretPrefix));
    if (reserved.length > 0) return [400, { message: `Env var name cannot start with ${reservedSecretPrefix}: ${reserved.map((secret) => secret.name).join(", ")}` }];
    for (const secret of list) secrets.set(secret.name as string, secret.value as string);
    await serveDeployment();
    return [201, {}];
  }

  async function deleteSecrets(body: string): Promise<[number, unknown]> {
    let names: unknown;
    try {
      names = JSON.parse(body);
    } catch {
      return [400, { message: "Body is not JSON" }];
    }
    if (!Array.isArray(names) || names.some((name) => typeof name !== "string")) return [400, { message: "Body must be an array of names" }];
    for (const name of names as string[]) secrets.delete(name);
    await serveDeployment();
    return [200, {}];
  }

  async function route(method: string, url: URL, raw: Buffer, headers: IncomingHttpHeaders): Promise<[number, unknown]> {
    const match = /^\/v1\/projects\/([^/]+)(\/.*)$/.exec(url.pathname);
    if (!match) return [404, { message: "Not found" }];
    if (headers.authorization !== `Bearer ${token}`) return [401, { message: "Unauthorized" }];
    if (match[1] !== projectRef) return [404, { message: "Project not found" }];
    const path = match[2];
    const body = raw.toString("utf8");
    if (method === "POST" && path === "/database/query") return runQuery(body);
    if (method === "POST" && path === "/functions/deploy") return deploy(url.searchParams.get("slug"), raw, String(headers["content-type"] ?? ""));
    if (method === "GET" && path === "/functions") return [200, [...functions.values()]];
    const slug = /^\/functions\/([^/]+)$/.exec(path)?.[1];
    if (slug && method === "GET") return functions.has(slug) ? [200, functions.get(slug)] : [404, { message: "Function not found" }];
    if (slug && method === "DELETE") {
      if (!functions.delete(slug)) return [404, { message: "Function not found" }];
      rmSync(join(functionsDir, slug), { recursive: true, force: true });
      await serveDeployment();
      return [200, {}];
    }
    if (path === "/secrets" && method === "POST") return setSecrets(body);
    if (path === "/secrets" && method === "DELETE") return deleteSecrets(body);
    if (path === "/secrets" && method === "GET") {
      // Supabase lists the secrets it sets itself too; never a value, only its digest.
      const platform = Object.entries(platformEnv(stack(), "http://127.0.0.1")).map(([name, value]) => ({ name, value: sha256(value) }));
      return [200, [...platform, ...[...secrets].map(([name, value]) => ({ name, value: sha256(value) }))]];
    }
    return [404, { message: "Not found" }];
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const raw = Buffer.concat(chunks);
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: raw.toString("utf8") });
      try {
        const [status, body] = await route(req.method ?? "", new URL(req.url ?? "/", "http://127.0.0.1"), raw, req.headers);
        reply(res, status, body);
      } catch (error) {
        reply(res, 500, { message: (error as Error).message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    functionsDir,
    functions,
    secrets,
    restore: async () => {
      const state = stack();
      await restartFunctions(state);
      writeState(state);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(root, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
