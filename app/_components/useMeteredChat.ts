"use client";

import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, type UIMessage } from "ai";
import { useCallback, useEffect, useRef, useState } from "react";
import { type Answered, type ChatEnding, endingOf } from "./chatEnding";
import { headerInt, readProblem } from "./problem";

export const CHAT_STREAM_API = "/api/chat/stream";

/**
 * One metered chat through `useChat`: `POST /api/chat/stream` with the page's session
 * cookie, answered as a UI message stream. Besides what useChat tracks, it keeps what the
 * gate said in the response headers (tokens reserved, or the problem) and how the answer
 * ended, which useChat's error alone cannot tell apart.
 *
 * `onActivity` runs when the gate has answered and when the stream ends, so the caller can
 * read the balance at once instead of at its next poll.
 */
export function useMeteredChat(onActivity: () => void) {
  const [reserved, setReserved] = useState<number | null>(null);
  const [ending, setEnding] = useState<ChatEnding | null>(null);
  // Refs, not state: the transport and useChat's callbacks are made once, and must still
  // see this request's answer and the caller's latest callback.
  const answered = useRef<Answered | null>(null);
  const activity = useRef(onActivity);
  useEffect(() => {
    activity.current = onActivity;
  });

  const [transport] = useState(
    () =>
      new DefaultChatTransport<UIMessage>({
        api: CHAT_STREAM_API,
        credentials: "same-origin",
        // The route takes one message, not the conversation: the demo model answers the last one.
        prepareSendMessagesRequest: ({ messages }) => ({ body: { message: lastUserText(messages) } }),
        // useChat turns a refusal into an Error with the body as text and drops the headers;
        // the reservation and Retry-After are read here, on the way through.
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          if (res.ok) {
            const held = headerInt(res, "x-tokens-reserved");
            answered.current = { ok: true, reserved: held, holdId: res.headers.get("x-tokens-hold") };
            setReserved(held);
          } else {
            answered.current = { ok: false, problem: await readProblem(res.clone()), retryAfter: res.headers.get("retry-after") };
          }
          activity.current();
          return res;
        },
      }),
  );

  const { messages, status, sendMessage, stop } = useChat<UIMessage>({
    transport,
    // A word every few milliseconds: one render per word would make a slow machine slower.
    experimental_throttle: 50,
    onFinish: ({ message, isAbort, isError }) => {
      setEnding(endingOf(answered.current, message.metadata, isAbort, isError));
      setReserved(null);
      activity.current();
    },
  });

  const send = useCallback(
    (text: string) => {
      answered.current = null;
      setEnding(null);
      setReserved(null);
      void sendMessage({ text });
    },
    [sendMessage],
  );

  const running = status === "submitted" || status === "streaming";
  // useChat reports every failure through onFinish too; this covers one it did not.
  const shown: ChatEnding | null = ending ?? (status === "error" ? { kind: "failed" } : null);
  return { messages, running, reserved, ending: shown, send, stop: () => void stop() };
}

export function messageText(message: UIMessage): string {
  return message.parts.map((part) => (part.type === "text" ? part.text : "")).join("");
}

function lastUserText(messages: readonly UIMessage[]): string {
  const last = messages.findLast((m) => m.role === "user");
  return last === undefined ? "" : messageText(last);
}
