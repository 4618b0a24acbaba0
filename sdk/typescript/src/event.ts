/**
 * Reading the event JSON the engine sends to `check` into a typed {@link GuardEvent}.
 *
 * The shape follows the engine's canonical event (camelCase): `eventType` and `data` are
 * required, `data.type` must agree with `eventType` (it is filled in when absent), each
 * data type's required fields must be there with the right JSON type, and optional
 * fields may be absent or `null` (both read as absent). Every failure is a
 * {@link GuardError} whose message starts with `invalid event: `.
 *
 * @module
 */

import { GuardError } from "./errors.js";
import {
  DATA_TYPE_OF,
  EVENT_TYPES,
  type EventType,
  type GuardEvent,
  type JsonObject,
  type JsonValue,
} from "./types.js";

/** The prefix of every event validation error. */
export const INVALID_EVENT = "invalid event: ";

function invalid(detail: string): GuardError {
  return new GuardError(INVALID_EVENT + detail);
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

type FieldKind = "string" | "port" | "string[]";

interface FieldSpec {
  kind: FieldKind;
  required: boolean;
}

const FIELDS: Record<string, Record<string, FieldSpec>> = {
  file: {
    path: { kind: "string", required: true },
    operation: { kind: "string", required: false },
    content: { kind: "string", required: false },
    contentHash: { kind: "string", required: false },
  },
  network: {
    host: { kind: "string", required: true },
    port: { kind: "port", required: false },
    protocol: { kind: "string", required: false },
    url: { kind: "string", required: false },
  },
  command: {
    command: { kind: "string", required: true },
    args: { kind: "string[]", required: false },
    cwd: { kind: "string", required: false },
  },
  patch: {
    filePath: { kind: "string", required: true },
    patchContent: { kind: "string", required: true },
    patchHash: { kind: "string", required: false },
  },
  tool: {
    toolName: { kind: "string", required: true },
  },
  secret: {
    key: { kind: "string", required: true },
  },
  custom: {
    customType: { kind: "string", required: true },
  },
};

function checkField(dataType: string, name: string, spec: FieldSpec, value: unknown): void {
  const where = `data.${name} of a ${dataType} event`;
  switch (spec.kind) {
    case "string":
      if (typeof value !== "string") {
        throw invalid(`${where} must be a string, got ${describeJson(value)}`);
      }
      return;
    case "port":
      if (
        typeof value !== "number" ||
        !Number.isInteger(value) ||
        value < 0 ||
        value > 65535
      ) {
        throw invalid(`${where} must be an integer from 0 to 65535, got ${JSON.stringify(value)}`);
      }
      return;
    case "string[]":
      if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
        throw invalid(`${where} must be an array of strings`);
      }
      return;
  }
}

/**
 * Check that an already-parsed JSON value is an event and return it typed. The value is
 * not copied: `data.type` is filled in, absent `args` become `[]`, absent `parameters`
 * become `{}`, and `null` optional fields are removed.
 *
 * @throws {GuardError} `invalid event: ...` when the value is not an event
 */
export function validateEvent(value: unknown): GuardEvent {
  if (!isObject(value)) {
    throw invalid(`expected a JSON object, got ${describeJson(value)}`);
  }
  const { eventType, data } = value;
  if (eventType === undefined) throw invalid('missing "eventType"');
  if (typeof eventType !== "string") {
    throw invalid(`"eventType" must be a string, got ${describeJson(eventType)}`);
  }
  if (!(EVENT_TYPES as readonly string[]).includes(eventType)) {
    throw invalid(`unknown eventType ${JSON.stringify(eventType)}`);
  }
  if (data === undefined) throw invalid('missing "data"');
  if (!isObject(data)) throw invalid(`"data" must be an object, got ${describeJson(data)}`);

  const expected = DATA_TYPE_OF[eventType as EventType];
  if (data.type === undefined || data.type === null) {
    data.type = expected;
  } else if (data.type !== expected) {
    throw invalid(
      `eventType ${JSON.stringify(eventType)} needs data.type ${JSON.stringify(expected)}, got ${JSON.stringify(data.type)}`,
    );
  }

  for (const [name, spec] of Object.entries(FIELDS[expected] ?? {})) {
    const field = data[name];
    if (field === undefined || field === null) {
      if (spec.required) throw invalid(`missing data.${name} of a ${expected} event`);
      delete data[name];
      continue;
    }
    checkField(expected, name, spec, field);
  }
  if (expected === "command" && data.args === undefined) data.args = [];
  if (expected === "tool" && (data.parameters === undefined || data.parameters === null)) {
    data.parameters = {};
  }

  if (value.eventId === undefined || value.eventId === null) {
    value.eventId = "";
  } else if (typeof value.eventId !== "string") {
    throw invalid(`"eventId" must be a string, got ${describeJson(value.eventId)}`);
  }
  for (const name of ["timestamp", "sessionId"] as const) {
    const field: JsonValue | undefined = value[name];
    if (field === null) delete value[name];
    else if (field !== undefined && typeof field !== "string") {
      throw invalid(`"${name}" must be a string, got ${describeJson(field)}`);
    }
  }
  for (const name of ["metadata", "context"] as const) {
    const field: JsonValue | undefined = value[name];
    if (field === null) delete value[name];
    else if (field !== undefined && !isObject(field)) {
      throw invalid(`"${name}" must be an object, got ${describeJson(field)}`);
    }
  }
  return value as unknown as GuardEvent;
}

/**
 * Parse the event JSON text `check` receives.
 *
 * @throws {GuardError} `invalid event: ...` when the text is not JSON or not an event
 */
export function parseEvent(text: string): GuardEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return validateEvent(value);
}
