/**
 * Event builders for tests: the event JSON the engine would send for each kind of action.
 * Each takes optional `extra` fields merged into the event (`eventId`, `sessionId`,
 * `metadata`, `context`, ...).
 *
 * @module
 */

import type {
  CommandEvent,
  CustomEvent,
  EventBase,
  FileEvent,
  JsonObject,
  JsonValue,
  NetworkEvent,
  PatchEvent,
  SecretEvent,
  ToolEvent,
} from "../types.js";

/** Fields that may be added to any built event. */
export type EventExtra = Partial<EventBase>;

let counter = 0;

function base(extra: EventExtra | undefined): EventBase {
  counter += 1;
  return { eventId: `test-${counter}`, ...extra };
}

/** A `file_write` event for `path`, with the written `content` when given. */
export function fileWriteEvent(path: string, content?: string, extra?: EventExtra): FileEvent {
  const data: FileEvent["data"] = { type: "file", path, operation: "write" };
  if (content !== undefined) data.content = content;
  return { ...base(extra), eventType: "file_write", data };
}

/** A `file_read` event for `path`. */
export function fileReadEvent(path: string, extra?: EventExtra): FileEvent {
  return { ...base(extra), eventType: "file_read", data: { type: "file", path, operation: "read" } };
}

/** A `command_exec` event: `command` with `args`. */
export function commandEvent(command: string, args: string[] = [], extra?: EventExtra): CommandEvent {
  return { ...base(extra), eventType: "command_exec", data: { type: "command", command, args: [...args] } };
}

/** A `network_egress` event to `host`, on `port` when given. */
export function networkEgressEvent(host: string, port?: number, extra?: EventExtra): NetworkEvent {
  const data: NetworkEvent["data"] = { type: "network", host };
  if (port !== undefined) data.port = port;
  return { ...base(extra), eventType: "network_egress", data };
}

/** A `tool_call` event: tool `name` with `parameters`. */
export function toolCallEvent(name: string, parameters: JsonObject = {}, extra?: EventExtra): ToolEvent {
  return { ...base(extra), eventType: "tool_call", data: { type: "tool", toolName: name, parameters } };
}

/** A `patch_apply` event: the unified `diff` applied to `file`. */
export function patchEvent(file: string, diff: string, extra?: EventExtra): PatchEvent {
  return {
    ...base(extra),
    eventType: "patch_apply",
    data: { type: "patch", filePath: file, patchContent: diff },
  };
}

/** A `secret_access` event for the secret `key`. */
export function secretEvent(key: string, extra?: EventExtra): SecretEvent {
  return { ...base(extra), eventType: "secret_access", data: { type: "secret", key } };
}

/** A `custom` event of `customType` with any other `fields` in `data`. */
export function customEvent(
  customType: string,
  fields: Record<string, JsonValue> = {},
  extra?: EventExtra,
): CustomEvent {
  return { ...base(extra), eventType: "custom", data: { ...fields, type: "custom", customType } };
}
