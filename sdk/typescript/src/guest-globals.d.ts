// The few Web APIs the guest runtime (StarlingMonkey inside ComponentizeJS) provides and
// the SDK uses. Declared here so the guest code compiles without DOM or Node.js types,
// which would let Node-only APIs slip into code that runs in the sandbox.

declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
