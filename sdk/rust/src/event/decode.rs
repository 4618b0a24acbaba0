//! The engine's event JSON text into an [`Event`] in one pass.
//!
//! Every check decodes a whole event, often with kilobytes of file content, in a fresh
//! guard instance: for a simple guard this is most of the work it does. The engine
//! writes `eventType` before `data`, so `data` is decoded straight into its typed struct
//! and `data.type` is checked on the way, with no JSON tree in between. Text that puts
//! `data` first still decodes, through a [`Value`] map.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::value::{CowStrDeserializer, MapAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    parse_data, CommandData, CustomData, Event, EventData, EventType, FileData, InvalidEvent,
    NetworkData, PatchData, SecretData, ToolData,
};

/// Decode event JSON text (see the module docs).
pub(super) fn from_str(text: &str) -> Result<Event, InvalidEvent> {
    if !text.trim_start().starts_with('{') {
        // Only the error path: say whether it is JSON at all.
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Err(e) => InvalidEvent(format!("not JSON: {e}")),
            Ok(_) => InvalidEvent("the event is not a JSON object".into()),
        });
    }
    let in_data = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = EventSeed { in_data: &in_data }
        .deserialize(&mut de)
        .and_then(|fields| de.end().map(|()| fields))
        .map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                InvalidEvent(format!("not JSON: {e}"))
            } else if in_data.get() {
                InvalidEvent(format!("data: {e}"))
            } else {
                InvalidEvent(e.to_string())
            }
        })?;
    let data = match fields.data {
        Data::Typed(data) => data,
        Data::Untyped(map) => parse_data(fields.event_type, map)?,
    };
    Ok(Event {
        event_id: fields.event_id.unwrap_or_default(),
        event_type: fields.event_type,
        timestamp: fields.timestamp,
        session_id: fields.session_id,
        data,
        metadata: fields.metadata.unwrap_or_default(),
        context: fields.context.unwrap_or_default(),
    })
}

/// `data` decoded, or held until `eventType` says what it is.
enum Data {
    Typed(EventData),
    Untyped(Map<String, Value>),
}

/// The top-level fields, as found.
struct Fields {
    event_id: Option<String>,
    event_type: EventType,
    timestamp: Option<String>,
    session_id: Option<String>,
    data: Data,
    metadata: Option<Map<String, Value>>,
    context: Option<Map<String, Value>>,
}

/// A map key, borrowed from the text when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Store a field seen for the first time; a second occurrence is an error, as it is for
/// a derived struct (and `eventId`/`event_id` are one field).
fn once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

struct EventSeed<'a> {
    /// Set while `data` is being decoded, so its errors can say so.
    in_data: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    type Value = Fields;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fields, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut event_id: Option<Option<String>> = None;
        let mut event_type: Option<EventType> = None;
        let mut timestamp: Option<Option<String>> = None;
        let mut session_id: Option<Option<String>> = None;
        let mut data: Option<Data> = None;
        let mut metadata: Option<Option<Map<String, Value>>> = None;
        let mut context: Option<Option<Map<String, Value>>> = None;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "eventId" | "event_id" => once(&mut event_id, map.next_value()?, "eventId")?,
                "eventType" | "event_type" => {
                    let Key(name) = map.next_value()?;
                    let parsed = EventType::parse(&name).ok_or_else(|| {
                        de::Error::custom(format_args!("unknown eventType \"{name}\""))
                    })?;
                    once(&mut event_type, parsed, "eventType")?;
                }
                "timestamp" => once(&mut timestamp, map.next_value()?, "timestamp")?,
                "sessionId" | "session_id" => {
                    once(&mut session_id, map.next_value()?, "sessionId")?
                }
                "data" => {
                    let value = match event_type {
                        Some(t) => {
                            self.in_data.set(true);
                            let typed = map.next_value_seed(DataSeed(t))?;
                            self.in_data.set(false);
                            Data::Typed(typed)
                        }
                        None => Data::Untyped(map.next_value()?),
                    };
                    once(&mut data, value, "data")?;
                }
                "metadata" => once(&mut metadata, map.next_value()?, "metadata")?,
                "context" => once(&mut context, map.next_value()?, "context")?,
                // Unknown fields are ignored: a later 1.x engine may add some.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Fields {
            event_id: event_id.flatten(),
            event_type: event_type.ok_or_else(|| de::Error::missing_field("eventType"))?,
            timestamp: timestamp.flatten(),
            session_id: session_id.flatten(),
            data: data.ok_or_else(|| de::Error::missing_field("data"))?,
            metadata: metadata.flatten(),
            context: context.flatten(),
        })
    }
}

/// `data` of a known event type, straight into its struct.
struct DataSeed(EventType);

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = EventData;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<EventData, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataSeed {
    type Value = EventData;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} data as a JSON object", self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EventData, A::Error> {
        let mut tag = None;
        let fields = MapAccessDeserializer::new(WithoutTag {
            inner: map,
            tag: &mut tag,
        });
        let data = match self.0 {
            EventType::FileRead | EventType::FileWrite => {
                FileData::deserialize(fields).map(EventData::File)
            }
            EventType::NetworkEgress => NetworkData::deserialize(fields).map(EventData::Network),
            EventType::CommandExec => CommandData::deserialize(fields).map(EventData::Command),
            EventType::PatchApply => PatchData::deserialize(fields).map(EventData::Patch),
            EventType::ToolCall => ToolData::deserialize(fields).map(EventData::Tool),
            EventType::SecretAccess => SecretData::deserialize(fields).map(EventData::Secret),
            EventType::Custom => CustomData::deserialize(fields).map(EventData::Custom),
        };
        // `data.type` may be omitted (it follows from `eventType`); when present it must
        // agree, as the engine requires, so a guard never sees file data on a network
        // event. A disagreement explains any field error better, so it comes first.
        let expected = self.0.data_type();
        match tag {
            None | Some(Value::Null) => data,
            Some(Value::String(t)) if t == expected => data,
            Some(other) => Err(de::Error::custom(format_args!(
                "eventType \"{}\" needs data.type \"{expected}\", got {other}",
                self.0
            ))),
        }
    }
}

/// The entries of `data` except `type`, which is kept aside for the check above.
struct WithoutTag<'t, A> {
    inner: A,
    tag: &'t mut Option<Value>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for WithoutTag<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(Key(key)) = self.inner.next_key()? {
            if key == "type" {
                *self.tag = Some(self.inner.next_value()?);
                continue;
            }
            return seed.deserialize(CowStrDeserializer::new(key)).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass decoder and the JSON-tree path agree on every accepted event.
    #[test]
    fn agrees_with_decoding_through_a_json_value() {
        let texts = [
            r#"{"eventId":"e","eventType":"file_write","timestamp":"t","sessionId":"s",
                "data":{"type":"file","path":"a\nb","content":"x\"y\\z","contentHash":"h"},
                "metadata":{"k":[1,2]},"context":{"user":{"id":"u"}}}"#,
            // `data` before `eventType`, snake_case everywhere, an escaped key.
            r#"{"data":{"file_path":"p","patch_content":"+k","patch_hash":null},
                "event_type":"patch_apply","event_id":"e2","\u0074imestamp":"t"}"#,
            r#"{"eventType":"network_egress","data":{"host":"h","port":443,"url":"u"}}"#,
            r#"{"eventType":"command_exec","data":{"command":"ls","args":["-l"],"cwd":null}}"#,
            r#"{"eventType":"tool_call","data":{"type":null,"toolName":"t","parameters":{"a":1}}}"#,
            r#"{"eventType":"secret_access","data":{"key":"K","extra":{"deep":[{}]}}}"#,
            r#"{"eventType":"custom","data":{"customType":"c","type":"custom","n":1,"o":{"x":true}}}"#,
            r#"{"eventType":"file_read","eventId":null,"data":{"path":"a"},"unknown":[1,{"a":2}]}"#,
        ];
        for text in texts {
            let tree = Event::from_value(serde_json::from_str(text).unwrap());
            let direct = Event::from_json(text);
            assert_eq!(direct, tree, "{text}");
            assert!(direct.is_ok(), "{text}: {direct:?}");
        }
    }

    #[test]
    fn refuses_what_the_tree_path_refuses() {
        let cases = [
            (
                r#"{"eventType":"file_read","eventType":"file_read","data":{"path":"a"}}"#,
                "duplicate field `eventType`",
            ),
            (
                r#"{"eventType":"file_read","data":{"path":"a"},"data":{"path":"b"}}"#,
                "duplicate field `data`",
            ),
            (
                r#"{"eventType":"file_read","data":{"path":"a"}} x"#,
                "not JSON",
            ),
            (
                r#"{"eventType":"file_read","data":null}"#,
                "data: invalid type: null",
            ),
            (
                r#"{"eventType":"file_read","data":{"path":7}}"#,
                "data: invalid type: integer `7`",
            ),
            (r#"{"eventType":7,"data":{}}"#, "invalid type: integer `7`"),
            (
                r#"{"data":{"type":"file","path":"a"},"eventType":"network_egress"}"#,
                "needs data.type \"network\"",
            ),
            ("  \"text\"", "not a JSON object"),
        ];
        for (text, needle) in cases {
            let err = Event::from_json(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err} lacks {needle}");
        }
    }
}
