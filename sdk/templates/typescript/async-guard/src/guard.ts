// `{{guard}}`: asks a reputation service about the host of every `network_egress` and
// denies a bad score. The call goes through the host's `http-request`, which the manifest
// must allow (`capabilities.network`); the policy's `async:` block gives it a deadline, a
// cache, retries and a circuit breaker.
import { allow, defineGuard, deny, errorMessage, http, secrets, type JsonObject } from "@clawdstrike/guard-sdk";

interface Config {
  /** The service endpoint; `?host=<host>` is appended. Its host must be in allowedHosts. */
  serviceUrl: string;
  /** Name of the secret holding the API key (a bearer token); must be in allowedKeys. */
  apiKeySecret: string;
  /** Deny at or above this score (0-100). */
  blockScore: number;
}

function parseConfig(config: JsonObject): Config {
  const parsed: Config = {
    serviceUrl: "https://reputation.example.com/v1/score",
    apiKeySecret: "REPUTATION_API_KEY",
    blockScore: 70,
  };
  for (const [key, value] of Object.entries(config)) {
    if (key === "serviceUrl" || key === "apiKeySecret") {
      if (typeof value !== "string") throw new Error(`config.${key} must be a string`);
      parsed[key] = value;
    } else if (key === "blockScore") {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 100) {
        throw new Error("config.blockScore must be an integer from 0 to 100");
      }
      parsed.blockScore = value;
    } else {
      throw new Error(`unknown config key "${key}"`);
    }
  }
  if (!/^https?:\/\//.test(parsed.serviceUrl)) throw new Error("config.serviceUrl must be an http(s) URL");
  return parsed;
}

export const { describe, init, check } = defineGuard({
  name: "{{guard}}",
  version: "0.1.0",
  handles: ["network_egress"],
  init: parseConfig,
  check(event, config) {
    if (event.eventType !== "network_egress") return allow("not a network connection");
    const host = event.data.host;
    let key: string;
    try {
      key = secrets.get(config.apiKeySecret);
    } catch (e) {
      throw new Error(`cannot read the API key: ${errorMessage(e)}`);
    }
    // A thrown error fails closed: the check is a deny with its message. The policy's
    // `async.on_timeout` decides what a timeout means instead.
    let response;
    try {
      response = http.get(`${config.serviceUrl}?host=${encodeURIComponent(host)}`, {
        headers: { authorization: `Bearer ${key}` },
      });
    } catch (e) {
      throw new Error(`reputation service unreachable: ${errorMessage(e)}`);
    }
    if (response.status !== 200) throw new Error(`reputation service answered ${response.status}`);
    const { score } = response.json<{ score: number }>();
    if (typeof score !== "number") throw new Error("reputation service sent a malformed answer");
    if (score >= config.blockScore) {
      return deny("high", `${host} has a bad reputation (score ${score})`, { details: { host, score } });
    }
    return allow(`${host} scores ${score}`);
  },
});
