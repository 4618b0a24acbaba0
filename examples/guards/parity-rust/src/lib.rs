//! `parity_check`: a guard that exists in Rust (here) and in TypeScript and must give the
//! same answer, byte for byte in status, severity, reason and details, for every event.
//! The behaviour is specified exactly in this package's README.

use clawdstrike_guard_sdk::{
    export_guard, host, Event, EventData, EventType, Guard, Severity, Verdict,
};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

/// The guard's configuration; every key optional, any other key an init error.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `blockedExtensions`: file suffixes a `file_write` may not end with.
    pub blocked_extensions: Vec<String>,
    /// `maxCommandLength`: the longest command line allowed without a warning.
    pub max_command_length: u64,
    /// `blockedTools`: tool names denied outright.
    pub blocked_tools: Vec<String>,
    /// `warnPorts`: ports that get a warning.
    pub warn_ports: Vec<i64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            blocked_extensions: vec![".exe".into(), ".dll".into(), ".so".into()],
            max_command_length: 200,
            blocked_tools: vec!["shell_exec".into()],
            warn_ports: vec![21, 23],
        }
    }
}

/// A JSON number that is an integer (as JavaScript's `Number.isInteger` sees it, so
/// `21.0` counts), as an `f64`.
fn integral(v: &Value) -> Option<f64> {
    let f = v.as_f64()?;
    (f.is_finite() && f.fract() == 0.0).then_some(f)
}

fn strings(key: &str, v: &Value) -> Result<Vec<String>, String> {
    v.as_array()
        .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect())
        .ok_or_else(|| format!("config.{key} must be an array of strings"))
}

impl Config {
    /// Validate a config object. Keys are examined in document order, so the first
    /// offending key is the one reported.
    pub fn from_value(value: Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err("config must be a JSON object".to_string());
        };
        Self::from_map(map)
    }

    fn from_map(map: Map<String, Value>) -> Result<Self, String> {
        let mut config = Config::default();
        for (key, v) in &map {
            match key.as_str() {
                "blockedExtensions" => config.blocked_extensions = strings(key, v)?,
                "blockedTools" => config.blocked_tools = strings(key, v)?,
                "maxCommandLength" => {
                    let n = integral(v)
                        .filter(|n| *n >= 0.0)
                        .ok_or_else(|| format!("config.{key} must be a non-negative integer"))?;
                    // `as` saturates: a limit beyond u64 is as good as no limit.
                    config.max_command_length = n as u64;
                }
                "warnPorts" => {
                    let ports: Option<Vec<f64>> =
                        v.as_array().and_then(|a| a.iter().map(integral).collect());
                    let ports = ports
                        .ok_or_else(|| format!("config.{key} must be an array of integers"))?;
                    // A value outside i64 can never equal a port; dropping it changes nothing.
                    config.warn_ports = ports
                        .into_iter()
                        .filter(|p| p.abs() < 9.2e18)
                        .map(|p| p as i64)
                        .collect();
                }
                _ => return Err(format!("unknown config key \"{key}\"")),
            }
        }
        Ok(config)
    }
}

impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Config::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The parity guard.
#[derive(Debug)]
pub struct ParityCheck {
    config: Config,
}

impl Guard for ParityCheck {
    const NAME: &'static str = "parity_check";
    // Fixed by the parity spec rather than taken from Cargo.toml: both twins report it.
    const VERSION: &'static str = "0.1.0";
    const HANDLES: &'static [EventType] = &[
        EventType::FileWrite,
        EventType::CommandExec,
        EventType::ToolCall,
        EventType::NetworkEgress,
    ];
    type Config = Config;

    // The init error texts are part of the parity contract: no "invalid config:" prefix.
    fn parse_config(config: Value) -> Result<Config, String> {
        Config::from_value(config)
    }

    fn new(config: Config) -> Result<Self, String> {
        Ok(ParityCheck { config })
    }

    fn check(&self, event: &Event) -> Result<Verdict, String> {
        host::debug(&format!("parity_check: {}", event.event_type));
        let c = &self.config;
        Ok(match (&event.event_type, &event.data) {
            (EventType::FileWrite, EventData::File(file)) => {
                let path = file.path.to_lowercase();
                match c
                    .blocked_extensions
                    .iter()
                    .find(|ext| path.ends_with(&ext.to_lowercase()))
                {
                    Some(ext) => Verdict::deny(
                        Severity::High,
                        format!("blocked file type \"{ext}\" for {}", file.path),
                    )
                    .with_details(json!({ "extension": ext })),
                    None => Verdict::allow("file type allowed"),
                }
            }
            (EventType::CommandExec, EventData::Command(cmd)) => {
                let mut line = cmd.command.clone();
                for arg in &cmd.args {
                    line.push(' ');
                    line.push_str(arg);
                }
                // Unicode scalar values, as JavaScript's `[...line].length` counts them.
                let n = line.chars().count() as u64;
                if n > c.max_command_length {
                    Verdict::warn(
                        Severity::Medium,
                        format!(
                            "command is {n} characters, over the limit of {}",
                            c.max_command_length
                        ),
                    )
                } else {
                    Verdict::allow("command length ok")
                }
            }
            (EventType::ToolCall, EventData::Tool(tool)) => {
                if c.blocked_tools.contains(&tool.tool_name) {
                    Verdict::deny(
                        Severity::Critical,
                        format!("tool \"{}\" is blocked", tool.tool_name),
                    )
                } else {
                    Verdict::allow("tool allowed")
                }
            }
            (EventType::NetworkEgress, EventData::Network(net)) => match net.port {
                Some(port) if c.warn_ports.contains(&i64::from(port)) => {
                    Verdict::warn(Severity::Low, format!("port {port} is insecure"))
                }
                _ => Verdict::allow("port ok"),
            },
            _ => Verdict::allow("event type not handled"),
        })
    }
}

export_guard!(ParityCheck);
