/**
 * The shapes that cross the guard interface (`sdk/wit/guard.wit`, package
 * `clawdstrike:guard@1.0.0`): events the engine sends, verdicts a guard answers, who a
 * guard is. Types, plus the few constant tables that go with them.
 *
 * @module
 */

/** The kinds of action an event describes (`eventType`). */
export type EventType =
  | "file_read"
  | "file_write"
  | "command_exec"
  | "network_egress"
  | "tool_call"
  | "patch_apply"
  | "secret_access"
  | "custom";

/** Every event type, in the engine's order. */
export const EVENT_TYPES: readonly EventType[] = [
  "file_read",
  "file_write",
  "network_egress",
  "command_exec",
  "patch_apply",
  "tool_call",
  "secret_access",
  "custom",
];

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** `data` of a `file_read` / `file_write` event. */
export interface FileData {
  type: "file";
  /** The path as the agent gave it (not normalised). */
  path: string;
  /** `read`, `write`, ... when the engine knows it. */
  operation?: string;
  /** The content being written, when known (`file_write`). */
  content?: string;
  /** A hash of the content, when known. */
  contentHash?: string;
}

/** `data` of a `network_egress` event. */
export interface NetworkData {
  type: "network";
  /** Destination host name or address. */
  host: string;
  /** Destination port (0–65535), when known. */
  port?: number;
  /** `tcp`, `https`, ... when known. */
  protocol?: string;
  /** The full URL, when known. */
  url?: string;
}

/** `data` of a `command_exec` event. */
export interface CommandData {
  type: "command";
  /** The program, or a whole shell line. */
  command: string;
  /** Its arguments (empty when there are none). */
  args: string[];
  /** Working directory, when known. */
  cwd?: string;
}

/** `data` of a `patch_apply` event. */
export interface PatchData {
  type: "patch";
  /** The file the patch applies to. */
  filePath: string;
  /** The unified diff. */
  patchContent: string;
  /** A hash of the patch, when known. */
  patchHash?: string;
}

/** `data` of a `tool_call` event. */
export interface ToolData {
  type: "tool";
  /** The tool's name, e.g. `shell_exec` or `mcp__github__create_issue`. */
  toolName: string;
  /** Its parameters (`{}` when the engine sent none). */
  parameters: JsonValue;
}

/** `data` of a `secret_access` event. */
export interface SecretData {
  type: "secret";
  /** The secret's name. */
  key: string;
}

/** `data` of a `custom` event: `customType` says which, any other fields may follow. */
export interface CustomData {
  type: "custom";
  /** What kind of custom event (`untrusted_text`, `user_input`, ...). */
  customType: string;
  [field: string]: JsonValue | undefined;
}

/** The typed payload of an event, discriminated by `type`. */
export type EventData =
  | FileData
  | NetworkData
  | CommandData
  | PatchData
  | ToolData
  | SecretData
  | CustomData;

/** The `data.type` that belongs to each event type. */
export const DATA_TYPE_OF: Readonly<Record<EventType, EventData["type"]>> = {
  file_read: "file",
  file_write: "file",
  network_egress: "network",
  command_exec: "command",
  patch_apply: "patch",
  tool_call: "tool",
  secret_access: "secret",
  custom: "custom",
};

/** Fields every event carries, whatever its type. */
export interface EventBase {
  /** Unique id of the event (the engine echoes it in its decision; may be empty). */
  eventId: string;
  /** RFC 3339 timestamp, when known. */
  timestamp?: string;
  /** The agent session, when known. */
  sessionId?: string;
  /** Free-form metadata (`toolKind`, `source`, ...). */
  metadata?: JsonObject;
  /** Context for composition expressions (`user`, `session`, `env`, `custom`). */
  context?: JsonObject;
}

/** A `file_read` or `file_write` event. */
export interface FileEvent extends EventBase {
  eventType: "file_read" | "file_write";
  data: FileData;
}

/** A `network_egress` event. */
export interface NetworkEvent extends EventBase {
  eventType: "network_egress";
  data: NetworkData;
}

/** A `command_exec` event. */
export interface CommandEvent extends EventBase {
  eventType: "command_exec";
  data: CommandData;
}

/** A `patch_apply` event. */
export interface PatchEvent extends EventBase {
  eventType: "patch_apply";
  data: PatchData;
}

/** A `tool_call` event. */
export interface ToolEvent extends EventBase {
  eventType: "tool_call";
  data: ToolData;
}

/** A `secret_access` event. */
export interface SecretEvent extends EventBase {
  eventType: "secret_access";
  data: SecretData;
}

/** A `custom` event. */
export interface CustomEvent extends EventBase {
  eventType: "custom";
  data: CustomData;
}

/**
 * One agent action, as the engine sends it to `check`. Narrow it with
 * `switch (event.eventType)` (or on `event.data.type`).
 */
export type GuardEvent =
  | FileEvent
  | NetworkEvent
  | CommandEvent
  | PatchEvent
  | ToolEvent
  | SecretEvent
  | CustomEvent;

/** What a guard concluded. The engine orders them allow < warn < deny. */
export type Status = "allow" | "warn" | "deny";

/** How serious a finding is. */
export type Severity = "low" | "medium" | "high" | "critical";

/** Every severity, least serious first. */
export const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];

/** A guard's answer for one event, as guard code writes it. */
export interface Verdict {
  /** allow, warn or deny. */
  status: Status;
  /** How serious; the engine uses `low` for allow and `high` for deny when absent. */
  severity?: Severity;
  /** One sentence a person can act on, e.g. "AWS key found in file.txt". */
  reason?: string;
  /**
   * Machine-readable details kept in the audit log: an object (serialised with
   * `JSON.stringify`) or the JSON text of an object.
   */
  details?: JsonObject | Record<string, unknown> | string;
  /** What to do instead, shown to the person who asked. */
  remediation?: string;
}

/** The `verdict` record exactly as it crosses the interface (`details` is JSON text). */
export interface WitVerdict {
  status: Status;
  severity: Severity | undefined;
  reason: string | undefined;
  details: string | undefined;
  remediation: string | undefined;
}

/** Who the guard is, as `describe` reports it (`guard-info` in the WIT). */
export interface GuardInfo {
  /** The name used in policies and decisions: `[a-z0-9_-]`, at most 64 characters. */
  name: string;
  /** The guard's own version (semver). */
  version: string;
  /** The event types the engine calls `check` for. */
  handles: EventType[];
}

/**
 * The three functions a guard component exports (the world `guard`). A guard module is
 * `export const { describe, init, check } = defineGuard({...})`.
 *
 * Errors follow the component model's `result`: `init` and `check` signal `err(message)`
 * by throwing the message string.
 */
export interface GuardExports {
  /** Who the guard is; called once at load. */
  describe(): GuardInfo;
  /** Accept the configuration (JSON text of the policy's `config`, `{}` when absent). */
  init(config: string): void;
  /** Examine one event (JSON text). */
  check(event: string): WitVerdict;
}
