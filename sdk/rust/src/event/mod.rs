//! What a guard receives: the engine's event JSON as a typed [`Event`].
//!
//! The engine sends camelCase (`eventId`, `eventType`, `data.filePath`, ...); snake_case
//! spellings are accepted too. Unknown fields are ignored so that a guard built against
//! this SDK keeps working when a later 1.x engine adds some.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

mod decode;

/// The kinds of action an event describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// Reading a file (`data` is [`EventData::File`]).
    FileRead,
    /// Writing a file (`data` is [`EventData::File`]).
    FileWrite,
    /// Opening a network connection (`data` is [`EventData::Network`]).
    NetworkEgress,
    /// Running a command (`data` is [`EventData::Command`]).
    CommandExec,
    /// Applying a patch (`data` is [`EventData::Patch`]).
    PatchApply,
    /// Calling a tool (`data` is [`EventData::Tool`]).
    ToolCall,
    /// Reading a secret (`data` is [`EventData::Secret`]).
    SecretAccess,
    /// Anything else (`data` is [`EventData::Custom`]).
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

    /// The snake_case name used in the event JSON and in `handles`.
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
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The `data.type` this event type carries.
    pub fn data_type(self) -> &'static str {
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
    #[serde(default)]
    pub operation: Option<String>,
    /// The content being written, when known.
    #[serde(default)]
    pub content: Option<String>,
    /// A hash of the content.
    #[serde(default, alias = "content_hash")]
    pub content_hash: Option<String>,
}

/// Network egress (`network_egress`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkData {
    /// Destination host name or address.
    pub host: String,
    /// Destination port.
    #[serde(default)]
    pub port: Option<u16>,
    /// `tcp`, `https`, ...
    #[serde(default)]
    pub protocol: Option<String>,
    /// The full URL, when known.
    #[serde(default)]
    pub url: Option<String>,
}

/// A command (`command_exec`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandData {
    /// The program name, or a whole shell line.
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// The working directory, when known.
    #[serde(default)]
    pub cwd: Option<String>,
}

/// A patch about to be applied (`patch_apply`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchData {
    /// The file the patch applies to.
    #[serde(alias = "file_path")]
    pub file_path: String,
    /// The unified diff.
    #[serde(alias = "patch_content")]
    pub patch_content: String,
    /// A hash of the patch.
    #[serde(default, alias = "patch_hash")]
    pub patch_hash: Option<String>,
}

/// A tool call (`tool_call`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolData {
    /// The tool's name.
    #[serde(alias = "tool_name")]
    pub tool_name: String,
    /// Its parameters (usually an object).
    #[serde(default)]
    pub parameters: Value,
}

/// Access to a named secret (`secret_access`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretData {
    /// The secret's name.
    pub key: String,
}

/// A custom event (`custom`): `customType` plus any fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomData {
    /// What kind of custom event this is (`untrusted_text`, `user_input`, ...).
    #[serde(alias = "custom_type")]
    pub custom_type: String,
    /// Every other field of `data`.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// The typed payload of an event; which variant follows from [`Event::event_type`].
#[derive(Debug, Clone, PartialEq)]
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

/// One agent action the engine asks the guard about.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unique id (empty when the engine had none).
    pub event_id: String,
    /// What kind of action.
    pub event_type: EventType,
    /// RFC 3339 timestamp, when the event carries one.
    pub timestamp: Option<String>,
    /// The agent session, when known.
    pub session_id: Option<String>,
    /// The typed payload.
    pub data: EventData,
    /// Free-form metadata (`toolKind`, `source`, ...).
    pub metadata: Map<String, Value>,
    /// Context for expressions (`user`, `session`, `env`, `custom`).
    pub context: Map<String, Value>,
}

/// Why an event JSON text could not be turned into an [`Event`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid event: {0}")]
pub struct InvalidEvent(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    #[serde(default, alias = "event_id")]
    event_id: Option<String>,
    #[serde(alias = "event_type")]
    event_type: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default, alias = "session_id")]
    session_id: Option<String>,
    data: Map<String, Value>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    context: Option<Map<String, Value>>,
}

impl Event {
    /// Parse the event JSON text the engine sends.
    pub fn from_json(text: &str) -> Result<Self, InvalidEvent> {
        decode::from_str(text)
    }

    /// Build an event from an already-parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, InvalidEvent> {
        if !value.is_object() {
            return Err(InvalidEvent("the event is not a JSON object".into()));
        }
        let raw: RawEvent =
            serde_json::from_value(value).map_err(|e| InvalidEvent(e.to_string()))?;
        let event_type = EventType::parse(&raw.event_type)
            .ok_or_else(|| InvalidEvent(format!("unknown eventType \"{}\"", raw.event_type)))?;
        let data = parse_data(event_type, raw.data)?;
        Ok(Event {
            event_id: raw.event_id.unwrap_or_default(),
            event_type,
            timestamp: raw.timestamp,
            session_id: raw.session_id,
            data,
            metadata: raw.metadata.unwrap_or_default(),
            context: raw.context.unwrap_or_default(),
        })
    }

    /// The file data of a `file_read` / `file_write` event.
    pub fn file(&self) -> Option<&FileData> {
        match &self.data {
            EventData::File(d) => Some(d),
            _ => None,
        }
    }

    /// The network data of a `network_egress` event.
    pub fn network(&self) -> Option<&NetworkData> {
        match &self.data {
            EventData::Network(d) => Some(d),
            _ => None,
        }
    }

    /// The command data of a `command_exec` event.
    pub fn command(&self) -> Option<&CommandData> {
        match &self.data {
            EventData::Command(d) => Some(d),
            _ => None,
        }
    }

    /// The patch data of a `patch_apply` event.
    pub fn patch(&self) -> Option<&PatchData> {
        match &self.data {
            EventData::Patch(d) => Some(d),
            _ => None,
        }
    }

    /// The tool data of a `tool_call` event.
    pub fn tool(&self) -> Option<&ToolData> {
        match &self.data {
            EventData::Tool(d) => Some(d),
            _ => None,
        }
    }
}

/// `data.type` may be omitted (it follows from `eventType`); when present it must agree,
/// as the engine requires, so a guard never sees file data on a network event.
fn parse_data(
    event_type: EventType,
    mut data: Map<String, Value>,
) -> Result<EventData, InvalidEvent> {
    let expected = event_type.data_type();
    match data.remove("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t == expected => {}
        Some(other) => {
            return Err(InvalidEvent(format!(
                "eventType \"{event_type}\" needs data.type \"{expected}\", got {other}"
            )))
        }
    }
    let data = Value::Object(data);
    let bad = |e: serde_json::Error| InvalidEvent(format!("data: {e}"));
    Ok(match event_type {
        EventType::FileRead | EventType::FileWrite => {
            EventData::File(serde_json::from_value(data).map_err(bad)?)
        }
        EventType::NetworkEgress => EventData::Network(serde_json::from_value(data).map_err(bad)?),
        EventType::CommandExec => EventData::Command(serde_json::from_value(data).map_err(bad)?),
        EventType::PatchApply => EventData::Patch(serde_json::from_value(data).map_err(bad)?),
        EventType::ToolCall => EventData::Tool(serde_json::from_value(data).map_err(bad)?),
        EventType::SecretAccess => EventData::Secret(serde_json::from_value(data).map_err(bad)?),
        EventType::Custom => EventData::Custom(serde_json::from_value(data).map_err(bad)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_engine_shape() {
        let e = Event::from_json(
            r#"{"eventId":"e1","eventType":"patch_apply","timestamp":"2026-01-01T00:00:00Z",
                "data":{"type":"patch","filePath":"a.rs","patchContent":"+x"},
                "metadata":{"k":1},"somethingNew":true}"#,
        )
        .unwrap();
        assert_eq!(e.event_type, EventType::PatchApply);
        assert_eq!(e.patch().map(|p| p.file_path.as_str()), Some("a.rs"));
        assert_eq!(e.metadata["k"], 1);
        assert!(e.context.is_empty());
    }

    #[test]
    fn accepts_snake_case_and_missing_data_type() {
        let e = Event::from_json(
            r#"{"event_type":"tool_call","data":{"tool_name":"t","parameters":{"a":1}}}"#,
        )
        .unwrap();
        assert_eq!(e.tool().map(|t| t.tool_name.as_str()), Some("t"));
        assert_eq!(e.event_id, "");
    }

    #[test]
    fn custom_keeps_its_other_fields() {
        let e = Event::from_json(
            r#"{"eventType":"custom","data":{"type":"custom","customType":"x","text":"hi"}}"#,
        )
        .unwrap();
        let EventData::Custom(c) = e.data else {
            panic!("not custom")
        };
        assert_eq!(
            (c.custom_type.as_str(), &c.fields["text"]),
            ("x", &Value::from("hi"))
        );
    }

    #[test]
    fn rejects_malformed_events_with_a_reason() {
        let cases = [
            ("[]", "not a JSON object"),
            ("{", "not JSON"),
            (r#"{"data":{}}"#, "eventType"),
            (r#"{"eventType":"file_read"}"#, "data"),
            (
                r#"{"eventType":"file_nope","data":{}}"#,
                "unknown eventType",
            ),
            (
                r#"{"eventType":"file_read","data":{"type":"network","host":"h"}}"#,
                "needs data.type",
            ),
            (
                r#"{"eventType":"file_read","data":{"type":"file"}}"#,
                "path",
            ),
            (
                r#"{"eventType":"network_egress","data":{"host":"h","port":70000}}"#,
                "data",
            ),
        ];
        for (text, needle) in cases {
            let err = Event::from_json(text).unwrap_err().to_string();
            assert!(err.starts_with("invalid event: "), "{text}: {err}");
            assert!(err.contains(needle), "{text}: {err} lacks {needle}");
        }
    }
}
