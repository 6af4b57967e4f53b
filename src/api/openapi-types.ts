/** The shapes of the API's OpenAPI 3.1 document (openapi.ts), the subset it uses. */

type SchemaType = "string" | "integer" | "number" | "boolean" | "object" | "array" | "null";

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1), the subset this document uses. */
export interface Schema {
  $ref?: string;
  type?: SchemaType | readonly SchemaType[];
  title?: string;
  description?: string;
  format?: string;
  pattern?: string;
  enum?: readonly (string | number | null)[];
  const?: string | number | boolean | null;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  items?: Schema;
  properties?: Readonly<Record<string, Schema>>;
  required?: readonly string[];
  additionalProperties?: boolean | Schema;
  oneOf?: readonly Schema[];
  default?: string | number | boolean | null;
  examples?: readonly unknown[];
}

export interface Reference {
  $ref: string;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  description: string;
  required?: boolean;
  schema: Schema;
  example?: string | number;
}

export interface Header {
  description: string;
  schema: Schema;
}

export interface MediaType {
  schema: Schema;
}

export interface Response {
  description: string;
  headers?: Readonly<Record<string, Header>>;
  content?: Readonly<Record<string, MediaType>>;
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  /** `[]` for the routes answered without authentication. */
  security?: readonly Readonly<Record<string, readonly string[]>>[];
  parameters?: readonly (Parameter | Reference)[];
  requestBody?: {
    description: string;
    required: boolean;
    content: Readonly<Record<string, MediaType>>;
  };
  responses: Readonly<Record<string, Response | Reference>>;
}

export interface PathItem {
  get?: Operation;
  post?: Operation;
}

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: {
    title: string;
    version: string;
    summary: string;
    description: string;
    license: { name: string; identifier: string };
  };
  jsonSchemaDialect: string;
  security: readonly Readonly<Record<string, readonly string[]>>[];
  tags: readonly { name: string; description: string }[];
  paths: Readonly<Record<string, PathItem>>;
  components: {
    schemas: Readonly<Record<string, Schema>>;
    parameters: Readonly<Record<string, Parameter>>;
    responses: Readonly<Record<string, Response>>;
    securitySchemes: Readonly<
      Record<string, { type: "http"; scheme: "bearer"; description: string }>
    >;
  };
}
