import { describe, expect, it } from "vitest";
import { decodeGrpcMessage, encodeGrpcMessage } from "./grpc-message.js";

describe("encodeGrpcMessage()", () => {
  it.each([
    ["plain ASCII stays as it is", "no such model: m", "no such model: m"],
    ["space and the printable range stay", " !\"#$&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", " !\"#$&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"],
    ["% itself is encoded", "100% sure", "100%25 sure"],
    ["control bytes are encoded", "line one\nline two\ttab", "line one%0Aline two%09tab"],
    ["UTF-8 is encoded byte by byte, upper-case hex", "größe €", "gr%C3%B6%C3%9Fe %E2%82%AC"],
    ["a character outside the BMP is four bytes", "🦀", "%F0%9F%A6%80"],
    ["DEL (0x7F) is encoded", "\u007f", "%7F"],
    ["empty", "", ""],
  ])("%s", (_name, message, encoded) => {
    expect(encodeGrpcMessage(message)).toBe(encoded);
    expect(decodeGrpcMessage(encoded)).toBe(message);
  });
});

describe("decodeGrpcMessage()", () => {
  it.each([
    ["lower-case hex", "gr%c3%b6%c3%9fe", "größe"],
    ["a % without two hex digits stays", "50% off", "50% off"],
    ["a % at the end stays", "oops %", "oops %"],
    ["a % with one hex digit stays", "%4", "%4"],
    ["%-encoded bytes that are not UTF-8 become U+FFFD", "bad %FF byte", "bad \ufffd byte"],
    ["unencoded non-ASCII that a sender left in passes through", "größe", "größe"],
    ["encodeURIComponent's output (Connect's encoder) decodes too", encodeURIComponent("a b/c größe"), "a b/c größe"],
  ])("%s", (_name, value, message) => {
    expect(decodeGrpcMessage(value)).toBe(message);
  });
});
