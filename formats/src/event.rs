//! The canonical `PolicyEvent` (SPEC.md §7): what an agent is about to do.
//!
//! Input is camelCase with snake_case accepted. `data.type` may be omitted (it follows from
//! `eventType`); when present it must agree with it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Limits applied when parsing events from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventLimits {
    /// Largest accepted event document, in bytes.
    pub max_event_bytes: usize,
}

impl Default for EventLimits {
    fn default() -> Self {
        Self {
            max_event_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Why an event could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The document is larger than [`EventLimits::max_event_bytes`].
    #[error("event is {size} bytes, larger than the limit of {limit} bytes")]
    TooLarge {
        /// Size seen.
        size: usize,
        /// Limit in force.
        limit: usize,
    },
    /// Not valid JSON, or not the event shape.
    #[error("invalid event at line {line}, column {column}: {message}")]
    Invalid {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// `data.type` disagrees with `eventType`.
    #[error(
        "event {event_id}: eventType `{event_type}` needs data.type `{expected}`, got `{got}`"
    )]
    DataMismatch {
        /// The event's id.
        event_id: String,
        /// Its type.
        event_type: EventType,
        /// The data type that type needs.
        expected: &'static str,
        /// The data type given.
        got: String,
    },
}

/// The kinds of action an event describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// Reading a file.
    FileRead,
    /// Writing a file.
    FileWrite,
    /// Opening a network connection.
    NetworkEgress,
    /// Running a shell command.
    CommandExec,
    /// Applying a patch/diff.
    PatchApply,
    /// Calling a tool (MCP or otherwise).
    ToolCall,
    /// Reading a secret.
    SecretAccess,
    /// Anything else; `data.customType` says what (`untrusted_text`, `user_input`, ...).
    Custom,
}

impl EventType {
    /// Every event type, in a stable order.
    pub const ALL: [EventType; 8] = [
        EventType::FileRead,
        EventType::FileWrite,
        EventType::NetworkEgress,
        EventType::CommandExec,
        EventType::PatchApply,
        EventType::ToolCall,
        EventType::SecretAccess,
        EventType::Custom,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::FileRead => "file_read",
            EventType::FileWrite => "file_write",
            EventType::NetworkEgress => "network_egress",
            EventType::CommandExec => "command_exec",
            EventType::PatchApply => "patch_apply",
            EventType::ToolCall => "tool_call",
            EventType::SecretAccess => "secret_access",
            EventType::Custom => "custom",
        }
    }

    /// Parse a snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    fn data_type(self) -> &'static str {
        match self {
            EventType::FileRead | EventType::FileWrite => "file",
            EventType::NetworkEgress => "network",
            EventType::CommandExec => "command",
            EventType::PatchApply => "patch",
            EventType::ToolCall => "tool",
            EventType::SecretAccess => "secret",
            EventType::Custom => "custom",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// File access (`file_read`, `file_write`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileData {
    /// The path as the agent gave it.
    pub path: String,
    /// `read`, `write`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Content being written, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Hash of the content.
    #[serde(
        default,
        alias = "content_hash",
        skip_serializing_if = "Option::is_none"
    )]
    pub content_hash: Option<String>,
}

/// Network egress.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkData {
    /// Destination host name or address (may carry `:port`).
    pub host: String,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `tcp`, `https`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The full URL, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A shell command.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandData {
    /// The command (a program name, or a whole shell line).
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Working directory, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

/// A patch about to be applied.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchData {
    /// The file the patch applies to.
    #[serde(alias = "file_path")]
    pub file_path: String,
    /// The unified diff.
    #[serde(alias = "patch_content")]
    pub patch_content: String,
    /// Hash of the patch.
    #[serde(default, alias = "patch_hash", skip_serializing_if = "Option::is_none")]
    pub patch_hash: Option<String>,
}

/// A tool call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolData {
    /// The tool's name.
    #[serde(alias = "tool_name")]
    pub tool_name: String,
    /// Its parameters.
    #[serde(default)]
    pub parameters: Value,
}

/// Access to a named secret.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretData {
    /// The secret's key/name.
    #[serde(alias = "name", alias = "secretName", alias = "secret_name")]
    pub key: String,
}

/// A custom event; `customType` says which (`untrusted_text`, `user_input`, ...).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomData {
    /// What kind of custom event this is.
    #[serde(alias = "custom_type")]
    pub custom_type: String,
    /// Everything else in `data`.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl CustomData {
    /// The text carried by an `untrusted_text` / `user_input` event (`text`, `content` or
    /// `input`), if any.
    pub fn text(&self) -> Option<&str> {
        ["text", "content", "input", "prompt"]
            .iter()
            .find_map(|k| self.fields.get(*k).and_then(Value::as_str))
    }
}

/// The typed payload of an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum EventData {
    /// `file_read`, `file_write`.
    File(FileData),
    /// `network_egress`.
    Network(NetworkData),
    /// `command_exec`.
    Command(CommandData),
    /// `patch_apply`.
    Patch(PatchData),
    /// `tool_call`.
    Tool(ToolData),
    /// `secret_access`.
    Secret(SecretData),
    /// `custom`.
    Custom(CustomData),
}

/// One agent action to be decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEvent {
    /// Unique id, echoed in the decision.
    pub event_id: String,
    /// What kind of action.
    pub event_type: EventType,
    /// RFC 3339 timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The agent session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The typed payload.
    pub data: EventData,
    /// Free-form metadata (`toolKind`, `source`, ...).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Optional context for composition expressions (`user`, `session`, `env`, `custom`).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawEvent {
    #[serde(alias = "event_id", alias = "id")]
    event_id: Option<String>,
    #[serde(alias = "event_type", alias = "type")]
    event_type: EventType,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default, alias = "session_id")]
    session_id: Option<String>,
    #[serde(default)]
    data: Map<String, Value>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    context: Option<Map<String, Value>>,
}

/// A serde_json message without its " at line L column C" suffix (the position is
/// reported in its own fields).
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(i) if e.line() > 0 => message[..i].to_string(),
        _ => message,
    }
}

impl PolicyEvent {
    /// Parse one event from JSON, applying the limits.
    pub fn from_json(input: &str, limits: &EventLimits) -> Result<Self, EventError> {
        if input.len() > limits.max_event_bytes {
            return Err(EventError::TooLarge {
                size: input.len(),
                limit: limits.max_event_bytes,
            });
        }
        let raw: RawEvent = serde_json::from_str(input).map_err(|e| EventError::Invalid {
            line: e.line(),
            column: e.column(),
            message: without_position(&e),
        })?;
        Self::from_raw(raw)
    }

    /// Parse one event from JSON bytes. The caller bounds the size (see
    /// [`from_json`](Self::from_json) for a version that applies [`EventLimits`]); a
    /// position in an error is relative to the start of `input`.
    pub fn from_slice(input: &[u8]) -> Result<Self, EventError> {
        let raw: RawEvent = serde_json::from_slice(input).map_err(|e| EventError::Invalid {
            line: e.line(),
            column: e.column(),
            message: without_position(&e),
        })?;
        Self::from_raw(raw)
    }

    /// Build an event from an already-parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, EventError> {
        let raw: RawEvent = serde_json::from_value(value).map_err(|e| EventError::Invalid {
            line: 0,
            column: 0,
            message: e.to_string(),
        })?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawEvent) -> Result<Self, EventError> {
        let event_id = raw.event_id.unwrap_or_default();
        let expected = raw.event_type.data_type();
        let mut data = raw.data;
        match data.remove("type") {
            None => {}
            Some(Value::String(t)) if t == expected => {}
            Some(other) => {
                return Err(EventError::DataMismatch {
                    event_id,
                    event_type: raw.event_type,
                    expected,
                    got: match other {
                        Value::String(s) => s,
                        v => v.to_string(),
                    },
                })
            }
        }
        let invalid = |e: serde_json::Error| EventError::Invalid {
            line: 0,
            column: 0,
            message: format!("data of a {} event: {e}", raw.event_type),
        };
        let data = Value::Object(data);
        let data = match raw.event_type {
            EventType::FileRead | EventType::FileWrite => {
                EventData::File(serde_json::from_value(data).map_err(invalid)?)
            }
            EventType::NetworkEgress => {
                EventData::Network(serde_json::from_value(data).map_err(invalid)?)
            }
            EventType::CommandExec => {
                EventData::Command(serde_json::from_value(data).map_err(invalid)?)
            }
            EventType::PatchApply => {
                EventData::Patch(serde_json::from_value(data).map_err(invalid)?)
            }
            EventType::ToolCall => EventData::Tool(serde_json::from_value(data).map_err(invalid)?),
            EventType::SecretAccess => {
                EventData::Secret(serde_json::from_value(data).map_err(invalid)?)
            }
            EventType::Custom => EventData::Custom(serde_json::from_value(data).map_err(invalid)?),
        };
        Ok(PolicyEvent {
            event_id,
            event_type: raw.event_type,
            timestamp: raw.timestamp,
            session_id: raw.session_id,
            data,
            metadata: raw.metadata.unwrap_or_default(),
            context: raw.context.unwrap_or_default(),
        })
    }

    /// The file path for file events, the target file for patches.
    pub fn path(&self) -> Option<&str> {
        match &self.data {
            EventData::File(f) => Some(&f.path),
            EventData::Patch(p) => Some(&p.file_path),
            _ => None,
        }
    }

    /// The custom type of a `custom` event.
    pub fn custom_type(&self) -> Option<&str> {
        match &self.data {
            EventData::Custom(c) => Some(&c.custom_type),
            _ => None,
        }
    }

    /// Convenience constructors used by tests, benches and the SDKs.
    pub fn file_read(id: &str, path: &str) -> Self {
        Self::new(
            id,
            EventType::FileRead,
            EventData::File(FileData {
                path: path.into(),
                operation: Some("read".into()),
                ..Default::default()
            }),
        )
    }

    /// A `file_write` event with content.
    pub fn file_write(id: &str, path: &str, content: &str) -> Self {
        Self::new(
            id,
            EventType::FileWrite,
            EventData::File(FileData {
                path: path.into(),
                operation: Some("write".into()),
                content: Some(content.into()),
                content_hash: None,
            }),
        )
    }

    /// A `network_egress` event.
    pub fn network(id: &str, host: &str, port: u16) -> Self {
        Self::new(
            id,
            EventType::NetworkEgress,
            EventData::Network(NetworkData {
                host: host.into(),
                port: Some(port),
                protocol: Some("tcp".into()),
                url: None,
            }),
        )
    }

    /// A `command_exec` event.
    pub fn command(id: &str, command: &str, args: &[&str]) -> Self {
        Self::new(
            id,
            EventType::CommandExec,
            EventData::Command(CommandData {
                command: command.into(),
                args: args.iter().map(|s| s.to_string()).collect(),
                cwd: None,
            }),
        )
    }

    /// A `patch_apply` event.
    pub fn patch(id: &str, file_path: &str, patch: &str) -> Self {
        Self::new(
            id,
            EventType::PatchApply,
            EventData::Patch(PatchData {
                file_path: file_path.into(),
                patch_content: patch.into(),
                patch_hash: None,
            }),
        )
    }

    /// A `tool_call` event.
    pub fn tool(id: &str, tool_name: &str, parameters: Value) -> Self {
        Self::new(
            id,
            EventType::ToolCall,
            EventData::Tool(ToolData {
                tool_name: tool_name.into(),
                parameters,
            }),
        )
    }

    /// A `secret_access` event.
    pub fn secret(id: &str, key: &str) -> Self {
        Self::new(
            id,
            EventType::SecretAccess,
            EventData::Secret(SecretData { key: key.into() }),
        )
    }

    /// A `custom` event with a `text` field.
    pub fn custom_text(id: &str, custom_type: &str, text: &str) -> Self {
        let mut fields = Map::new();
        fields.insert("text".into(), Value::String(text.into()));
        Self::new(
            id,
            EventType::Custom,
            EventData::Custom(CustomData {
                custom_type: custom_type.into(),
                fields,
            }),
        )
    }

    /// An event of a type with data, no metadata.
    pub fn new(id: &str, event_type: EventType, data: EventData) -> Self {
        Self {
            event_id: id.into(),
            event_type,
            timestamp: None,
            session_id: None,
            data,
            metadata: Map::new(),
            context: Map::new(),
        }
    }
}
