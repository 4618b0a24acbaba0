//! Event builders: JSON values in the engine's event shape, for [`super::GuardTest::check`].
//!
//! Each gets a fresh `eventId` (`test-1`, `test-2`, ...). Add a timestamp, session or
//! metadata by editing the value: `e["timestamp"] = json!("2026-01-01T00:00:00Z")`, or
//! with [`at`].

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn event(event_type: &str, data: Value) -> Value {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    json!({"eventId": format!("test-{id}"), "eventType": event_type, "data": data})
}

/// `file_write` of `content` to `path`.
pub fn file_write(path: &str, content: &str) -> Value {
    event(
        "file_write",
        json!({"type": "file", "path": path, "operation": "write", "content": content}),
    )
}

/// `file_read` of `path`.
pub fn file_read(path: &str) -> Value {
    event(
        "file_read",
        json!({"type": "file", "path": path, "operation": "read"}),
    )
}

/// `command_exec` of `command` with `args`.
pub fn command(command: &str, args: &[&str]) -> Value {
    event(
        "command_exec",
        json!({"type": "command", "command": command, "args": args}),
    )
}

/// `network_egress` to `host:port`.
pub fn network_egress(host: &str, port: u16) -> Value {
    event(
        "network_egress",
        json!({"type": "network", "host": host, "port": port}),
    )
}

/// `tool_call` of `name` with `parameters`.
pub fn tool_call(name: &str, parameters: Value) -> Value {
    event(
        "tool_call",
        json!({"type": "tool", "toolName": name, "parameters": parameters}),
    )
}

/// `patch_apply` of the unified diff `diff` to `file`.
pub fn patch(file: &str, diff: &str) -> Value {
    event(
        "patch_apply",
        json!({"type": "patch", "filePath": file, "patchContent": diff}),
    )
}

/// `secret_access` of `key`.
pub fn secret(key: &str) -> Value {
    event("secret_access", json!({"type": "secret", "key": key}))
}

/// `custom` event of `custom_type` with `fields` (a JSON object) merged into `data`.
pub fn custom(custom_type: &str, fields: Value) -> Value {
    let mut data = json!({"type": "custom", "customType": custom_type});
    if let (Some(data), Value::Object(fields)) = (data.as_object_mut(), fields) {
        data.extend(fields);
    }
    event("custom", data)
}

/// The same event with an RFC 3339 `timestamp`.
pub fn at(mut event: Value, timestamp: &str) -> Value {
    event["timestamp"] = Value::from(timestamp);
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, EventData, EventType};

    #[test]
    fn every_builder_parses_as_its_event_type() {
        let cases = [
            (file_write("a", "b"), EventType::FileWrite),
            (file_read("a"), EventType::FileRead),
            (command("ls", &["-l"]), EventType::CommandExec),
            (network_egress("h", 443), EventType::NetworkEgress),
            (tool_call("t", json!({})), EventType::ToolCall),
            (patch("f", "+x"), EventType::PatchApply),
            (secret("K"), EventType::SecretAccess),
            (custom("c", json!({"text": "hi"})), EventType::Custom),
        ];
        for (value, ty) in cases {
            let e = Event::from_value(value.clone()).unwrap();
            assert_eq!(e.event_type, ty, "{value}");
            assert!(e.event_id.starts_with("test-"));
        }
        let e = Event::from_value(at(
            custom("c", json!({"text": "hi"})),
            "2026-01-01T00:00:00Z",
        ))
        .unwrap();
        assert_eq!(e.timestamp.as_deref(), Some("2026-01-01T00:00:00Z"));
        let EventData::Custom(c) = e.data else {
            panic!()
        };
        assert_eq!(c.fields["text"], "hi");
    }
}
