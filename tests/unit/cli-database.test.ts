/** What the CLI prints of a connection string: never a password, wherever libpq would read one from. */
import { redactUrl } from "../../cli/database";

test.each([
  ["postgresql://postgres:s3cret@db.example.test:5432/postgres", "postgresql://postgres:***@db.example.test:5432/postgres"],
  ["postgresql://postgres@db.example.test/postgres?password=s3cret&sslmode=require", "postgresql://postgres@db.example.test/postgres?password=***&sslmode=require"],
  ["postgresql://postgres@db.example.test/postgres?sslpassword=s3cret", "postgresql://postgres@db.example.test/postgres?sslpassword=***"],
  ["postgresql://postgres@127.0.0.1:5432/postgres", "postgresql://postgres@127.0.0.1:5432/postgres"],
])("%s is shown as %s", (url, shown) => {
  expect(redactUrl(url)).toBe(shown);
  expect(redactUrl(url)).not.toContain("s3cret");
});

test("a string that is no URL is named, not echoed", () => {
  expect(redactUrl("host=db password=s3cret")).toBe("(an unparseable DATABASE_URL)");
});
