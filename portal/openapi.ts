// The API's description (OpenAPI 3.1), served at /api/openapi.json. Every operation but signing in
// and this document needs the session cookie; state-changing ones also the CSRF token from
// GET /api/session in the x-csrf-token header. Refused changes answer 422 with the core's messages.
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { "application/json": { schema } } });
const ok = (description: string, schema: object = { type: "object" }) => ({ description, ...json(schema) });
const STANDARD = {
  "401": ok("no session", ref("Error")),
  "403": ok("not allowed for this principal, or no CSRF token", ref("Error")),
};
const CHANGE = { ...STANDARD, "404": ok("no such object", ref("Error")), "409": ok("conflict: changed by someone else meanwhile", ref("Error")), "422": ok("refused by validation; nothing changed", ref("Refused")) };
const addressParam = { name: "address", in: "path", required: true, schema: { type: "string", format: "email" } };
const domainParam = { name: "domain", in: "path", required: true, schema: { type: "string" } };
const collectionParam = { name: "collection", in: "path", required: true, schema: { enum: ["aliases", "lists", "forwards"] } };
// A mailbox's own forward (users[].forwardTo, keepCopy), as the API shows and takes it.
const FORWARDS = {
  forwardTo: { description: "hosted or outside addresses: a list, or one comma separated string; empty: no forwarding", oneOf: [{ type: "array", items: { type: "string", format: "email" } }, { type: "string" }] },
  keepCopy: { type: "boolean", description: "the mailbox keeps a copy of what it forwards (default true)" },
};
const body = (properties: Record<string, object>, required: string[] = []) => ({ required: true, ...json({ type: "object", properties, required }) });

export const OPENAPI = {
  openapi: "3.1.0",
  info: { title: "mailplatform self-service portal", version: "1.0.0" },
  components: {
    securitySchemes: { session: { type: "apiKey", in: "cookie", name: "portal-session" }, csrf: { type: "apiKey", in: "header", name: "x-csrf-token" } },
    schemas: {
      Error: { type: "object", properties: { error: { type: "string" } } },
      Refused: { type: "object", properties: { error: { type: "string" }, errors: { type: "array", items: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } } } } } },
      Domain: {
        type: "object",
        properties: {
          domain: { type: "string" }, catchAll: { type: ["string", "null"] }, version: { type: "string" },
          mailboxes: { type: "array", items: { type: "object", properties: { address: { type: "string" }, quota: { type: ["string", "null"] }, state: { enum: ["active", "disabled"] }, ...FORWARDS, version: { type: "string" } } } },
          aliases: { type: "array", items: { type: "object" } }, lists: { type: "array", items: { type: "object" } }, forwards: { type: "array", items: { type: "object" } },
        },
      },
      ChangeSet: {
        type: "object",
        properties: {
          configVersion: { type: "string" },
          hosts: { type: "array", items: { type: "object", properties: { host: { type: "string" }, role: { type: "string" }, files: { type: "array" }, services: { type: "array" } } } },
          resources: { type: "array", items: { type: "object", properties: { urn: { type: "string" }, type: { type: "string" }, op: { type: "string" } } } },
        },
      },
    },
  },
  security: [{ session: [] }],
  paths: {
    "/api/session": {
      post: { summary: "Sign in (staff name or mail address); rate limited", security: [], requestBody: body({ login: { type: "string" }, password: { type: "string" } }, ["login", "password"]), responses: { "200": ok("signed in"), "401": ok("wrong name or password", ref("Error")), "429": ok("too many attempts", ref("Error")) } },
      get: { summary: "The signed-in principal and a CSRF token", responses: { "200": ok("the session"), ...STANDARD } },
      delete: { summary: "Sign out", responses: { "200": ok("signed out"), ...STANDARD } },
    },
    "/api/domains": { get: { summary: "The domains the principal manages", responses: { "200": ok("domain names", { type: "array", items: { type: "string" } }), ...STANDARD } } },
    "/api/domains/{domain}": { get: { summary: "A domain's mailboxes, aliases, lists, forwards and catch-all", parameters: [domainParam], responses: { "200": ok("the domain", ref("Domain")), ...STANDARD } } },
    "/api/domains/{domain}/catch-all": { put: { summary: "Set or clear the catch-all", parameters: [domainParam], requestBody: body({ version: { type: "string" }, catchAll: { type: ["string", "null"] } }, ["version"]), responses: { "200": ok("the domain", ref("Domain")), ...CHANGE } } },
    "/api/domains/{domain}/dns": { get: { summary: "Records the domain needs and whether the platform's resolver shows them", parameters: [domainParam], responses: { "200": ok("records with published values"), ...STANDARD } } },
    "/api/domains/{domain}/mailboxes": { post: { summary: "Create a mailbox (the password is hashed on the server)", parameters: [domainParam], requestBody: body({ address: { type: "string", description: "local part" }, password: { type: "string" }, quota: { type: "string" } }, ["address", "password"]), responses: { "201": ok("the domain", ref("Domain")), ...CHANGE } } },
    "/api/domains/{domain}/{collection}": { post: { summary: "Create an alias (to), list (members) or forward (to)", parameters: [domainParam, collectionParam], requestBody: body({ address: { type: "string" }, to: {}, members: {} }, ["address"]), responses: { "201": ok("the domain", ref("Domain")), ...CHANGE } } },
    "/api/mailboxes/{address}": {
      patch: { summary: "Reset the password, change quota, state or the mailbox's own forwards; fields left out stay as they are", parameters: [addressParam], requestBody: body({ version: { type: "string" }, password: { type: "string" }, quota: { type: "string" }, state: { enum: ["active", "disabled"] }, ...FORWARDS }, ["version"]), responses: { "200": ok("the domain", ref("Domain")), ...CHANGE } },
      delete: { summary: "Delete a mailbox", parameters: [addressParam, { name: "version", in: "query", required: true, schema: { type: "string" } }], responses: { "200": ok("the domain", ref("Domain")), ...CHANGE } },
    },
    "/api/{collection}/{address}": {
      put: { summary: "Replace an alias, list or forward", parameters: [collectionParam, addressParam], requestBody: body({ version: { type: "string" }, to: {}, members: {} }, ["version"]), responses: { "200": ok("the domain", ref("Domain")), ...CHANGE } },
      delete: { summary: "Delete an alias, list or forward", parameters: [collectionParam, addressParam, { name: "version", in: "query", required: true, schema: { type: "string" } }], responses: { "200": ok("the domain", ref("Domain")), ...CHANGE } },
    },
    "/api/domains/{domain}/dkim": { get: { summary: "The domain's DKIM selectors (its own, or the platform's it follows) and their version", parameters: [domainParam], responses: { "200": ok("selectors, own, version"), ...STANDARD } } },
    "/api/domains/{domain}/dkim/rotate": { post: { summary: "One rotation step of the domain's keys: publish, activate (once the platform's resolver shows it), retire", parameters: [domainParam], requestBody: body({ step: { enum: ["publish", "activate", "retire"] }, selector: { type: "string" }, version: { type: "string" } }, ["step", "selector", "version"]), responses: { "200": ok("selectors, own, version"), ...CHANGE } } },
    "/api/changes": { get: { summary: "Preview: which hosts and files change, which services reload; the Pulumi target adds resource changes", responses: { "200": ok("the change set", ref("ChangeSet")), ...STANDARD } } },
    "/api/applies": {
      post: { summary: "Apply the previewed config (one apply per stack at a time)", requestBody: body({ configVersion: { type: "string" } }, ["configVersion"]), responses: { "202": ok("started", { type: "object", properties: { id: { type: "string" } } }), ...STANDARD, "409": ok("another apply runs, or the config changed since the preview", ref("Error")) } },
      get: { summary: "The running apply and the recent ones", responses: { "200": ok("applies"), ...STANDARD } },
    },
    "/api/applies/{id}/events": { get: { summary: "Progress per host as server-sent events, ending with {done}", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "text/event-stream" }, ...STANDARD } } },
    "/api/platform": { get: { summary: "Hosts, their health, the last applies (operators)", responses: { "200": ok("the platform"), ...STANDARD } } },
    "/api/audit": { get: { summary: "The audit log, newest first (operators)", responses: { "200": ok("entries"), ...STANDARD } } },
    "/api/me": { get: { summary: "A mail user's own address, forwards and the mailbox's version", responses: { "200": ok("the user", { type: "object", properties: { address: { type: "string" }, ...FORWARDS, version: { type: "string" } } }), ...STANDARD } } },
    "/api/me/password": { put: { summary: "Change the own password (current one required); applied at once", requestBody: body({ current: { type: "string" }, password: { type: "string" } }, ["current", "password"]), responses: { "202": ok("saved, applying"), ...CHANGE } } },
    "/api/me/forwards": { put: { summary: "Set (or clear, with no addresses) the own mailbox's forwards and whether it keeps a copy; applied at once", requestBody: body({ version: { type: "string" }, ...FORWARDS }, ["version"]), responses: { "202": ok("saved, applying"), ...CHANGE } } },
  },
};
