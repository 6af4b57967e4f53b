/**
 * Every route the server answers, and the OpenAPI document generated from them (served by one of
 * them, `GET /openapi.json`).
 */
import { buildOpenApi, type OpenApiDocument } from "../openapi.js";
import { route, type Route } from "../route.js";
import { Health, OpenApiDocument as OpenApiDocumentSchema } from "../wire.js";
import { activityRoute } from "./activity.js";
import {
  anchorEntryRoute,
  anomaliesRoute,
  caseRoute,
  casesRoute,
  deliveryRoute,
  institutionRoute,
  institutionsRoute,
  subjectRoute,
} from "./ledger.js";
import { riskScreenRoute } from "./risk-screen.js";
import { traceRoute } from "./trace.js";

const healthRoute = route({ path: "/health", public: true }).get({
  operationId: "getHealth",
  summary: "Whether the service answers, and how far the store is indexed",
  tags: ["service"],
  response: Health,
  responseDescription: "The service is up.",
  async handle({ store, follower }) {
    return {
      status: "ok" as const,
      engine: store.db.engine,
      indexedTo: await store.checkpoint(),
      events: await store.eventCount(),
      follower: follower?.() ?? null,
    };
  },
});

const openApiRoute = route({ path: "/openapi.json", public: true }).get({
  operationId: "getOpenApi",
  summary: "This document",
  tags: ["service"],
  response: OpenApiDocumentSchema,
  responseDescription: "The OpenAPI 3.1 document.",
  handle: () => Promise.resolve(openApiDocument),
});

/** Every route the server answers; `GET /openapi.json` documents each one. */
export const ROUTES: readonly Route[] = [
  healthRoute,
  openApiRoute,
  casesRoute,
  caseRoute,
  institutionsRoute,
  institutionRoute,
  subjectRoute,
  deliveryRoute,
  anchorEntryRoute,
  anomaliesRoute,
  activityRoute,
  traceRoute,
  riskScreenRoute,
];

/** The OpenAPI 3.1 description of every route of the server. */
export const openApiDocument: OpenApiDocument = buildOpenApi(ROUTES);
