/**
 * dbSslMode and dbSslRootCert as Node and libpq apply them, against a real TLS endpoint: a small server that
 * speaks PostgreSQL's SSLRequest and then TLS with a certificate for `localhost`, signed by a CA made for
 * the test (openssl). What each mode must accept and refuse is libpq's: require encrypts without checking,
 * verify-ca checks the chain, verify-full the chain and the host name. The handshake is what is checked;
 * the server answers nothing after it, so a connection that got that far ends with "terminated".
 */
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TLSSocket } from "node:tls";
import { certPathForState, connectionFromConfig, DbConnection, inTransaction, nodeSslOptions, SslMode } from "../../infra/providers/db";
import { repoRoot } from "../../stack/paths";

let dir: string;
let server: Server;
let port: number;
const files = { ca: "", otherCa: join(repoRoot, "tests", "fixtures", "test-root-ca.crt") };

const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reminder-cron-tls-"));
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=reminder-cron test CA");
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:localhost\n");
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext");
  files.ca = join(dir, "ca.crt");
  const { readFileSync } = await import("node:fs");
  const key = readFileSync(join(dir, "server.key"));
  const cert = readFileSync(join(dir, "server.crt"));

  // SSLRequest is 8 bytes (length 8, code 80877103); the answer 'S' starts TLS on the same socket.
  server = createServer((socket: Socket) => {
    socket.once("data", () => {
      socket.write("S");
      const tls = new TLSSocket(socket, { isServer: true, key, cert });
      tls.on("error", () => undefined);
      tls.once("data", () => tls.destroy());
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** How far Node got through the provider's own connection code: "handshake" (past TLS) or the TLS error. */
async function nodeConnects(host: string, sslMode: SslMode, sslRootCert?: string): Promise<string> {
  const connection: DbConnection = { host, port, database: "postgres", user: "postgres", password: "x", sslMode, ...(sslRootCert ? { sslRootCert } : {}) };
  try {
    await inTransaction(connection, async () => undefined);
    return "connected";
  } catch (error) {
    const message = (error as Error).message;
    return /terminated|ECONNRESET|socket hang up/i.test(message) ? "handshake" : message;
  }
}

describe("Node (the dynamic providers)", () => {
  test("verify-full with the right root certificate completes the handshake with the host the certificate names", async () => {
    expect(await nodeConnects("localhost", "verify-full", files.ca)).toBe("handshake");
  });

  test("verify-full refuses a host the certificate does not name", async () => {
    expect(await nodeConnects("127.0.0.1", "verify-full", files.ca)).toMatch(/Hostname\/IP does not match certificate's altnames/);
  });

  test("verify-full and verify-ca refuse a server whose chain does not lead to the root certificate", async () => {
    for (const mode of ["verify-full", "verify-ca"] as const) expect(await nodeConnects("localhost", mode, files.otherCa)).toMatch(/self[- ]signed|unable to (verify|get)/i);
  });

  test("verify-ca checks the chain but not the host name, as libpq's verify-ca", async () => {
    expect(await nodeConnects("127.0.0.1", "verify-ca", files.ca)).toBe("handshake");
  });

  test("require encrypts without checking anything", async () => {
    expect(await nodeConnects("127.0.0.1", "require")).toBe("handshake");
    expect(nodeSslOptions({ sslMode: "require" })).toEqual({ rejectUnauthorized: false });
  });
});

// The migration Commands run psql with PGSSLMODE and PGSSLROOTCERT in their environment. Here the test sets
// those two itself, so what it checks is libpq's reading of them, not the program: a program that set them
// wrong, or not at all, passes here. That the program sets them (verify-full, the root certificate) is
// tests/unit/pulumi-program.test.ts's "applies each committed migration with psql" test.
describe("libpq (psql, as the migration Commands run it) given PGSSLMODE and PGSSLROOTCERT", () => {
  /** psql with PGSSLMODE/PGSSLROOTCERT set here, as the program's environment names them; its stderr. Asynchronous: the server runs in this process. */
  const psql = (host: string, sslMode: SslMode, rootCert: string, cwd?: string) =>
    new Promise<string>((resolve) =>
      execFile(
        "psql",
        ["--no-psqlrc", "-c", "select 1"],
        { cwd, env: { PATH: process.env.PATH, PGHOST: host, PGPORT: String(port), PGUSER: "postgres", PGDATABASE: "postgres", PGPASSWORD: "x", PGSSLMODE: sslMode, PGSSLROOTCERT: rootCert, PGCONNECT_TIMEOUT: "5" } },
        (_error, _stdout, stderr) => resolve(String(stderr)),
      ),
    );

  test("refuses a server whose chain does not lead to PGSSLROOTCERT", async () => {
    expect(await psql("127.0.0.1", "verify-ca", files.otherCa)).toMatch(/certificate verify failed/);
  });

  test("passes the handshake with the right PGSSLROOTCERT, and refuses a host the certificate does not name under verify-full", async () => {
    const passed = await psql("127.0.0.1", "verify-ca", files.ca);
    // The server hangs up once it reads the startup packet, which psql sends only after the handshake.
    expect(passed).toMatch(/EOF detected|server closed the connection unexpectedly/);
    expect(passed).not.toMatch(/certificate|SSL error/i);
    expect(await psql("127.0.0.1", "verify-full", files.ca)).toMatch(/does not match host name|server certificate for/);
  });
  // refresh and destroy configure the postgresql provider from state, and lib/pq opens sslrootcert as
  // given (os.ReadFile in lib/pq's ssl.go), relative to the plugin's working directory, as libpq (psql)
  // does: psql stands in for the Go provider here. The engine starts every plugin in the program's
  // directory, Pulumi.yaml's main (infra/), on any checkout.
  test("the certificate path the program saves in state opens the certificate of whichever checkout refreshes, where an absolute one would not", async () => {
    const checkout = (name: string) => {
      const root = join(dir, name);
      mkdirSync(join(root, "infra"), { recursive: true });
      mkdirSync(join(root, "certs"));
      writeFileSync(join(root, "Pulumi.yaml"), "name: reminder-cron\nmain: infra/\n");
      copyFileSync(files.ca, join(root, "certs", "prod-ca-2021.crt"));
      return root;
    };
    const [deployed, second] = [checkout("ci-runner-checkout"), checkout("laptop-checkout")];
    const inState = certPathForState(join(deployed, "certs", "prod-ca-2021.crt"), join(deployed, "infra"));
    expect(inState).toBe(join("..", "certs", "prod-ca-2021.crt"));
    expect(certPathForState(join(second, "certs", "prod-ca-2021.crt"), join(second, "infra"))).toBe(inState);
    rmSync(deployed, { recursive: true });

    const fromSecond = await psql("127.0.0.1", "verify-ca", inState, join(second, "infra"));
    expect(fromSecond).toMatch(/EOF detected|server closed the connection unexpectedly/);
    expect(fromSecond).not.toMatch(/certificate|SSL error|root/i);
    // What state held before: the deploying checkout's absolute path, gone on this machine.
    expect(await psql("127.0.0.1", "verify-ca", join(deployed, "certs", "prod-ca-2021.crt"), join(second, "infra"))).toMatch(/root certificate file ".*prod-ca-2021.crt" does not exist/);
    // A certificate outside the project keeps the absolute path it was configured with.
    expect(certPathForState(files.ca, join(second, "infra"))).toBe(files.ca);
  });
});

describe("the providers' configure()", () => {
  const config = (values: Record<string, string>) => ({ get: (key: string) => values[key] });
  const remote = { "reminder-cron:dbHost": "db.abcdefghijklmnopqrst.supabase.co" };

  test("reads a relative dbSslRootCert against the project root and passes it on", () => {
    expect(connectionFromConfig(config({ ...remote, "reminder-cron:dbSslRootCert": "tests/fixtures/test-root-ca.crt" }))).toMatchObject({
      sslMode: "verify-full",
      sslRootCert: files.otherCa,
    });
  });

  test("stops with the key, the value and the fix when refresh or destroy reach it with a missing certificate", () => {
    expect(() => connectionFromConfig(config({ ...remote, "reminder-cron:dbSslRootCert": "certs/gone.crt" }))).toThrow(
      `reminder-cron:dbSslRootCert = 'certs/gone.crt' names no file (looked for ${join(repoRoot, "certs", "gone.crt")}), and reminder-cron:dbSslMode = 'verify-full' checks the server against it. Fix: download the project's root certificate`,
    );
    expect(() => connectionFromConfig(config(remote))).toThrow("reminder-cron:dbSslRootCert is not set, and reminder-cron:dbSslMode = 'verify-full' checks the server against it.");
  });

  // refresh and destroy configure the providers from the config saved in state, without the program's
  // validation: the providers' own check must name the key, the value and the fix, and never connect
  // to somewhere else (a port pg would read as NaN) or in clear to a remote host.
  test("stops with the key, the value and the fix on a bad dbSslMode, a bad dbPort, or no TLS to a remote host", () => {
    expect(() => connectionFromConfig(config({ ...remote, "reminder-cron:dbSslMode": "verify_full" }))).toThrow(
      "reminder-cron:dbSslMode = 'verify_full' is not one of disable, require, verify-ca, verify-full. Fix: pulumi config set reminder-cron:dbSslMode verify-full",
    );
    for (const port of ["5432x", "0", "65536"]) {
      expect(() => connectionFromConfig(config({ ...remote, "reminder-cron:dbSslMode": "require", "reminder-cron:dbPort": port }))).toThrow(
        `reminder-cron:dbPort = '${port}' is not a port from 1 to 65535. Fix: pulumi config set reminder-cron:dbPort 5432`,
      );
    }
    expect(() => connectionFromConfig(config({ ...remote, "reminder-cron:dbSslMode": "disable" }))).toThrow(
      "reminder-cron:dbSslMode = 'disable' would send the database password in clear to db.abcdefghijklmnopqrst.supabase.co; only a local host may go without TLS. Fix: pulumi config set reminder-cron:dbSslMode verify-full",
    );
    expect(connectionFromConfig(config({ "reminder-cron:dbHost": "127.0.0.1", "reminder-cron:dbPort": "54329" }))).toMatchObject({ port: 54329, sslMode: "disable" });
  });
});
