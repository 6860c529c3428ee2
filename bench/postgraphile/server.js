// PostGraphile v4 in library mode on the bench database: the peer of `python -m bench`.
//
// It connects as the application role (PG* environment: PGHOST = the cluster's socket directory,
// PGUSER = reos_app, which has no BYPASSRLS) and sets app.tenant_id for every request through
// pgSettings, so PostgreSQL's row-level security scopes each query to the bench tenant exactly as
// it does for our server. Schema `public` (where our migrations create the tables).
//
// Environment: PORT (required), BENCH_TENANT_ID (required), PG_POOL_SIZE (default 10, as our
// DB_POOL_SIZE), BENCH_EXPORT_SCHEMA (optional: write the GraphQL SDL there at start).
"use strict";

const http = require("http");
const { Pool } = require("pg");
const { postgraphile } = require("postgraphile");
const PgSimplifyInflectorPlugin = require("@graphile-contrib/pg-simplify-inflector");
const ConnectionFilterPlugin = require("postgraphile-plugin-connection-filter");
const { makeJSONPgSmartTagsPlugin } = require("graphile-utils");

const port = Number(process.env.PORT);
const tenantId = process.env.BENCH_TENANT_ID;
if (!port || !tenantId) {
  console.error("server.js: PORT and BENCH_TENANT_ID are required");
  process.exit(2);
}

// Every business table has a composite key (tenant_id, id) and composite foreign keys
// (tenant_id, x_id), so the simplify inflector cannot shorten relation names by itself
// ("propertyByTenantIdAndPropertyId"). These smart tags name the relations the benchmark uses
// as a PostGraphile user would; they change names only, not the SQL.
const SmartTags = makeJSONPgSmartTagsPlugin({
  version: 1,
  config: {
    constraint: {
      deals_tenant_id_property_id_fkey: {
        tags: { fieldName: "property", foreignFieldName: "deals" },
      },
      offers_tenant_id_deal_id_fkey: {
        tags: { fieldName: "deal", foreignFieldName: "offers" },
      },
      timeline_entries_tenant_id_deal_id_fkey: {
        tags: { fieldName: "deal", foreignFieldName: "timelineEntries" },
      },
      deal_members_tenant_id_deal_id_fkey: {
        tags: { fieldName: "deal", foreignFieldName: "team" },
      },
      deal_members_tenant_id_user_id_fkey: {
        tags: { fieldName: "user", foreignFieldName: "dealMemberships" },
      },
    },
  },
});

const pool = new Pool({ max: Number(process.env.PG_POOL_SIZE || 10) });
pool.on("error", (error) => console.error("pg pool error:", error.message));

const middleware = postgraphile(pool, "public", {
  appendPlugins: [PgSimplifyInflectorPlugin, ConnectionFilterPlugin, SmartTags],
  pgSettings: { "app.tenant_id": tenantId },
  graphiql: false,
  watchPg: false,
  retryOnInitFail: false,
  disableQueryLog: true,
  ignoreRBAC: false,
  dynamicJson: true,
  setofFunctionsContainNulls: false,
  legacyRelations: "omit",
  enableQueryBatching: false,
  exportGqlSchemaPath: process.env.BENCH_EXPORT_SCHEMA || undefined,
  sortExport: true,
});

const server = http.createServer(middleware);
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => {
  console.error(`postgraphile listening on http://127.0.0.1:${port}/graphql`);
});

function stop() {
  server.close();
  pool.end().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
