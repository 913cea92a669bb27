/**
 * The local stack itself: Supabase's privilege model, pg_cron run by a non-superuser for another role,
 * the pg_net stand-in against a real socket, and the Vault stand-in. Everything else stands on these.
 */
import { Client } from "pg";
import { asRole, stack, waitFor, withClient } from "../support/db";
import { refusedConnection, startEndpoint, TestEndpoint } from "../support/http-server";
import { freePort } from "../../stack/cluster";
import { applyMigrations, migrationChanged } from "../../stack/migrate";

interface HttpResponseRow {
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean | null;
  error_msg: string | null;
}

async function responseFor(client: Client, id: string): Promise<HttpResponseRow> {
  return waitFor(`pg_net response ${id}`, async () => {
    const { rows } = await client.query<HttpResponseRow>(
      "select status_code, content_type, headers, content, timed_out, error_msg from net._http_response where id = $1",
      [id],
    );
    return rows[0];
  });
}

async function post(client: Client, url: string, timeoutMs = 5000): Promise<string> {
  const { rows } = await client.query(
    `select net.http_post(url := $1, body := '{"hello":"world"}'::jsonb,
                          headers := '{"Content-Type":"application/json","Authorization":"Bearer local-test"}'::jsonb,
                          timeout_milliseconds := $2) as id`,
    [url, timeoutMs],
  );
  return rows[0].id;
}

describe("Supabase's privilege model", () => {
  test("postgres logs in but is not a superuser, and the API roles exist", async () => {
    await withClient(async (client) => {
      const { rows } = await client.query(
        `select rolname, rolsuper, rolbypassrls from pg_roles
          where rolname in ('postgres','anon','authenticated','service_role','authenticator') order by rolname`,
      );
      expect(rows.map((r) => r.rolname)).toEqual(["anon", "authenticated", "authenticator", "postgres", "service_role"]);
      expect(rows.every((r) => r.rolsuper === false)).toBe(true);
      expect(rows.find((r) => r.rolname === "service_role").rolbypassrls).toBe(true);
    });
  });

  test("a table postgres creates in public is granted to the API roles, as Supabase's default privileges do", async () => {
    await withClient(async (client) => {
      await client.query("begin");
      await client.query("create table public.default_privileges_probe (x int)");
      const { rows } = await client.query(
        `select grantee from information_schema.role_table_grants
          where table_name = 'default_privileges_probe' and privilege_type = 'DELETE' order by grantee`,
      );
      await client.query("rollback");
      expect(rows.map((r) => r.grantee)).toEqual(["anon", "authenticated", "postgres", "service_role"]);
    });
  });
});

describe("pg_net (the real extension, or the stand-in where it is absent)", () => {
  let endpoint: TestEndpoint;
  beforeAll(async () => {
    endpoint = await startEndpoint();
  });
  afterAll(() => endpoint.close());

  test("delivers a POST with its headers and JSON body, and records the 200 as pg_net does", async () => {
    await withClient(async (client) => {
      endpoint.reply({ status: 200, body: '{"ok":true}' });
      const id = await post(client, `${endpoint.url}/ok?x=1`);
      const response = await responseFor(client, id);
      const request = endpoint.requests.find((r) => r.url === "/ok?x=1");
      expect(request?.method).toBe("POST");
      expect(request?.headers.authorization).toBe("Bearer local-test");
      expect(request?.headers["content-type"]).toBe("application/json");
      expect(request?.headers["user-agent"]).toMatch(/^pg_net\//);
      expect(JSON.parse(request?.body ?? "")).toEqual({ hello: "world" });
      expect(response).toMatchObject({ status_code: 200, content: '{"ok":true}', content_type: "application/json", timed_out: false, error_msg: null });
      // pg_net keeps header names as the server sent them (Node's writeHead here: "Content-Type").
      expect(response.headers?.["Content-Type"]).toBe("application/json");
      expect(response.headers?.["content-type"]).toBeUndefined();
    });
  });

  test("records a 500 with its body, like any completed response", async () => {
    await withClient(async (client) => {
      endpoint.reply({ status: 500, body: "boom" });
      const response = await responseFor(client, await post(client, `${endpoint.url}/fail`));
      expect(response).toMatchObject({ status_code: 500, content: "boom", timed_out: false, error_msg: null });
    });
  });

  test("records a refused connection with libcurl's message and no status", async () => {
    await withClient(async (client) => {
      const closedPort = await freePort();
      const response = await responseFor(client, await post(client, `http://127.0.0.1:${closedPort}/`));
      expect(response).toMatchObject({ status_code: null, timed_out: false, error_msg: expect.stringMatching(refusedConnection) });
    });
  });

  test("records a timeout with timed_out and pg_net's detailed message", async () => {
    await withClient(async (client) => {
      endpoint.reply({ status: 200, delayMs: 3000 });
      const response = await responseFor(client, await post(client, `${endpoint.url}/slow`, 300));
      expect(response.status_code).toBeNull();
      expect(response.timed_out).toBe(true);
      expect(response.error_msg).toMatch(/^Timeout of 300 ms reached\. Total time: [\d.]+ ms/);
      endpoint.reply({ status: 200 });
    });
  });

  test("sends nothing for a request whose transaction rolled back", async () => {
    await withClient(async (client) => {
      const before = endpoint.requests.length;
      await client.query("begin");
      const id = await post(client, `${endpoint.url}/rolled-back`);
      await client.query("rollback");
      // A committed request made after it is answered; by then the rolled-back one would have been sent too.
      await responseFor(client, await post(client, `${endpoint.url}/after`));
      expect(endpoint.requests.slice(before).map((r) => r.url)).toEqual(["/after"]);
      const { rowCount } = await client.query("select 1 from net._http_response where id = $1", [id]);
      expect(rowCount).toBe(0);
    });
  });

  test("deletes responses older than pg_net.ttl", async () => {
    await withClient(async (client) => {
      await client.query("insert into net._http_response (id, status_code, created) values (-1, 200, now() - interval '7 hours')");
      await post(client, `${endpoint.url}/wakes-the-worker`);
      await waitFor("the expired response to be deleted", async () => {
        const { rowCount } = await client.query("select 1 from net._http_response where id = -1");
        return rowCount === 0 ? true : undefined;
      });
    });
  });
});

describe("Vault (the real extension, or the stand-in where it is absent)", () => {
  test("create, read decrypted, update, and refuse a duplicate name", async () => {
    await withClient(async (client) => {
      const name = `stack_probe_${Date.now()}`;
      const { rows } = await client.query("select vault.create_secret('first value', $1, 'probe') as id", [name]);
      const id = rows[0].id;
      const read = async () => (await client.query("select secret, decrypted_secret from vault.decrypted_secrets where id = $1", [id])).rows[0];
      const first = await read();
      expect(first.decrypted_secret).toBe("first value");
      expect(first.secret).not.toContain("first value");
      await client.query("select vault.update_secret($1, 'second value')", [id]);
      expect((await read()).decrypted_secret).toBe("second value");
      await expect(client.query("select vault.create_secret('x', $1)", [name])).rejects.toMatchObject({ code: "23505" });
      await client.query("delete from vault.secrets where id = $1", [id]);
    });
  });

  test.each(["anon", "authenticated", "service_role"])("%s cannot read Vault", async (role) => {
    await withClient(async (client) => {
      await asRole(client, role, async () => {
        await expect(client.query("select decrypted_secret from vault.decrypted_secrets")).rejects.toMatchObject({ code: "42501" });
      });
    });
  });

  test("the key stays outside the database: postgres can read neither the key file nor (stand-in) the key function", async () => {
    const standIn = stack().standIns.includes("supabase_vault");
    await withClient(async (client) => {
      // The stand-in's key, or the real Vault's root key that its getkey script prints.
      const keyFile = standIn ? "vault_stand_in.key" : "vault-root.key";
      // The key is there and not empty (the superuser sees it), so the refusal below is about postgres, not a
      // missing file. (Not `pg_stat_file(...) is not null`: a row with any null field, as "creation" is on Linux, is not "not null".)
      const size = await withClient(async (admin) => (await admin.query("select (pg_stat_file($1, true)).size", [keyFile])).rows[0].size, { admin: true });
      expect(Number(size)).toBeGreaterThan(0);
      await expect(client.query("select pg_read_file($1)", [keyFile])).rejects.toMatchObject({ code: "42501" });
      if (standIn) await expect(client.query("select vault._stand_in_key('x'::bytea, 0)")).rejects.toMatchObject({ code: "42501" });
    });
  });
});

test("the stack reports where it runs: its postgres URL reaches this very server, as the non-superuser postgres", () =>
  withClient(async (client) => {
    const { rows } = await client.query("select current_user, inet_server_port() as port, (select rolsuper from pg_roles where rolname = current_user) as superuser");
    expect(rows[0]).toEqual({ current_user: "postgres", port: Number(new URL(stack().postgresUrl).port), superuser: false });
  }));

test("a migration whose file changed after it was applied stops the start with the fix, and changes nothing", () =>
  withClient(async (client) => {
    const { rows } = await client.query("select version, name, statements from supabase_migrations.schema_migrations order by version limit 1");
    const [{ version, name, statements }] = rows;
    // As if the file had read otherwise when this database applied it.
    await client.query("update supabase_migrations.schema_migrations set statements = array['-- an older text'] where version = $1", [version]);
    try {
      await expect(applyMigrations(stack().postgresUrl, { seed: false })).rejects.toMatchObject({
        code: migrationChanged,
        message: `supabase/migrations/${version}_${name}.sql changed after this database applied it, and a migration is applied only once (here as by \`supabase db push\`). Run \`npm run db:reset\` for a local stack; for a deployed database put the change in a new migration.`,
      });
    } finally {
      await client.query("update supabase_migrations.schema_migrations set statements = $2 where version = $1", [version, statements]);
    }
    await expect(applyMigrations(stack().postgresUrl, { seed: false })).resolves.toEqual([]);
  }));
